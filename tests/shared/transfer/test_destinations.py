"""LocalDestination: the Destination contract, plus what is particular to a local folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shared.errors import PathRefused, SourceVanished
from shared.transfer.destinations import LocalDestination, RemoteEntry
from shared.transfer.local import TMP_PREFIX
from tests.shared.destination_contract import MTIME, DestinationContract, write


class TestLocalDestination(DestinationContract):
    @pytest.fixture
    def make(self, tmp_path: Path) -> tuple[LocalDestination, Path]:
        root = tmp_path / "dest"
        root.mkdir()
        return LocalDestination(root), root


def test_exact_mtime_and_no_temp_file_left(tmp_path: Path) -> None:
    src = write(tmp_path / "a.jpg", b"abc")
    LocalDestination(tmp_path / "dest").put(src, "x/a.jpg", MTIME, replace=False)
    assert (tmp_path / "dest" / "x" / "a.jpg").stat().st_mtime_ns == MTIME
    assert os.listdir(tmp_path / "dest" / "x") == ["a.jpg"]


def test_rename_keeps_the_inode(tmp_path: Path) -> None:
    # A rename moves the file itself: no byte is copied
    root = tmp_path / "dest"
    write(root / "a.jpg", b"a")
    inode = (root / "a.jpg").stat().st_ino
    LocalDestination(root).rename("a.jpg", "b/c.jpg")
    assert (root / "b" / "c.jpg").stat().st_ino == inode and not (root / "a.jpg").exists()


def test_put_of_a_vanished_source_says_so(tmp_path: Path) -> None:
    dest = LocalDestination(tmp_path / "dest")
    with pytest.raises(SourceVanished, match="gone.jpg"):
        dest.put(tmp_path / "gone.jpg", "gone.jpg", MTIME, replace=False)
    assert not (tmp_path / "dest" / "gone.jpg").exists()


def test_list_skips_temp_files_and_symlinks(tmp_path: Path) -> None:
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


@pytest.mark.parametrize("bad", ["../x", "/etc/passwd", "a/../../x", "a//b", ""])
def test_paths_outside_the_root_are_refused(tmp_path: Path, bad: str) -> None:
    src = write(tmp_path / "s", b"s")
    with pytest.raises(PathRefused):
        LocalDestination(tmp_path / "dest").put(src, bad, MTIME, replace=False)


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
