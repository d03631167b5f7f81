"""A batch of files into a library on an rsync target: their bytes go in one rsync run."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest
import redis

from bench.sshd import SshServer
from shared.ingest.batch import run_batch
from shared.jobs import FileJob, Outcome
from shared.remote import KINDS, RemoteTransfer
from shared.transfer import Expected
from tests.shared.remote.test_remote_library import put, remote_context
from tests.shared.ssh_helpers import target_for


@pytest.fixture
def counted_rsync(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The real rsync, first on PATH behind a shim that notes the arguments of each run (the
    local side only: the target's rsync is found by the target's own PATH)."""
    shim_dir, runs = tmp_path / "shim", tmp_path / "rsync-runs"
    shim_dir.mkdir()
    shim = shim_dir / "rsync"
    shim.write_text(f"#!/bin/sh\necho \"$*\" >> {runs}\nexec {shutil.which('rsync')} \"$@\"\n")
    shim.chmod(0o755)
    monkeypatch.setenv("PATH", f"{shim_dir}{os.pathsep}{os.environ['PATH']}")
    return runs


def test_a_batch_sends_its_bytes_in_one_rsync_run(
        sshd: SshServer, tmp_path: Path, redis_client: redis.Redis, key_prefix: str,
        counted_rsync: Path) -> None:
    # Given five photos of a source whose library is on an rsync target
    nas = tmp_path / "nas"
    ctx = remote_context(tmp_path, sshd, redis_client, key_prefix, nas, kind="rsync")
    photos = {f"2024/IMG_{i}.jpg": os.urandom(100_000 + i) for i in range(5)}
    for rel, data in photos.items():
        put(ctx, rel, data)
    # When they are ingested as one batch
    results = run_batch([FileJob("cam", rel) for rel in photos], ctx)
    # Then each is on the target, byte for byte, verified, and its source released
    assert [r.outcome for r in results] == [Outcome.INGESTED] * 5, results  # type: ignore
    for rel, data in photos.items():
        assert (nas / "photos" / rel).read_bytes() == data
        assert not (ctx.settings.sources["cam"].path / rel).exists()
    # And their bytes went in one rsync run (not one per file), leaving no temp file behind
    transfers = [run for run in counted_rsync.read_text().splitlines() if "--version" not in run]
    assert len(transfers) == 1, transfers
    assert not [p for p in nas.rglob(".mediacourier-*")]


def test_bytes_sent_ahead_that_no_placement_took_are_removed(sshd: SshServer,
                                                             tmp_path: Path) -> None:
    # Given three photos sent ahead to a library on an rsync target
    nas = tmp_path / "nas"
    backend = RemoteTransfer(KINDS["rsync"](target_for(sshd, nas, "rsync")))
    files = []
    for i in range(3):
        src = tmp_path / f"IMG_{i}.jpg"
        src.write_bytes(os.urandom(50_000 + i))
        info = src.stat()
        files.append((str(src), f"2024/IMG_{i}.jpg", info.st_size, info.st_mtime_ns))
    try:
        backend.prepare(nas, files)
        # Then their bytes wait on the target under temp names, not under their final names
        assert len(list(nas.rglob(".mediacourier-*"))) == 3
        assert not (nas / "2024/IMG_0.jpg").exists()
        # When only the first is placed and the batch is done
        src, rel, size, mtime_ns = files[0]
        sha = hashlib.sha256(Path(src).read_bytes()).hexdigest()
        assert backend.place(src, nas, rel, Expected(size, mtime_ns, sha), link_ok=False)
        backend.done_preparing()
    finally:
        backend.destination.close()
    # Then the placed one is in place and the two that no placement took are gone
    assert (nas / rel).read_bytes() == Path(src).read_bytes()
    assert list(nas.rglob(".mediacourier-*")) == []
    assert sorted(p.name for p in (nas / "2024").iterdir()) == ["IMG_0.jpg"]
