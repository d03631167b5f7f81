"""LocalTransfer.stage: one read of a source hashes it and writes its copy into the library."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import blake3
import pytest

from shared.errors import FileBusy
from shared.transfer import staging
from shared.transfer.local import TMP_PREFIX, Expected, LocalTransfer


def _temps(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.name.startswith(TMP_PREFIX))


def _source(tmp_path: Path, data: bytes) -> tuple[Path, Path]:
    src = tmp_path / "src" / "IMG_1.jpg"
    src.parent.mkdir()
    src.write_bytes(data)
    lib = tmp_path / "lib"
    lib.mkdir()
    return src, lib


def test_a_staged_copy_is_placed_without_reading_the_source_again(tmp_path: Path) -> None:
    # Given a source hashed by staging it into the library
    data = os.urandom(3 * 1024 * 1024 + 17)
    src, lib = _source(tmp_path, data)
    backend = LocalTransfer(fsync=False, stages=True)
    sha, info = backend.stage(str(src), str(lib))
    assert sha == hashlib.sha256(data).hexdigest() and info.st_size == len(data)
    # … whose bytes are then swapped behind the stat's back (same size, same mtime)
    src.write_bytes(b"x" * len(data))
    os.utime(src, ns=(info.st_atime_ns, info.st_mtime_ns))
    # When it is placed
    placed = backend.place(str(src), lib, "2024/IMG_1.jpg",
                           Expected(info.st_size, info.st_mtime_ns, sha), link_ok=False)
    # Then the library holds the bytes that were hashed (the staged copy, not a second read),
    # the check names them, and no temp file is left
    assert placed is not None and not placed.linked
    assert (lib / "2024" / "IMG_1.jpg").read_bytes() == data
    assert placed.check == blake3.blake3(data).hexdigest()
    assert _temps(lib) == []


def test_a_taken_name_keeps_the_staged_copy_for_the_next_name(tmp_path: Path) -> None:
    # Given a staged source and a library where its name is taken by another file
    data = os.urandom(5000)
    src, lib = _source(tmp_path, data)
    (lib / "IMG_1.jpg").write_bytes(b"someone else's photo")
    backend = LocalTransfer(fsync=False, stages=True)
    sha, info = backend.stage(str(src), str(lib))
    expected = Expected(info.st_size, info.st_mtime_ns, sha)
    # When it is placed at the taken name, then at the next one
    first = backend.place(str(src), lib, "IMG_1.jpg", expected, link_ok=False)
    second = backend.place(str(src), lib, "IMG_1 (2).jpg", expected, link_ok=False)
    # Then the taken name is untouched and the copy lands under the free one
    assert first is None
    assert (lib / "IMG_1.jpg").read_bytes() == b"someone else's photo"
    assert second is not None and (lib / "IMG_1 (2).jpg").read_bytes() == data
    assert _temps(lib) == []


def test_a_source_that_grows_while_it_is_copied_is_caught(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a 3 MiB source that a camera appends to after the first chunk has been copied
    data = os.urandom(3 * 1024 * 1024)
    src, lib = _source(tmp_path, data)
    real = staging.hash_fd_both

    def appending(fd, on_chunk, size_hint=-1):  # type: ignore[no-untyped-def]
        def chunk(view):  # type: ignore[no-untyped-def]
            on_chunk(view)
            if os.path.getsize(src) == len(data):
                with open(src, "ab") as writer:  # a real write to the real file, mid-copy
                    writer.write(b"more bytes")
        return real(fd, chunk, size_hint)

    monkeypatch.setattr(staging, "hash_fd_both", appending)
    backend = LocalTransfer(fsync=False, stages=True)
    # When it is hashed by staging it
    with pytest.raises(FileBusy, match="changed while it was being hashed"):
        backend.stage(str(src), str(lib))
    # Then nothing of it is left in the library, and nothing is staged to be placed
    assert _temps(lib) == [] and list(lib.iterdir()) == []
    backend.discard_staged()
    assert src.read_bytes() == data + b"more bytes"


def test_discarding_removes_only_the_staged_copies(tmp_path: Path) -> None:
    # Given a staged source (a duplicate, found after the copy) and a library file
    data = os.urandom(4000)
    src, lib = _source(tmp_path, data)
    (lib / "kept.jpg").write_bytes(b"library photo")
    backend = LocalTransfer(fsync=False, stages=True)
    backend.stage(str(src), str(lib))
    assert len(_temps(lib)) == 1
    # When the stage is discarded
    backend.discard_staged()
    # Then only the temp went: the library file and the source are as they were
    assert _temps(lib) == []
    assert (lib / "kept.jpg").read_bytes() == b"library photo"
    assert src.read_bytes() == data


def test_a_copy_removes_the_staged_copy_a_dead_batch_left(tmp_path: Path) -> None:
    # Given a staged copy left in the library by a batch whose process died before placing it
    data = os.urandom(6000)
    src, lib = _source(tmp_path, data)
    dead = LocalTransfer(fsync=False, stages=True)
    sha, info = dead.stage(str(src), str(lib))
    assert len(_temps(lib)) == 1
    # When another process copies the same source without a stage of its own
    placed = LocalTransfer().place(str(src), lib, "IMG_1.jpg",
                                   Expected(info.st_size, info.st_mtime_ns, sha), link_ok=False)
    # Then the library holds the photo and nothing else: the dead batch's temp is gone
    assert placed is not None
    assert sorted(p.name for p in lib.iterdir()) == ["IMG_1.jpg"]
