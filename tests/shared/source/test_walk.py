"""The fast source walk: what it yields, what it prunes, and that it never raises."""

from __future__ import annotations

import logging
import os
import posixpath
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.media.ignore import IgnoreRules
from shared.source.walk import Entry, walk_source, walk_versions


def _write(root: Path, rel: str, data: bytes = b"x") -> Path:
    path = root.joinpath(*rel.split("/"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _paths(entries: Iterator[Entry]) -> list[str]:
    return sorted(entry.rel_path for entry in entries)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "src"
    for rel in (
        "IMG_0001.JPG",
        "IMG_0001.xmp",
        "DCIM/Camera/clip.mp4",
        "DCIM/Camera/notes.txt",
        "Ünïcødé/写真.heic",
        "odd\nname.jpg",
        ".hidden/secret.jpg",
        "DCIM/.thumbnails/t.jpg",
        "@eaDir/IMG_0001.JPG/SYNOPHOTO_THUMB_XL.jpg",
        "#recycle/old.jpg",
        "upload.jpg.part",
        "Thumbs.db",
    ):
        _write(root, rel)
    return root


def test_yields_accepted_files_with_posix_relative_paths(tree: Path) -> None:
    # Given a source tree with media, sidecars, clutter and hidden folders
    # When it is walked with the default rules
    found = _paths(walk_source(tree, IgnoreRules()))
    # Then only media and sidecars outside pruned folders come back, relative and '/'-joined
    assert found == sorted(
        [
            "IMG_0001.JPG",
            "IMG_0001.xmp",
            "DCIM/Camera/clip.mp4",
            "Ünïcødé/写真.heic",
            "odd\nname.jpg",
        ]
    )


def test_entries_carry_size_mtime_inode_and_regularity(tree: Path) -> None:
    # Given a file with known content
    path = _write(tree, "DCIM/big.jpg", b"0123456789")
    info = path.stat()
    # When the tree is walked
    entry = next(e for e in walk_source(tree, IgnoreRules()) if e.rel_path == "DCIM/big.jpg")
    # Then its metadata matches an lstat
    assert entry == Entry("DCIM/big.jpg", 10, info.st_mtime_ns, info.st_ino, True)


def test_include_and_exclude_patterns_apply_to_relative_paths(tree: Path) -> None:
    # Given rules that include text files and exclude the Camera folder by path
    rules = IgnoreRules(include=("*.txt",), exclude=("DCIM/Camera",))
    # When / Then
    found = _paths(walk_source(tree, rules))
    assert "DCIM/Camera/clip.mp4" not in found
    assert "DCIM/Camera/notes.txt" not in found
    assert "IMG_0001.JPG" in found


def test_symlinks_and_fifos_are_reported_not_followed(tmp_path: Path) -> None:
    # Given a file symlink, a folder symlink and a FIFO beside a real photo
    root = tmp_path / "src"
    real = _write(tmp_path, "elsewhere/real.jpg")
    _write(tmp_path, "elsewhere/album/inside.jpg")
    _write(root, "photo.jpg")
    (root / "link.jpg").symlink_to(real)
    (root / "album.jpg").symlink_to(tmp_path / "elsewhere" / "album")
    (root / "dangling.jpg").symlink_to(tmp_path / "nowhere.jpg")
    os.mkfifo(root / "pipe.jpg")
    # When
    entries = {e.rel_path: e for e in walk_source(root, IgnoreRules())}
    # Then non-regular files are yielded, flagged, and no folder symlink is entered
    assert sorted(entries) == ["album.jpg", "dangling.jpg", "link.jpg", "photo.jpg", "pipe.jpg"]
    assert entries["photo.jpg"].is_regular
    assert not any(entries[n].is_regular for n in ("album.jpg", "dangling.jpg", "link.jpg"))
    assert not entries["pipe.jpg"].is_regular


def test_start_walks_only_a_sub_folder_keeping_root_relative_paths(tree: Path) -> None:
    # Given a tree / When only DCIM is walked
    found = _paths(walk_source(tree, IgnoreRules(), start="DCIM"))
    # Then paths stay relative to the source root
    assert found == ["DCIM/Camera/clip.mp4"]


def test_start_through_a_folder_symlink_walks_nothing(tmp_path: Path) -> None:
    # Given a source holding a link to a folder outside it, and a real folder beside it
    root = tmp_path / "src"
    _write(tmp_path, "outside/private.jpg")
    _write(root, "real/photo.jpg")
    (root / "linked").symlink_to(tmp_path / "outside")
    (root / "real" / "deeper").symlink_to(tmp_path / "outside")
    # When the walk starts at the link, or at a link inside a real folder
    via_link = _paths(walk_source(root, IgnoreRules(), start="linked"))
    via_nested = _paths(walk_source(root, IgnoreRules(), start="real/deeper"))
    real = _paths(walk_source(root, IgnoreRules(), start="real"))
    # Then nothing outside the root is yielded; the real folder still walks
    assert via_link == [] and via_nested == []
    assert real == ["real/photo.jpg"]


def test_missing_root_yields_nothing(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # Given a root that does not exist / When
    with caplog.at_level(logging.WARNING, logger="shared.source.walk"):
        found = list(walk_source(tmp_path / "gone", IgnoreRules()))
    # Then the walk ends quietly, with a warning
    assert found == []
    assert "cannot list folder" in caplog.text


def test_unreadable_folder_is_skipped_with_a_warning(
    tree: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a folder that cannot be listed (faked: the tests may run as root)
    denied = os.path.join(str(tree), "DCIM")
    real_scandir = os.scandir

    def scandir(path: str) -> Iterator[os.DirEntry[str]]:
        if os.fspath(path) == denied:
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    # When
    with caplog.at_level(logging.WARNING, logger="shared.source.walk"):
        found = _paths(walk_source(tree, IgnoreRules()))
    # Then the rest of the tree is still walked
    assert "IMG_0001.JPG" in found
    assert not any(p.startswith("DCIM/") for p in found)
    assert "Permission denied" in caplog.text


def test_walk_is_fast(tmp_path: Path) -> None:
    # Given 3,000 files in 6 folders
    root = tmp_path / "src"
    for folder in range(6):
        sub = root / f"d{folder}"
        sub.mkdir(parents=True)
        for index in range(500):
            (sub / f"IMG_{index:05d}.JPG").touch()
    rules = IgnoreRules(exclude=("*/skip/*",))
    # When they are walked (best of three, so a busy machine does not fail the test)
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        count = sum(1 for _ in walk_source(root, rules))
        timings.append(time.perf_counter() - started)
    elapsed = min(timings)
    # Then all are found; the bound is loose for slow CI (100,000 files take ~0.4 s locally)
    assert count == 3_000
    assert elapsed < 0.3


def test_walk_versions_lists_each_folder_as_plain_tuples(tree: Path) -> None:
    # Given the tree of the tests above
    rules = IgnoreRules()
    # When it is walked folder by folder
    folders = list(walk_versions(tree, rules))
    # Then every folder's accepted files come as (rel_path, size, mtime_ns, inode, regular)
    # tuples, the same files walk_source finds, each folder's files together
    versions = [version for files in folders for version in files]
    assert sorted(versions) == sorted((e.rel_path, e.size, e.mtime_ns, e.inode, e.is_regular)
                                      for e in walk_source(tree, rules))
    for files in folders:
        assert len({posixpath.dirname(rel) for rel, *_ in files}) <= 1
    info = os.lstat(tree / "IMG_0001.JPG")
    assert ("IMG_0001.JPG", info.st_size, info.st_mtime_ns, info.st_ino, True) in versions
