"""Fault tests with real processes: killed workers, a restarted Redis, growing files.
Whatever dies, every file gets there exactly once, soon after the fault."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import time
from pathlib import Path
from typing import Any

from shared.crashpoints import ENV, FILE_ENV
from shared.state import priority_lists
from shared.state.store import FileRecord
from tests.e2e.corpus import library_contents, sha256
from tests.e2e.harness import Deployment, wait_for

FILES = 80
SIZE = 3 * 1024 * 1024


def _configure(deployment: Deployment, mode: str = "copy", **top: Any) -> tuple[Path, Path]:
    source, library = deployment.folder("uploads"), deployment.folder("library")
    # Short leases, and an in-flight sweeper (when beat runs) that looks every 2 s for files
    # whose message was lost 4 s ago: the defaults' figures (30 s, 60 s), scaled for a test.
    deployment.top = {"visibility_timeout": 6, "restore_interval": 1, "retry_backoff_max": 2,
                      "batch_files": 8, "lease_seconds": 3, "inflight_timeout": 4, **top}
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


def _last_ingested_after(deployment: Deployment, moment: float) -> float:
    """Seconds from `moment` (wall clock) to the last file recorded ingested."""
    return max(float(e["at"]) for e in deployment.events("ingested")) - moment


def test_sigkill_of_the_whole_worker_mid_ingest_loses_and_doubles_nothing(
    deployment: Deployment,
) -> None:
    # Given 80 files of 3 MB waiting, a worker taking them in batches, and beat (with the
    # in-flight sweeper) as `mediacourier up` runs it
    source, library = _configure(deployment)
    made = _make_files(source, FILES, "a")
    worker = deployment.start_worker("w1")
    deployment.start_beat()
    deployment.start_watcher()

    # When the whole worker is SIGKILLed while files are on their way
    wait_for(lambda: len(list(library.glob("*.jpg"))) >= 10, 60, "ingest under way")
    deployment.kill(worker, signal.SIGKILL)
    killed_at = time.time()
    assert len(deployment.events("ingested")) < FILES, "killed before the end"

    # Then a new worker finishes the job: the dead worker's messages come back after the
    # visibility timeout, its leases are taken over, anything lost is sent again
    deployment.start_worker("w2")
    wait_for(lambda: len(library_contents(library)) == FILES
             and not deployment.store().inflight(), 120, "all files ingested")
    _assert_exactly_once(deployment, library, made)
    assert not list(library.glob(".mediacourier-*")), "no partial file left"
    assert sorted(p.name for p in source.iterdir()) == sorted(made), "copy mode keeps sources"
    print(f"last file verified {_last_ingested_after(deployment, killed_at):.1f} s after the kill")


def _sweeping_now(deployment: Deployment) -> bool:
    return bool(deployment.store().client.exists("unacked_mutex"))


def test_a_worker_killed_inside_its_restore_sweep_does_not_hold_up_the_others(
    deployment: Deployment,
) -> None:
    # Given a worker ingesting in batches, its pool children frozen mid-ingest so that the
    # messages they hold stay unacknowledged while the worker's own loop goes on
    source, library = _configure(deployment)
    made = _make_files(source, FILES, "k")
    worker = deployment.start_worker("w1")
    deployment.start_watcher()
    wait_for(lambda: len(list(library.glob("*.jpg"))) >= 5, 60, "ingest under way")
    children = [int(c) for c in Path(f"/proc/{worker.popen.pid}/task/{worker.popen.pid}/"
                                       "children").read_text().split()]
    for child in children:
        os.kill(child, signal.SIGSTOP)
    client = deployment.store().client
    held = wait_for(lambda: client.zrange("unacked_index", 0, -1), 30, "delivered messages")

    # When the worker is killed while it holds kombu's restore mutex (inside one of its
    # sweeps, caught by freezing it whenever the mutex shows, until it is frozen holding it)
    deadline = time.monotonic() + 60
    while True:
        assert time.monotonic() < deadline, "never caught the worker inside a restore sweep"
        if _sweeping_now(deployment):
            os.kill(worker.popen.pid, signal.SIGSTOP)
            if _sweeping_now(deployment):
                break
            os.kill(worker.popen.pid, signal.SIGCONT)
    deployment.kill(worker, signal.SIGKILL)
    assert client.pttl("unacked_mutex") > 0, "the dead worker left the mutex held"

    # Then another worker restores the dead one's messages within the visibility timeout and
    # a sweep or two (kombu's default mutex, 300 s, blocked every restore for five minutes)
    deployment.start_worker("w2")
    wait_for(lambda: not set(held) & set(client.zrange("unacked_index", 0, -1)), 20,
             "the dead worker's messages restored")
    # … and every file arrives exactly once
    wait_for(lambda: len(library_contents(library)) == FILES
             and not deployment.store().inflight(), 90, "all files ingested")
    _assert_exactly_once(deployment, library, made)


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
    # Given files being ingested by a worker, beat with the in-flight sweeper looking every 2 s
    # and the reconcile only hourly, and a visibility timeout far beyond the test (neither the
    # reconcile nor kombu's restore can be what brings a lost message back)
    deployment.tables = {"schedules.up": {"every": "1h"}}
    source, library = _configure(deployment, mode="move", visibility_timeout=600)
    made = _make_files(source, FILES, "c")
    deployment.start_worker("w1")
    deployment.start_beat()
    deployment.start_watcher()
    wait_for(lambda: len(list(library.glob("*.jpg"))) >= 5, 60, "ingest under way")
    wait_for(lambda: deployment.events("reconciled"), 30, "the watcher's catch-up scan")

    # When Redis restarts (with its append-only file) and the messages that were waiting are
    # lost, as those in the last second of an `everysec` append-only file would be
    assert deployment.redis is not None
    deployment.redis.restart()
    restarted_at = time.time()
    dropped = deployment.store().client.delete(*priority_lists(deployment.prefix))
    assert dropped, "messages were waiting when Redis went away"

    # Then every file still arrives exactly once within a minute, every source released after
    # its copy; the sweeper sent the lost ones again, and no reconcile ran
    wait_for(lambda: len(library_contents(library)) == FILES and not any(source.iterdir()),
             60, "all files moved")
    assert library_contents(library) == made
    wait_for(lambda: not deployment.store().inflight(), 30, "in-flight markers cleared")
    assert deployment.events("inflight-resent")
    assert len(deployment.events("reconciled")) == 1
    print(f"last file verified {_last_ingested_after(deployment, restarted_at):.1f} s after "
          "the restart")


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


def test_a_pool_child_dying_right_after_deleting_a_duplicate_journals_it_once(
    deployment: Deployment, monkeypatch: Any,
) -> None:
    # Given a move-mode source whose duplicates are deleted, a photo already in the library,
    # and a worker whose pool child dies (a crash point, as a SIGKILL would) right after it
    # deleted the source of that photo's copy, before the outcome was recorded
    source, library = _configure(deployment, mode="move")
    deployment.tables["libraries.lib"]["duplicates"] = "delete"
    deployment.write_config()
    crash = {ENV: "source-unlinked", FILE_ENV: "copy of a.jpg"}
    monkeypatch.setattr(deployment, "env", lambda: {**Deployment.env(deployment), **crash})
    worker = deployment.start_worker("w1")
    watcher = deployment.start_watcher()
    data = random.Random(11).randbytes(200_000)
    (source / "a.jpg").write_bytes(data)
    wait_for(lambda: deployment.events("ingested"), 60, "the photo ingested")
    deployment.kill(watcher, signal.SIGTERM)

    # When its copy is found by a reconcile, which sends it in a batch (a redelivered batch
    # starts again from its files' names: the copy's hash is not in its message)
    copy = source / "copy of a.jpg"
    copy.write_bytes(data)
    old = time.time() - 60
    os.utime(copy, (old, old))
    assert deployment.celery_call("mediacourier.reconcile", '["up"]').returncode == 0

    # Then the pool child died there, and the copy's next delivery journals it, once, as the
    # duplicate it is; the library holds the photo once and the source is empty
    wait_for(lambda: f"crash point {'source-unlinked'!r} reached" in worker.output(), 60,
             "the pool child to die after the deletion")
    wait_for(lambda: deployment.events("duplicate"), 90, "the duplicate journaled")
    time.sleep(2)  # anything journaled twice would be by now (a lease and a delivery later)
    outcomes = [(e["event"], e["path"]) for e in deployment.events()
                if e["event"] in ("ingested", "duplicate", "failed")]
    assert outcomes == [("ingested", "a.jpg"), ("duplicate", "copy of a.jpg")], outcomes
    assert library_contents(library) == {"a.jpg": hashlib.sha256(data).hexdigest()}
    assert not any(source.iterdir())
    assert worker.alive()
