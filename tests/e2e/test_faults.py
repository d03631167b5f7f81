"""Fault tests with real processes: killed workers, a restarted Redis, growing files."""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

from shared.state.store import FileRecord
from tests.e2e.corpus import library_contents, sha256
from tests.e2e.harness import Deployment, wait_for

FILES = 80
SIZE = 3 * 1024 * 1024


def _configure(deployment: Deployment, mode: str = "copy") -> tuple[Path, Path]:
    source, library = deployment.folder("uploads"), deployment.folder("library")
    deployment.top = {"visibility_timeout": 6, "restore_interval": 1, "retry_backoff_max": 2,
                      "batch_files": 8}
    deployment.tables = {**deployment.tables,
        "sources.up": {"path": str(source), "library": "lib", "mode": mode, "stability": "0.3s"},
        "libraries.lib": {"path": str(library)},
    }
    deployment.write_config()
    return source, library


def _make_files(folder: Path, count: int, prefix: str) -> dict[str, str]:
    rng = random.Random(prefix)
    made = {}
    for index in range(count):
        path = folder / f"{prefix}{index:03d}.jpg"
        path.write_bytes(rng.randbytes(SIZE))
        made[path.name] = sha256(path)
    old = time.time() - 60  # settled: the start-up scan takes them at once
    for name in made:
        os.utime(folder / name, (old, old))
    return made


def _assert_exactly_once(deployment: Deployment, library: Path, made: dict[str, str]) -> None:
    in_library = library_contents(library)
    assert in_library == made, "every file exactly once, byte-identical, nothing extra"
    records = deployment.store().all_records("up")
    assert all(FileRecord.decode(r).state == "ingested" for r in records.values())
    assert set(records) == set(made)
    assert not deployment.store().inflight()


def test_sigkill_of_the_whole_worker_mid_ingest_loses_and_doubles_nothing(
    deployment: Deployment,
) -> None:
    # Given 80 files of 3 MB waiting, and a worker taking them in batches
    source, library = _configure(deployment)
    made = _make_files(source, FILES, "a")
    worker = deployment.start_worker("w1")
    deployment.start_watcher()

    # When the whole worker is SIGKILLed while files are on their way
    wait_for(lambda: len(list(library.glob("*.jpg"))) >= 10, 60, "ingest under way")
    deployment.kill(worker, signal.SIGKILL)
    assert len(deployment.events("ingested")) < FILES, "killed before the end"

    # Then a new worker finishes the job after the visibility timeout
    deployment.start_worker("w2")
    wait_for(lambda: len(library_contents(library)) == FILES
             and not deployment.store().inflight(), 120, "all files ingested")
    _assert_exactly_once(deployment, library, made)
    assert not list(library.glob(".mediacourier-*")), "no partial file left"
    assert sorted(p.name for p in source.iterdir()) == sorted(made), "copy mode keeps sources"


def test_sigkill_of_a_pool_child_is_redelivered(deployment: Deployment) -> None:
    # Given files arriving one by one while a worker with two pool children runs
    source, library = _configure(deployment, mode="move")
    worker = deployment.start_worker("w1")
    deployment.start_watcher()
    made = {}
    rng = random.Random(7)
    for index in range(40):
        path = source / f"b{index:03d}.jpg"
        path.write_bytes(rng.randbytes(SIZE))
        made[path.name] = sha256(path)

    # When one pool child is killed mid-ingest (as the OOM killer would)
    wait_for(lambda: len(list(library.glob("*.jpg"))) >= 5, 60, "ingest under way")
    pid = worker.popen.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    assert children, "the worker has pool children"
    os.kill(int(children[0]), signal.SIGKILL)

    # Then the worker survives, and every file arrives exactly once; the sources are released
    wait_for(lambda: len(library_contents(library)) == 40 and not any(source.iterdir()), 120,
             "all files moved")
    assert worker.alive()
    assert library_contents(library) == made


def test_redis_restart_mid_ingest(deployment: Deployment) -> None:
    # Given files being ingested by a worker, with beat reconciling every 3 s (a message that
    # kombu drops while the broker is away is found again by the reconcile once its in-flight
    # marker is older than two visibility timeouts)
    deployment.tables = {"schedules.up": {"every": "3s"}}
    source, library = _configure(deployment, mode="move")
    made = _make_files(source, FILES, "c")
    deployment.start_worker("w1")
    deployment.start_beat()
    deployment.start_watcher()
    wait_for(lambda: len(list(library.glob("*.jpg"))) >= 5, 60, "ingest under way")

    # When Redis restarts (with its append-only file)
    assert deployment.redis is not None
    deployment.redis.restart()

    # Then every file still arrives exactly once and every source is released after its copy
    wait_for(lambda: len(library_contents(library)) == FILES and not any(source.iterdir()),
             180, "all files moved")
    assert library_contents(library) == made
    wait_for(lambda: not deployment.store().inflight(), 30, "in-flight markers cleared")


def test_a_growing_file_is_not_taken_early(deployment: Deployment) -> None:
    # Given a watcher with a one-second stability window
    source, library = deployment.one_source("uploads", "library", stability="1s")
    deployment.start_worker()
    deployment.start_watcher()
    time.sleep(1.5)

    # When a file grows for three seconds, a chunk every 0.3 s
    chunks = [os.urandom(100_000) for _ in range(10)]
    with (source / "video.mp4").open("wb") as stream:
        for chunk in chunks:
            stream.write(chunk)
            stream.flush()
            time.sleep(0.3)
            # Then nothing of it reaches the library while it grows
            assert not (library / "video.mp4").exists()

    # … and once it is complete, the whole of it arrives
    wait_for(lambda: deployment.events("ingested"), 30, "the file to be ingested")
    assert (library / "video.mp4").read_bytes() == b"".join(chunks)
    assert not (source / "video.mp4").exists()
    assert [e["bytes"] for e in deployment.events("ingested")] == [str(len(b"".join(chunks)))]
