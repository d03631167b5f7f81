"""Which source paths are carried and which are left alone as clutter."""

from __future__ import annotations

import pytest

from shared.media.ignore import (
    MEDIA_EXTENSIONS,
    SIDECAR_EXTENSIONS,
    IgnoreRules,
    is_media,
    is_sidecar,
)


@pytest.mark.parametrize("name", ["IMG_0001.JPG", "a.heic", "clip.MOV", "raw.CR3", "x.m2ts"])
def test_media_extensions_are_recognised_in_any_case(name: str) -> None:
    # Given a photo, raw or video file name / When / Then
    assert is_media(name)
    assert not is_sidecar(name)


@pytest.mark.parametrize("name", ["IMG_0001.xmp", "IMG_0001.AAE", "photo.jpg.json"])
def test_sidecar_extensions_are_recognised(name: str) -> None:
    # Given a sidecar file name / When / Then
    assert is_sidecar(name)
    assert not is_media(name)


def test_extension_sets_are_lower_case_without_dots() -> None:
    # Given the published extension sets / When / Then
    for ext in MEDIA_EXTENSIONS | SIDECAR_EXTENSIONS:
        assert ext == ext.lower() and not ext.startswith(".")
    assert {"jpg", "dng", "mp4", "jxl", "rwl", "webm"} <= MEDIA_EXTENSIONS
    assert sorted(SIDECAR_EXTENSIONS) == ["aae", "json", "xmp"]


def test_names_without_an_extension_are_not_media() -> None:
    # Given names with no extension, or only a leading dot / When / Then
    assert not is_media("jpg")
    assert not is_media(".jpg")
    assert not is_media("")


@pytest.mark.parametrize(
    "rel_path",
    [
        "DCIM/IMG_0001.JPG",
        "IMG_0001.jpg",
        "2024/Trip/clip.mp4",
        "IMG_0001.xmp",
        "Ünïcødé/写真.heic",
        "name with\nnewline.jpg",
    ],
)
def test_default_rules_accept_media_and_sidecars(rel_path: str) -> None:
    # Given the default rules
    rules = IgnoreRules()
    # When / Then
    assert rules.accepts(rel_path)
    assert rules.reason(rel_path) is None


@pytest.mark.parametrize(
    "rel_path",
    [
        ".hidden.jpg",
        ".thumbnails/a.jpg",
        "DCIM/.trashed/a.jpg",
        "upload.jpg.part",
        "IMG.JPG.PART",
        "edit.jpg~",
        "a.jpg.tmp",
        "video.mp4.crdownload",
        "video.mp4.partial",
        "video.mp4.download",
        ".ocTransferId123456.part",
        ".syncthing.IMG_1.jpg.tmp",
        "~syncthing~IMG_1.jpg.tmp",
        ".DS_Store",
        "Thumbs.db",
        "THUMBS.DB",
        "Desktop.ini",
        ".nomedia",
        "@eaDir/IMG_0001.JPG/SYNOPHOTO_THUMB_XL.jpg",
        "Photos/@eaDir/a.jpg",
        ".stfolder/a.jpg",
        ".stversions/a~20240101.jpg",
        "#recycle/a.jpg",
        "#snapshot/daily/a.jpg",
        ".@__thumb/a.jpg",
        "$RECYCLE.BIN/S-1-5/a.jpg",
        "$Recycle.Bin/a.jpg",
        "lost+found/#123.jpg",
    ],
)
def test_clutter_is_never_accepted(rel_path: str) -> None:
    # Given rules whose include pattern would match anything
    rules = IgnoreRules(include=("*",))
    # When / Then
    assert not rules.accepts(rel_path)
    assert rules.reason(rel_path)


@pytest.mark.parametrize("rel_path", ["notes.txt", "archive.zip", "README", "a.pdf"])
def test_non_media_files_are_ignored_by_default(rel_path: str) -> None:
    # Given the default rules / When / Then
    assert not IgnoreRules().accepts(rel_path)
    assert "include" in (IgnoreRules().reason(rel_path) or "")


def test_include_patterns_add_files_by_name_or_path() -> None:
    # Given include patterns for PDFs anywhere and text files in one folder
    rules = IgnoreRules(include=("*.pdf", "Scans/*.txt"))
    # When / Then
    assert rules.accepts("deep/folder/doc.PDF")
    assert rules.accepts("Scans/ocr.txt")
    assert not rules.accepts("Other/ocr.txt")
    assert rules.accepts("still/media.jpg")


def test_exclude_patterns_win_over_media_and_include() -> None:
    # Given excludes for screenshots by name, a folder by path, and a folder by name
    rules = IgnoreRules(
        include=("*.pdf",),
        exclude=("Screenshot_*", "Camera/Trash/*", "Private", "*.pdf"),
    )
    # When / Then
    assert not rules.accepts("DCIM/Screenshot_20240101.png")
    assert not rules.accepts("Camera/Trash/a.jpg")
    assert not rules.accepts("Private/a.jpg")
    assert not rules.accepts("deep/Private/sub/a.jpg")
    assert not rules.accepts("doc.pdf")
    assert rules.accepts("Camera/a.jpg")
    assert rules.reason("Private/a.jpg") == "folder Private matches an exclude pattern"
    assert rules.reason("x/Screenshot_1.png") == "matches an exclude pattern"


def test_user_patterns_are_case_insensitive() -> None:
    # Given lower-case patterns, as users write them
    rules = IgnoreRules(include=("*.txt",), exclude=("*.mov",))
    # When / Then: cameras write upper-case names
    assert not rules.accepts("CLIP0001.MOV")
    assert rules.accepts("NOTES.TXT")


@pytest.mark.parametrize(
    "name", [".git", "@eaDir", "@EADIR", "#recycle", "$RECYCLE.BIN", "lost+found", ".stfolder"]
)
def test_prunes_clutter_and_hidden_folders(name: str) -> None:
    # Given the default rules / When / Then
    assert IgnoreRules().prunes_dir(name)


def test_does_not_prune_ordinary_folders() -> None:
    # Given the default rules / When / Then
    rules = IgnoreRules()
    assert not rules.prunes_dir("DCIM")
    assert not rules.prunes_dir("Camera Uploads")
    assert not rules.prunes_dir("2024.01 Trip")


def test_prunes_folders_matching_user_excludes_by_name_or_path() -> None:
    # Given excludes naming a folder and a folder path
    rules = IgnoreRules(exclude=("Private", "Camera/Trash"))
    # When / Then
    assert rules.prunes_dir("Private")
    assert rules.prunes_dir("Trash", "Camera/Trash")
    assert not rules.prunes_dir("Trash", "Other/Trash")
    assert rules.prunes_path("a/b/Private/c")
    assert rules.prunes_path("x/.hidden")
    assert not rules.prunes_path("a/b/c")


@pytest.mark.parametrize("rel_path", ["", "/abs.jpg", "a//b.jpg", "../escape.jpg", "dir/"])
def test_malformed_relative_paths_are_refused(rel_path: str) -> None:
    # Given a path that is not a clean relative file path / When / Then
    assert not IgnoreRules().accepts(rel_path)


def test_rules_are_value_objects() -> None:
    # Given two rule sets built from the same patterns / When / Then
    assert IgnoreRules(("*.pdf",), ("x",)) == IgnoreRules(("*.pdf",), ("x",))
    assert hash(IgnoreRules(("*.pdf",))) == hash(IgnoreRules(("*.pdf",)))
