"""LocalDestination: temp name + verify + mtime + rename into place, never overwriting."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import pytest

from shared.destinations import LocalDestination, RemoteEntry
from shared.errors import DestinationExists, PathRefused, SourceVanished
from shared.transfer import TMP_PREFIX

MTIME = 1_600_000_000_123_456_789


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_put_lands_verified_bytes_with_the_given_mtime(tmp_path: Path) -> None:
    # Given a source file and an empty destination
    src = write(tmp_path / "src" / "a.jpg", b"photo" * 1000)
    dest = LocalDestination(tmp_path / "dest")
    seen: list[int] = []
    # When it is put under a nested name
    sha = dest.put(src, "2024/05/a.jpg", MTIME, replace=False, progress=seen.append)
    # Then the bytes, hash and mtime are there, progress counted every byte, no temp is left
    final = tmp_path / "dest" / "2024" / "05" / "a.jpg"
    assert final.read_bytes() == src.read_bytes()
    assert sha == hashlib.sha256(src.read_bytes()).hexdigest() == dest.sha256("2024/05/a.jpg")
    assert final.stat().st_mtime_ns == MTIME
    assert sum(seen) == 5000
    assert os.listdir(final.parent) == ["a.jpg"]


def test_put_never_overwrites_unless_replace(tmp_path: Path) -> None:
    # Given a destination file that already exists
    src = write(tmp_path / "new.jpg", b"new")
    write(tmp_path / "dest" / "a.jpg", b"old")
    dest = LocalDestination(tmp_path / "dest")
    # When it is put without replace, Then it is refused and the old bytes stay
    with pytest.raises(DestinationExists, match="a.jpg"):
        dest.put(src, "a.jpg", MTIME, replace=False)
    assert (tmp_path / "dest" / "a.jpg").read_bytes() == b"old"
    # When it is put with replace, Then the new bytes replace it and no temp file is left
    dest.put(src, "a.jpg", MTIME, replace=True)
    assert (tmp_path / "dest" / "a.jpg").read_bytes() == b"new"
    assert sorted(os.listdir(tmp_path / "dest")) == ["a.jpg"]


def test_put_of_a_vanished_source_says_so(tmp_path: Path) -> None:
    dest = LocalDestination(tmp_path / "dest")
    with pytest.raises(SourceVanished, match="gone.jpg"):
        dest.put(tmp_path / "gone.jpg", "gone.jpg", MTIME, replace=False)
    assert not (tmp_path / "dest" / "gone.jpg").exists()


def test_list_skips_temp_files_and_reports_size_and_mtime(tmp_path: Path) -> None:
    # Given files, a nested file, a leftover temp file and a symlink
    root = tmp_path / "dest"
    write(root / "a.jpg", b"12345")
    write(root / "sub" / "b.xmp", b"xy")
    write(root / "sub" / f"{TMP_PREFIX}abc.part", b"partial")
    (root / "link.jpg").symlink_to(root / "a.jpg")
    os.utime(root / "a.jpg", ns=(MTIME, MTIME))
    # When listed, Then only the regular files appear
    entries = sorted(LocalDestination(root).list_files(), key=lambda e: e.rel_path)
    assert entries == [RemoteEntry("a.jpg", 5, MTIME),
                       RemoteEntry("sub/b.xmp", 2, (root / "sub" / "b.xmp").stat().st_mtime_ns)]


def test_rename_moves_without_overwriting_and_delete_prunes_empty_folders(
        tmp_path: Path) -> None:
    root = tmp_path / "dest"
    write(root / "old" / "deep" / "a.jpg", b"a")
    write(root / "keep" / "b.jpg", b"b")
    inode = (root / "old" / "deep" / "a.jpg").stat().st_ino
    dest = LocalDestination(root)
    # A rename onto an existing name is refused and changes nothing
    with pytest.raises(DestinationExists):
        dest.rename("old/deep/a.jpg", "keep/b.jpg")
    assert (root / "keep" / "b.jpg").read_bytes() == b"b"
    # A rename moves the same inode and removes the folders it emptied
    dest.rename("old/deep/a.jpg", "new/a.jpg")
    assert (root / "new" / "a.jpg").stat().st_ino == inode
    assert not (root / "old").exists()
    # A delete removes the file and its emptied folders, never the root
    dest.delete("keep/b.jpg")
    dest.delete("new/a.jpg")
    assert root.is_dir() and os.listdir(root) == []


@pytest.mark.parametrize("bad", ["../x", "/etc/passwd", "a/../../x", "a//b", ""])
def test_paths_outside_the_root_are_refused(tmp_path: Path, bad: str) -> None:
    src = write(tmp_path / "s", b"s")
    with pytest.raises(PathRefused):
        LocalDestination(tmp_path / "dest").put(src, bad, MTIME, replace=False)


def test_parallel_puts_are_all_verified(tmp_path: Path) -> None:
    # Given 16 files put from 8 threads at once, Then each lands intact
    dest = LocalDestination(tmp_path / "dest")
    sources = [write(tmp_path / "src" / f"f{i}.jpg", os.urandom(50_000)) for i in range(16)]
    threads = [threading.Thread(target=dest.put, args=(s, f"d{i % 3}/{s.name}", MTIME, False))
               for i, s in enumerate(sources)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i, src in enumerate(sources):
        assert (tmp_path / "dest" / f"d{i % 3}" / src.name).read_bytes() == src.read_bytes()


def test_listing_removes_temp_files_left_by_a_killed_put(tmp_path: Path) -> None:
    # Given a temp file a killed put left behind
    root = tmp_path / "dest"
    leftover = write(root / "sub" / f"{TMP_PREFIX}0123456789ab.part", b"half")
    # When listed by a destination for which it is not yet stale, Then it is kept (a put may
    # still be writing it); once stale, listing removes it
    assert list(LocalDestination(root).list_files()) == []
    assert leftover.exists()
    assert list(LocalDestination(root, stale_temp_after=-1).list_files()) == []
    assert not leftover.exists()
