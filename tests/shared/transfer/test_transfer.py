"""LocalTransfer and the hashing helpers: bytes land intact, nothing is ever overwritten."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import blake3
import pytest

from shared.errors import DestinationFull, FileBusy, SourceUnreadable, SourceVanished
from shared.transfer.hashing import open_regular, sha256_file
from shared.transfer.local import TMP_PREFIX, Expected, LocalTransfer, Placement

PAYLOAD = os.urandom(300_000) + b"end"
OLD_MTIME_NS = 1_500_000_000_123_456_789


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _expect(path: Path) -> Expected:
    """The version of `path` as the hash stage saw it."""
    info = path.stat()
    return Expected(info.st_size, info.st_mtime_ns, _sha(path.read_bytes()))


def _tree(root: Path) -> dict[str, bytes]:
    """Every file under root (tmp files included), relative path -> bytes."""
    found = {}
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = Path(folder, name)
            found[path.relative_to(root).as_posix()] = path.read_bytes()
    return found


@pytest.fixture
def src(tmp_path: Path) -> Path:
    path = tmp_path / "src" / "DCIM" / "IMG_0001.JPG"
    path.parent.mkdir(parents=True)
    path.write_bytes(PAYLOAD)
    os.utime(path, ns=(OLD_MTIME_NS, OLD_MTIME_NS))
    return path


@pytest.fixture
def lib(tmp_path: Path) -> Path:
    path = tmp_path / "lib"
    path.mkdir()
    return path


@pytest.fixture
def shm_dir(tmp_path: Path) -> Iterator[Path]:
    """A folder on another filesystem than tmp_path: /dev/shm (tmpfs)."""
    if not os.path.isdir("/dev/shm"):
        pytest.fail("/dev/shm is missing: the cross-device copy cannot be tested here")
    folder = Path(tempfile.mkdtemp(prefix="mc-test-", dir="/dev/shm"))
    try:
        if os.stat(folder).st_dev == os.stat(tmp_path).st_dev:
            pytest.fail("/dev/shm is on the same filesystem as tmp_path")
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# --- same filesystem: hard link ------------------------------------------------------------


def test_link_on_same_filesystem(src: Path, lib: Path) -> None:
    # Given a source and a library on the same filesystem
    backend = LocalTransfer()
    # When placed with link_ok
    placed = backend.place(str(src), lib, "2024/05/IMG_0001.JPG", _expect(src), link_ok=True)
    # Then the library name is a hard link to the same inode, and the source name stays
    final = lib / "2024" / "05" / "IMG_0001.JPG"
    assert placed == Placement("2024/05/IMG_0001.JPG", _sha(PAYLOAD), len(PAYLOAD), True)
    assert os.stat(final).st_ino == os.stat(src).st_ino
    assert src.read_bytes() == PAYLOAD
    assert _tree(lib) == {"2024/05/IMG_0001.JPG": PAYLOAD}


@pytest.mark.parametrize("link_ok", [True, False])
def test_taken_name_is_never_overwritten(src: Path, lib: Path, link_ok: bool) -> None:
    # Given a library name already holding other bytes
    (lib / "IMG_0001.JPG").write_bytes(b"someone else's photo")
    # When the source is placed at that name
    placed = LocalTransfer().place(str(src), lib, "IMG_0001.JPG", _expect(src), link_ok=link_ok)
    # Then nothing is placed, the existing bytes are unchanged and no temporary file is left
    assert placed is None
    assert _tree(lib) == {"IMG_0001.JPG": b"someone else's photo"}
    assert src.read_bytes() == PAYLOAD


# --- copy ----------------------------------------------------------------------------------


def test_copy_gives_identical_bytes_and_mtime(src: Path, lib: Path) -> None:
    # Given link_ok=False (copy mode)
    # When placed
    placed = LocalTransfer().place(str(src), lib, "a/b/IMG_0001.JPG", _expect(src), False)
    # Then a separate file with identical bytes and the source's mtime is there, nothing else
    final = lib / "a" / "b" / "IMG_0001.JPG"
    assert placed == Placement("a/b/IMG_0001.JPG", _sha(PAYLOAD), len(PAYLOAD), False,
                               blake3.blake3(PAYLOAD).hexdigest())
    assert final.read_bytes() == PAYLOAD
    assert os.stat(final).st_mtime_ns == OLD_MTIME_NS
    assert os.stat(final).st_ino != os.stat(src).st_ino
    assert _tree(lib) == {"a/b/IMG_0001.JPG": PAYLOAD}
    assert not list(lib.rglob(f"{TMP_PREFIX}*.tmp"))
    assert src.read_bytes() == PAYLOAD


def test_copy_without_fsync(src: Path, lib: Path) -> None:
    placed = LocalTransfer(fsync=False).place(str(src), lib, "x.jpg", _expect(src), False)
    assert placed is not None and (lib / "x.jpg").read_bytes() == PAYLOAD


def test_cross_device_falls_back_to_a_copy(shm_dir: Path, lib: Path) -> None:
    # Given a source on /dev/shm and a library on another filesystem
    source = shm_dir / "IMG_0002.JPG"
    source.write_bytes(PAYLOAD)
    os.utime(source, ns=(OLD_MTIME_NS, OLD_MTIME_NS))
    assert os.stat(source).st_dev != os.stat(lib).st_dev
    # When placed with link_ok (a hard link is impossible across devices)
    placed = LocalTransfer().place(str(source), lib, "IMG_0002.JPG", _expect(source), link_ok=True)
    # Then it was copied: identical bytes, mtime kept, no temporary file, source intact
    assert placed == Placement("IMG_0002.JPG", _sha(PAYLOAD), len(PAYLOAD), False,
                               blake3.blake3(PAYLOAD).hexdigest())
    assert _tree(lib) == {"IMG_0002.JPG": PAYLOAD}
    assert os.stat(lib / "IMG_0002.JPG").st_mtime_ns == OLD_MTIME_NS
    assert source.read_bytes() == PAYLOAD


def test_changed_source_is_file_busy_and_leaves_nothing(src: Path, lib: Path) -> None:
    # Given a source that was hashed, then rewritten before the copy
    expected = _expect(src)
    src.write_bytes(PAYLOAD[:-3] + b"new")
    os.utime(src, ns=(expected.mtime_ns + 10**9, expected.mtime_ns + 10**9))
    # When copied against the old hash
    # Then FileBusy names the source, and neither the final name nor a temp file is left
    with pytest.raises(FileBusy, match="IMG_0001.JPG.*changed"):
        LocalTransfer().place(str(src), lib, "d/IMG_0001.JPG", expected, link_ok=False)
    assert _tree(lib) == {}


def test_changed_source_across_devices_is_file_busy(shm_dir: Path, lib: Path) -> None:
    source = shm_dir / "x.jpg"
    source.write_bytes(b"version 2")
    with pytest.raises(FileBusy, match="x.jpg"):
        LocalTransfer().place(str(source), lib, "x.jpg", Expected(9, 0, _sha(b"version 1")),
                              link_ok=True)
    assert _tree(lib) == {}


def test_vanished_source_is_source_vanished(tmp_path: Path, lib: Path) -> None:
    with pytest.raises(SourceVanished, match="gone.jpg"):
        LocalTransfer().place(str(tmp_path / "gone.jpg"), lib, "gone.jpg",
                              Expected(0, 0, _sha(b"")), False)
    assert _tree(lib) == {}


# --- read-back helpers ---------------------------------------------------------------------


def test_digest_and_stat_size(src: Path, lib: Path) -> None:
    backend = LocalTransfer()
    backend.place(str(src), lib, "IMG.JPG", _expect(src), link_ok=False)
    (lib / "folder.jpg").mkdir()
    # Then the placed file reads back, a missing name is None, a folder never matches
    assert backend.digest(lib, "IMG.JPG") == (len(PAYLOAD), _sha(PAYLOAD))
    assert backend.digest(lib, "missing.jpg") is None
    assert backend.digest(lib, "folder.jpg") == (-1, "")
    assert backend.stat_size(lib, "IMG.JPG") == len(PAYLOAD)
    assert backend.stat_size(lib, "missing.jpg") is None
    # And remove deletes it, quietly when already gone
    backend.remove(lib, "IMG.JPG")
    backend.remove(lib, "IMG.JPG")
    assert backend.digest(lib, "IMG.JPG") is None


def test_sha256_file_matches_hashlib(src: Path) -> None:
    digest, info = sha256_file(str(src))
    assert digest == _sha(PAYLOAD)
    assert (info.st_size, info.st_mtime_ns) == (len(PAYLOAD), OLD_MTIME_NS)


@pytest.mark.timeout(10)
def test_open_regular_refuses_a_fifo_without_blocking(tmp_path: Path) -> None:
    # Given a FIFO nobody writes to
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    # When opened for hashing / Then it is refused at once, naming the path
    with pytest.raises(SourceUnreadable, match=r"pipe\.jpg: is a FIFO") as caught:
        open_regular(str(fifo))
    assert str(fifo) in str(caught.value)
    with pytest.raises(SourceUnreadable, match="FIFO"):
        sha256_file(str(fifo))


def test_open_regular_refuses_a_symlink(tmp_path: Path) -> None:
    # Given a symlink to a perfectly readable file
    target = tmp_path / "real.jpg"
    target.write_bytes(b"data")
    link = tmp_path / "link.jpg"
    link.symlink_to(target)
    # When opened / Then it is refused as a symlink, naming the link
    with pytest.raises(SourceUnreadable, match="symbolic link") as caught:
        open_regular(str(link))
    assert str(link) in str(caught.value)


def test_open_regular_refuses_a_folder_and_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SourceUnreadable, match="not a regular file"):
        open_regular(str(tmp_path))
    with pytest.raises(SourceVanished, match="nothing.jpg"):
        open_regular(str(tmp_path / "nothing.jpg"))


# --- a full destination --------------------------------------------------------------------


@pytest.mark.parametrize("link_ok", [True, False])
@pytest.mark.parametrize("size", [300_000, 1_500_000])
def test_full_destination_is_destination_full_and_leaves_nothing(
    tmp_path: Path, tiny_tmpfs: Path, link_ok: bool, size: int
) -> None:
    # Given a 256 KiB library filesystem and a bigger photo (300 KB: the last, only chunk does
    # not fit; 1.5 MB: a second 1 MiB chunk is written after the disk is already full)
    data = os.urandom(size)
    source = tmp_path / "IMG_0001.JPG"
    source.write_bytes(data)
    # When the photo is placed there (a link is impossible across devices: it copies)
    # Then DestinationFull is raised
    with pytest.raises(DestinationFull, match="no space left"):
        LocalTransfer().place(str(source), tiny_tmpfs, "2024/IMG_0001.JPG", _expect(source),
                              link_ok)
    # And no partial file is left behind, and the source is untouched
    assert _tree(tiny_tmpfs) == {}
    assert source.read_bytes() == data
