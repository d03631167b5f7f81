"""Two worker processes uploading to one SSH target keep, together, to its bandwidth limit."""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path
from typing import Any

import pytest

from bench.sshd import SshServer
from shared.config import build_settings
from shared.remote.targets import open_destination
from shared.state.store import RedisStateStore
from tests.shared.ssh_helpers import rsync_differences

LIMIT = 1_000_000  # bytes/s for the target, summed over every process
FILE_SIZE = 700_000
FILES_PER_PROCESS = 2


def upload_in_a_process(raw: dict[str, Any], base: str, redis_url: str, key_prefix: str,
                        local: str, names: list[str], ready: Any, results: Any) -> None:
    """One worker process: its own settings, store and destination, as a Celery child has."""
    settings = build_settings(raw, None, Path(base))
    store = RedisStateStore.from_url(redis_url, key_prefix)
    dest = open_destination(settings, "nas", store)
    try:
        next(iter(dest.list_files()), None)  # connect before the clock starts
        ready.wait(timeout=60)  # both connected: they start together, however slow the start
        began = time.time()
        for name in names:
            src = Path(local) / name
            dest.put(src, name, src.stat().st_mtime_ns, replace=False)
        results.put((began, time.time()))
    finally:
        dest.close()


@pytest.mark.parametrize("kind", ["sftp", "rsync"])
def test_two_processes_uploading_share_the_targets_limit(kind: str, sshd: SshServer,
                                                         tmp_path: Path, redis_url: str,
                                                         key_prefix: str) -> None:
    # Given a target limited to 1 MB/s and two worker processes with 1.4 MB each to upload
    local, remote = tmp_path / "local", tmp_path / "remote"
    local.mkdir()
    remote.mkdir()
    names = [f"p{p}/f{i}.jpg" for p in range(2) for i in range(FILES_PER_PROCESS)]
    for name in names:
        (local / name).parent.mkdir(exist_ok=True)
        (local / name).write_bytes(os.urandom(FILE_SIZE))
    raw = {"targets": {"nas": {"kind": kind, "host": sshd.host, "port": sshd.port,
                               "user": sshd.user, "key_file": str(sshd.key_file),
                               "known_hosts": str(sshd.known_hosts), "root": str(remote),
                               "bandwidth_limit": LIMIT}}}
    spawn = multiprocessing.get_context("spawn")
    results = spawn.Queue()
    ready = spawn.Barrier(len(names) // FILES_PER_PROCESS)
    workers = [spawn.Process(target=upload_in_a_process, args=(
        raw, str(tmp_path), redis_url, key_prefix, str(local),
        names[p * FILES_PER_PROCESS:(p + 1) * FILES_PER_PROCESS], ready, results))
        for p in range(2)]
    # When both upload at the same time
    for worker in workers:
        worker.start()
    spans = [results.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0
    # Then every file arrived intact ...
    assert rsync_differences(local, remote) == []
    # ... and the two together kept to the limit (each on its own would have had all of it:
    # twice the limit together). The lower bound only catches a limiter that throttles far
    # below its limit: each rsync put starts rsync and an ssh login, which on a loaded 2-core
    # machine took up to 40 % of the time (a rate of 0.6 MB/s measured at a load of 9).
    elapsed = max(end for _, end in spans) - min(began for began, _ in spans)
    rate = len(names) * FILE_SIZE / elapsed
    assert 0.5 * LIMIT <= rate <= 1.15 * LIMIT, f"{rate:.0f} B/s for a limit of {LIMIT} B/s"


def test_mirror_and_ingest_backends_take_from_the_shared_bucket(sshd: SshServer, tmp_path: Path,
                                                                redis_url: str,
                                                                key_prefix: str) -> None:
    # Given a library mirrored to a limited SSH target, and a library living on that target
    from shared.ingest.context import Context
    from shared.mirror.job import run_named_mirror
    from shared.remote.bandwidth_redis import RedisTokenBucket

    library, nas = tmp_path / "library", tmp_path / "nas"
    library.mkdir()
    nas.mkdir()
    for i in range(2):
        (library / f"f{i}.jpg").write_bytes(os.urandom(300_000))
    target = {"kind": "sftp", "host": sshd.host, "port": sshd.port, "user": sshd.user,
              "key_file": str(sshd.key_file), "known_hosts": str(sshd.known_hosts),
              "root": str(nas), "bandwidth_limit": LIMIT}
    raw = {"sources": {}, "libraries": {"photos": {"path": str(library)}},
           "targets": {"nas": target}, "mirrors": {"nightly": {"library": "photos",
                                                               "target": "nas"}}}
    settings = build_settings(raw, tmp_path / "mediacourier.toml", tmp_path)
    # (a library cannot live on a target a mirror replicates into: the mirror would delete
    # its files; so the library on the target comes from a deployment of its own)
    on_target = build_settings(
        {"sources": {}, "libraries": {"remote": {"path": "remote", "target": "nas"}},
         "targets": {"nas": target}}, tmp_path / "mediacourier.toml", tmp_path)
    store = RedisStateStore.from_url(redis_url, key_prefix)
    key = f"{key_prefix}:bandwidth:nas"
    # When the mirror runs with the deployment's store
    started = time.monotonic()
    summary = run_named_mirror(settings, "nightly", store=store)
    # Then the files arrived, paced (600 kB at 1 MB/s), through the target's bucket in Redis
    assert summary.copied == 2 and rsync_differences(library, nas) == []
    assert time.monotonic() - started >= 0.4
    assert store.client.hget(key, "stamp") is not None
    # And the ingest Context gives a library on that target the same shared bucket
    backend = Context(settings=on_target, store=store).backend_for(
        on_target.libraries["remote"])
    bucket = backend.destination.bucket  # type: ignore[attr-defined]
    assert isinstance(bucket, RedisTokenBucket) and bucket.key == key
