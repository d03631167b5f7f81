"""The mirror planner: /MIR + /XO semantics, exclusions, renames by content, the delete guard."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shared.mirror.plan import MirrorRules, guard_message, plan_mirror
from shared.transfer.destinations import LocalDestination
from tests.shared.mirror.mirror_trees import CountingDestination, put_file


def plan(src: Path, dst: Path, **kw):  # noqa: ANN201 - MirrorPlan
    kw.setdefault("max_delete", 1000)
    kw.setdefault("max_delete_share", 1.0)
    return plan_mirror(src, LocalDestination(dst), MirrorRules(kw.pop("exclude", ())), **kw)


def test_new_changed_newer_unchanged_and_extra_files(tmp_path: Path) -> None:
    # Given a source and a destination that differ in every way a mirror cares about
    src, dst = tmp_path / "src", tmp_path / "dst"
    put_file(src, "new.jpg", "new")
    put_file(src, "same.jpg", "same", age_s=100)
    put_file(dst, "same.jpg", "same", age_s=100)
    put_file(src, "bigger.jpg", "longer content", age_s=100)
    put_file(dst, "bigger.jpg", "short", age_s=100)
    put_file(src, "touched.jpg", "abcd", age_s=10)     # same size, source newer
    put_file(dst, "touched.jpg", "wxyz", age_s=100)
    put_file(src, "edited-there.jpg", "v1", age_s=100)  # destination newer: kept (/XO)
    put_file(dst, "edited-there.jpg", "v2-longer", age_s=10)
    put_file(src, "jitter.jpg", "same", age_s=100)      # 1 s apart: within the 2 s window
    put_file(dst, "jitter.jpg", "same", age_s=101)
    put_file(dst, "old/extra.jpg", "extra")
    # When planned
    result = plan(src, dst)
    # Then each file gets exactly the action robocopy /MIR /XO would take
    assert [a.rel_path for a in result.copies] == ["new.jpg"]
    assert {(a.rel_path, a.reason) for a in result.updates} == {
        ("bigger.jpg", "size differs"), ("touched.jpg", "source is newer")}
    assert [(a.rel_path, a.reason) for a in result.skipped] == [
        ("edited-there.jpg", "destination is newer (kept, /XO)")]
    assert [a.rel_path for a in result.deletes] == ["old/extra.jpg"]
    assert result.unchanged == 2 and result.renames == [] and result.guard is None
    assert result.transfer_bytes == 3 + 14 + 4


def test_same_mtime_but_other_size_is_an_update(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    put_file(src, "a.jpg", "12345", age_s=5)
    put_file(dst, "a.jpg", "123", age_s=5)
    assert [a.rel_path for a in plan(src, dst).updates] == ["a.jpg"]


def test_exclusions_on_both_sides_and_sidecars_included(tmp_path: Path) -> None:
    # Given clutter and user-excluded files on both sides, and an XMP sidecar
    src, dst = tmp_path / "src", tmp_path / "dst"
    for rel in ("Thumbs.db", "sub/.DS_Store", "DESKTOP.INI", "@eaDir/a.jpg/SYNOFILE_THUMB_S.jpg",
                ".mediacourier-123.part", "edit.tmp", "raw/cache/x.bin"):
        put_file(src, rel, "clutter")
        put_file(dst, rel, "other junk", age_s=-50)  # differs, and newer
    put_file(dst, "@eaDir/b.jpg/thumb.jpg", "thumb")
    put_file(src, "a.jpg", "img")
    put_file(src, "a.xmp", "<x:xmpmeta/>")
    # When planned with user patterns
    result = plan(src, dst, exclude=["*.tmp", "raw/cache"])
    # Then media and sidecars are copied, clutter is skipped with a reason, and excluded
    # destination files are neither compared nor deleted
    assert [a.rel_path for a in result.copies] == ["a.jpg", "a.xmp"]
    reasons = {a.rel_path: a.reason for a in result.skipped}
    assert reasons["Thumbs.db"] == "excluded: system file Thumbs.db"
    assert reasons["DESKTOP.INI"] == "excluded: system file DESKTOP.INI"
    assert reasons["sub/.DS_Store"] == "excluded: system file .DS_Store"
    assert reasons["@eaDir/"] == "excluded: system folder @eaDir"
    assert reasons[".mediacourier-123.part"] == "excluded: mediacourier temporary file"
    assert reasons["edit.tmp"] == reasons["raw/cache/"] == "excluded by pattern"
    assert result.deletes == [] and result.updates == [] and result.destination_files == 0
    assert len(result.skipped) == 7


def test_symlinks_in_the_source_are_skipped_with_a_reason(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    put_file(src, "a.jpg", "img")
    os.symlink(src / "a.jpg", src / "link.jpg")
    result = plan(src, dst)
    assert [a.rel_path for a in result.copies] == ["a.jpg"]
    assert [(a.rel_path, a.reason) for a in result.skipped] == [
        ("link.jpg", "not a regular file (symbolic link, device or pipe)")]


def test_moved_file_is_a_rename_confirmed_by_hash(tmp_path: Path) -> None:
    # Given a file moved in the source (same bytes and mtime), and a same-size impostor
    src, dst = tmp_path / "src", tmp_path / "dst"
    put_file(src, "2024/trip/a.jpg", "AAAA", age_s=50)
    put_file(dst, "inbox/a.jpg", "AAAA", age_s=50)
    put_file(src, "b.jpg", "BBBB", age_s=60)
    put_file(dst, "old-b.jpg", "XXXX", age_s=60)  # same size and time, other content
    counting = CountingDestination(dst)
    # When planned
    result = plan_mirror(src, counting, MirrorRules(), max_delete=10, max_delete_share=1.0)
    # Then the moved file is renamed, the impostor is deleted and b.jpg is copied
    assert [(a.old_path, a.rel_path) for a in result.renames] == [("inbox/a.jpg",
                                                                    "2024/trip/a.jpg")]
    assert [a.rel_path for a in result.copies] == ["b.jpg"]
    assert [a.rel_path for a in result.deletes] == ["old-b.jpg"]
    # and only the size-and-time candidates were hashed on the destination
    assert sorted(counting.hashed) == ["inbox/a.jpg", "old-b.jpg"]


def test_same_content_with_another_mtime_is_not_a_rename(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    put_file(src, "new.jpg", "AAAA", age_s=5)
    put_file(dst, "old.jpg", "AAAA", age_s=500)
    counting = CountingDestination(dst)
    result = plan_mirror(src, counting, MirrorRules(), max_delete=10, max_delete_share=1.0)
    assert result.renames == [] and counting.hashed == []
    assert [a.rel_path for a in result.copies] == ["new.jpg"]


def test_guard_counts_and_share(tmp_path: Path) -> None:
    # Given 20 destination files of which 3 are gone from the source
    src, dst = tmp_path / "src", tmp_path / "dst"
    for i in range(20):
        put_file(dst, f"f{i:02}.jpg", f"{i}", age_s=9)
        if i >= 3:
            put_file(src, f"f{i:02}.jpg", f"{i}", age_s=9)
    # Then the count limit and the share limit each refuse on their own, naming the counts
    by_count = plan(src, dst, max_delete=2, max_delete_share=1.0).guard
    assert by_count is not None and "would delete 3 of 20 destination files (15%)" in by_count
    assert "at most 2 files" in by_count
    by_share = plan(src, dst, max_delete=50, max_delete_share=0.1).guard
    assert by_share is not None and "10% of the destination" in by_share
    assert plan(src, dst, max_delete=3, max_delete_share=0.15).guard is None


def test_guard_message_edges() -> None:
    assert guard_message(0, 0, 0, 0.0) is None
    assert guard_message(1, 1, 1, 1.0) is None
    assert "would delete 2 of 2" in (guard_message(2, 2, 1, 1.0) or "")


def test_missing_source_folder_is_an_error_not_an_empty_tree(tmp_path: Path) -> None:
    # An unmounted source must never look like "everything was deleted"
    from shared.errors import SourceVanished

    put_file(tmp_path / "dst", "a.jpg", "a")
    with pytest.raises(SourceVanished, match="does not exist"):
        plan(tmp_path / "not-mounted", tmp_path / "dst")
