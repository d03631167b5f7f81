"""A poison file with real workers: one file of a batch makes its worker process die every time
it is copied (a crash point armed for that file name only, as an OOM or a segfault would). The
batch splits into single files, the poison file fails with the reason, the rest arrive, and no
message loops."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from shared.crashpoints import ENV, FILE_ENV
from shared.state import priority_lists
from shared.state.store import FileRecord
from shared.transfer import TMP_PREFIX
from tasks.deliveries import MAX_DELIVERIES
from tests.e2e.corpus import library_contents, sha256
from tests.e2e.harness import Deployment, wait_for

CRASH_LINE = "crash point 'temp-written' reached"
POISON = "poison.jpg"


@dataclass
class CrashingDeployment(Deployment):
    """A Deployment whose processes get extra environment variables (the crash point)."""

    extra_env: dict[str, str] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        return {**super().env(), **self.extra_env}


@pytest.fixture
def poisoned(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[CrashingDeployment]:
    dep = CrashingDeployment(tmp_path, extra_env={ENV: "temp-written", FILE_ENV: POISON})
    dep.start_redis()
    yield dep
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        print(dep.logs())
    dep.stop_all()


def test_a_file_that_kills_its_worker_fails_alone_and_the_batch_gets_through(
    poisoned: CrashingDeployment,
) -> None:
    # Given eight settled files in a copy-mode source, sent as one batch; copying one of them
    # kills the worker process every time
    source, library = poisoned.folder("uploads"), poisoned.folder("library")
    poisoned.top = {"visibility_timeout": 60, "restore_interval": 1, "retry_backoff_max": 2,
                    "batch_files": 8, "lease_seconds": 2}
    poisoned.tables = {
        "sources.up": {"path": str(source), "library": "lib", "mode": "copy",
                       "stability": "0.3s"},
        "libraries.lib": {"path": str(library)},
    }
    poisoned.write_config()
    rng = random.Random(11)
    good = {}
    for index in range(7):
        path = source / f"good{index}.jpg"
        path.write_bytes(rng.randbytes(200_000))
        good[path.name] = sha256(path)
    (source / POISON).write_bytes(rng.randbytes(200_000))
    poison_sha = sha256(source / POISON)
    old = time.time() - 60
    for path in source.iterdir():
        os.utime(path, (old, old))
    worker = poisoned.start_worker("w1")
    started = time.monotonic()

    # When the watcher's start-up scan sends them
    poisoned.start_watcher()

    # Then, within a bounded time, the poison file fails with the reason …
    def poison_failure() -> dict[str, str] | None:
        return next((f for f in poisoned.store().failures() if f["path"] == POISON), None)

    failure = wait_for(poison_failure, 120, "the poison file to fail")
    took = time.monotonic() - started
    assert "transfer_file: delivered too many times; it may crash workers" in failure["reason"]
    record = poisoned.store().get_record("up", POISON)
    assert record is not None and record.state == "failed"
    # … every other file of the batch is in the library, byte-identical, and nothing is left
    # in flight; what else is there is the temp file of the poison's crashed copies (left for
    # the reconcile's sweep of abandoned temp files)
    def placed() -> dict[str, str]:
        return {rel: sha for rel, sha in library_contents(library).items()
                if not rel.startswith(TMP_PREFIX)}

    wait_for(lambda: placed() == good and not poisoned.store().inflight(), 60,
             "the other files to be ingested")
    leftovers = [p.name for p in library.iterdir() if p.name.startswith(TMP_PREFIX)]
    assert len(leftovers) == 1 and leftovers[0].startswith(f"{TMP_PREFIX}{poison_sha[:16]}-")
    records = {rel: FileRecord.decode(raw).state
               for rel, raw in poisoned.store().all_records("up").items()}
    assert records == {**dict.fromkeys(good, "ingested"), POISON: "failed"}
    # … the batch split once; `status` lists the failure with its reason
    assert [e["files"] for e in poisoned.events("batch-split")] == ["8"]
    status = poisoned.run_cli("status")
    assert status.returncode == 0, status.stderr
    assert POISON in status.stdout and "delivered too many times" in status.stdout
    # … and the file killed a worker process once in the batch and MAX_DELIVERIES times as its
    # own chain, then never again: no message is left to loop, waiting or delivered
    assert worker.output().count(CRASH_LINE) == 1 + MAX_DELIVERIES
    client = poisoned.store().client
    wait_for(lambda: sum(client.llen(q) for q in priority_lists(poisoned.prefix)) == 0
             and client.hlen("unacked") == 0, 30,
             "the broker to hold no message")
    assert worker.output().count(CRASH_LINE) == 1 + MAX_DELIVERIES
    assert worker.alive()
    print(f"poison file failed after {took:.1f} s")
