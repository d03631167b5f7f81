"""What every `Destination` must do, as tests any implementation can run.

Subclass `DestinationContract` and override the `make` fixture to return a fresh destination
and the local folder that holds its root (for a loopback SFTP server, the server's folder), e.g.

    class TestSftpDestination(DestinationContract):
        @pytest.fixture
        def make(self, tmp_path, sshd): ...
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import pytest

from shared.errors import DestinationExists
from shared.transfer.destinations import Destination

MTIME = 1_600_000_000_123_456_789
WINDOW_NS = 2 * 10**9  # SFTP and Samba keep whole seconds; mirrors compare within 2 s


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


class DestinationContract:
    @pytest.fixture
    def make(self, tmp_path: Path) -> tuple[Destination, Path]:
        raise NotImplementedError("override `make` to return (destination, its root folder)")

    def test_put_lands_verified_bytes_with_the_mtime(self, make, tmp_path: Path) -> None:
        # Given a source file
        destination, root = make
        src = write(tmp_path / "src" / "a.jpg", b"photo" * 1000)
        seen: list[int] = []
        # When put under a nested name
        sha = destination.put(src, "2024/05/a.jpg", MTIME, replace=False, progress=seen.append)
        # Then the bytes, hash, size and time are there, and progress counted every byte
        assert (root / "2024" / "05" / "a.jpg").read_bytes() == src.read_bytes()
        assert sha == hashlib.sha256(src.read_bytes()).hexdigest()
        assert destination.sha256("2024/05/a.jpg") == sha
        [entry] = list(destination.list_files())
        assert entry.rel_path == "2024/05/a.jpg" and entry.size == 5000
        assert abs(entry.mtime_ns - MTIME) < WINDOW_NS
        assert sum(seen) == 5000
        assert destination.sha256("missing.jpg") is None

    def test_put_never_overwrites_unless_replace(self, make, tmp_path: Path) -> None:
        destination, root = make
        old, new = write(tmp_path / "old.jpg", b"old"), write(tmp_path / "new.jpg", b"new!")
        destination.put(old, "a.jpg", MTIME, replace=False)
        with pytest.raises(DestinationExists, match="a.jpg"):
            destination.put(new, "a.jpg", MTIME, replace=False)
        assert (root / "a.jpg").read_bytes() == b"old"
        destination.put(new, "a.jpg", MTIME, replace=True)
        assert (root / "a.jpg").read_bytes() == b"new!"
        assert [e.rel_path for e in destination.list_files()] == ["a.jpg"]

    def test_rename_never_overwrites_and_delete_prunes_folders(self, make,
                                                               tmp_path: Path) -> None:
        destination, root = make
        for rel in ("old/deep/a.jpg", "keep/b.jpg"):
            destination.put(write(tmp_path / rel, rel.encode()), rel, MTIME, replace=False)
        with pytest.raises(DestinationExists):
            destination.rename("old/deep/a.jpg", "keep/b.jpg")
        assert (root / "keep" / "b.jpg").read_bytes() == b"keep/b.jpg"
        destination.rename("old/deep/a.jpg", "new/place/a.jpg")
        assert (root / "new" / "place" / "a.jpg").read_bytes() == b"old/deep/a.jpg"
        assert not (root / "old").exists()
        destination.delete("keep/b.jpg")
        destination.delete("new/place/a.jpg")
        assert list(destination.list_files()) == [] and root.is_dir()
        assert os.listdir(root) == []

    def test_parallel_puts_are_all_whole(self, make, tmp_path: Path) -> None:
        destination, root = make
        sources = [write(tmp_path / "src" / f"f{i}.jpg", os.urandom(50_000)) for i in range(12)]
        threads = [threading.Thread(target=destination.put,
                                    args=(s, f"d{i % 3}/{s.name}", MTIME, False))
                   for i, s in enumerate(sources)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for i, src in enumerate(sources):
            assert (root / f"d{i % 3}" / src.name).read_bytes() == src.read_bytes()
        assert len(list(destination.list_files())) == 12
