"""syncfs and the batch flush: a write-back error is never swallowed.

A failing syncfs() used to be taken for "no syncfs" and answered with os.sync(), which reports
nothing; the batch then verified its copies from the page cache and released the sources. The
libc call is replaced by one that fails like a disk refusing the write-back (-1, errno EIO)."""

from __future__ import annotations

import ctypes
import dataclasses
import errno
import os
from pathlib import Path

import pytest

from shared.errors import RetryableError, WriteBackFailed
from shared.ingest.batch import ingest_many, run_batch
from shared.jobs import FileJob
from shared.transfer import local
from shared.transfer.hashing import file_sha256
from shared.transfer.local import Expected, LocalTransfer, syncfs
from tests.shared.rig import Rig


class _FailingLibc:
    """Stands in for libc: syncfs fails with `code` (as ctypes with use_errno=True reports it)."""

    def __init__(self, code: int) -> None:
        self.code = code
        self.calls = 0

    def syncfs(self, fd: int) -> int:
        self.calls += 1
        ctypes.set_errno(self.code)
        return -1


@pytest.fixture
def os_syncs(monkeypatch: pytest.MonkeyPatch) -> list[None]:
    calls: list[None] = []
    monkeypatch.setattr(os, "sync", lambda: calls.append(None))
    return calls


def test_a_write_back_error_raises_and_only_a_missing_syncfs_falls_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, os_syncs: list[None]
) -> None:
    # Given a filesystem whose syncfs reports EIO
    monkeypatch.setattr(local, "_libc", _FailingLibc(errno.EIO))
    # When it is synced / Then the error names the folder and the reason; no os.sync() instead
    with pytest.raises(WriteBackFailed, match="Input/output error") as raised:
        syncfs(str(tmp_path))
    assert str(tmp_path) in str(raised.value) and isinstance(raised.value, RetryableError)
    assert os_syncs == []
    # And a kernel without syncfs(2) (ENOSYS), or no libc symbol at all, syncs everything
    for libc in (_FailingLibc(errno.ENOSYS), None):
        monkeypatch.setattr(local, "_libc", libc)
        syncfs(str(tmp_path))
    assert os_syncs == [None, None]


def test_a_failed_flush_discards_the_unsynced_copies_and_keeps_the_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a batch-mode backend that copied two files (one also linked) into a library
    src, lib = tmp_path / "src", tmp_path / "lib"
    src.mkdir()
    backend = LocalTransfer(fsync=False)
    for name, link_ok in (("a.jpg", False), ("b.jpg", True)):
        (src / name).write_bytes(name.encode() * 1000)
        info = os.stat(src / name)
        expected = Expected(info.st_size, info.st_mtime_ns, file_sha256(str(src / name)))
        assert backend.place(str(src / name), lib, f"2024/{name}", expected, link_ok)
    (lib / "2024" / "user.jpg").write_bytes(b"not placed by this backend")
    monkeypatch.setattr(local, "_libc", _FailingLibc(errno.EIO))
    # When the flush meets the write-back error
    with pytest.raises(WriteBackFailed):
        backend.flush()
    # Then the placed copies are gone (nothing can trust their page-cache bytes later), the
    # sources are untouched, and a file the backend did not place stays
    assert sorted(p.name for p in (lib / "2024").iterdir()) == ["user.jpg"]
    assert (src / "a.jpg").read_bytes() == b"a.jpg" * 1000
    assert (src / "b.jpg").read_bytes() == b"b.jpg" * 1000


def test_a_batch_whose_sync_fails_releases_no_source(
    make_rig, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    # Given a move-mode source with photos, going through the batch runner
    rig: Rig = make_rig(mode="move")
    payloads = {f"2024/IMG_{i}.jpg": os.urandom(2000 + i) for i in range(4)}
    for rel, data in payloads.items():
        rig.put(rel, data)
    jobs = [FileJob("cam", rel) for rel in payloads]
    failing = _FailingLibc(errno.EIO)
    monkeypatch.setattr(local, "_libc", failing)
    # When the one sync of the batch reports a write-back error
    batch_ctx = dataclasses.replace(rig.ctx, backend=LocalTransfer(fsync=False))
    with pytest.raises(WriteBackFailed):
        run_batch(jobs, batch_ctx)
    settled = ingest_many(jobs, rig.ctx, lambda job, result: result)
    # Then the batch fails as a whole (each file to go on its own: a retryable end) ...
    assert failing.calls == 2 and settled == [None] * len(jobs)
    # ... every source is kept byte for byte, no copy is left in the library, nothing recorded
    for rel, data in payloads.items():
        assert (rig.src / rel).read_bytes() == data
        assert not (rig.lib / rel).exists()
        record = rig.store.get_record("cam", rel)
        assert record is None or record.state not in ("verified", "ingested")
    assert not [e for e in rig.store.read_journal() if e["event"] == "ingested"]


def test_a_copy_found_in_place_is_synced_before_it_is_trusted(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a crashed run that linked the photo into the library but never synced its folder
    rig.put("IMG_0001.JPG", b"\xff\xd8 linked, not synced " * 100)
    os.link(rig.src / "IMG_0001.JPG", rig.lib / "IMG_0001.JPG")
    synced: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    # When the file is ingested again
    job = rig.ingest("IMG_0001.JPG")
    # Then the file found in place was taken as ours only after it and its folder were synced
    assert job.outcome == "ingested" and job.dest_path == "IMG_0001.JPG"
    assert str(rig.lib / "IMG_0001.JPG") in synced and str(rig.lib) in synced


def test_a_folder_whose_sync_fails_keeps_the_source(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a library disk that refuses to write a folder back (fsync: EIO)
    rig.put("IMG_0002.JPG", b"\xff\xd8 second " * 100)

    def failing_fsync(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    # When the photo is ingested / Then it waits to be tried again, and the source stays
    with pytest.raises(WriteBackFailed):
        rig.ingest("IMG_0002.JPG")
    assert (rig.src / "IMG_0002.JPG").exists()
