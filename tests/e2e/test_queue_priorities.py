"""The lanes of the queue under load, with a real redis-server, real Celery workers and the real
watcher: a live photo is not stuck behind a reconcile's backlog, and a manual trigger goes ahead
of live files that already wait."""

from __future__ import annotations

import json
import posixpath
import re
import signal
import time
from pathlib import Path

from celery import Celery
from celery.result import AsyncResult

from shared.media import IgnoreRules
from shared.source import walk_source
from shared.state import priority_lists
from tests.e2e.harness import Deployment, wait_for

BACKLOG = 20_000
# The bound of a live photo's wait while the backlog runs. Measured on this 2-core machine:
# 1–3 s (the watcher's 0.2 s stability window, then each of the chain's six stages waits at most
# for one 64-file batch of tiny files to free a worker slot). 60 s leaves 20× for a CI runner
# that is loaded or throttled, and is still a fraction of the minutes the backlog takes to
# drain: the test's proof is that most of the backlog still waits when the photo is verified.
LIVE_BOUND = 60.0
# Only stops for a runner that is stuck: queueing 20,000 files takes seconds here, but took
# over 120 s with the machine's load average at 18; half the backlog takes minutes to drain.
SCAN_BOUND = 600.0
DRAIN_BOUND = 900.0


def _waiting(deployment: Deployment, lane: int | None = None) -> int:
    """Messages in the queue's list of one priority step (0, 3, 6, 9), or in all of them."""
    lists = dict(zip((0, 3, 6, 9), priority_lists(deployment.prefix), strict=True))
    client = deployment.store().client
    return sum(int(client.llen(name)) for step, name in lists.items() if lane in (None, step))


def _result(deployment: Deployment, task_id: str) -> AsyncResult:
    app = Celery(broker=deployment.redis.url, backend=deployment.redis.url)
    app.conf.accept_content = app.conf.result_accept_content = ["json"]
    return AsyncResult(task_id, app=app)


def _tiny_tree(folder: Path, count: int) -> None:
    for n in range(count):
        sub = folder / f"old-{n // 500:03d}"
        sub.mkdir(exist_ok=True)
        (sub / f"IMG_{n:05d}.jpg").write_bytes(b"\xff\xd8 old %d" % n)


def test_a_live_photo_is_verified_within_a_bound_while_a_big_backlog_waits(
        deployment: Deployment) -> None:
    # Given a reconcile of a 20,000-file source queued as batches (64 files each), and two
    # worker slots busy with them
    source, library = deployment.one_source("inbox", "library", stability="0.2s")
    _tiny_tree(source, BACKLOG)
    deployment.start_worker(concurrency=2)
    done = deployment.celery_call("mediacourier.reconcile", json.dumps(["inbox"]))
    assert done.returncode == 0, done.stderr
    reconcile = _result(deployment, done.stdout.strip().splitlines()[-1])
    # (its result, not the journal: reading a journal that fills with the batches' entries
    # over and over would load the machine the test measures)
    wait_for(reconcile.ready, SCAN_BOUND, "the reconcile to queue its batches")
    assert reconcile.successful(), reconcile.result
    batches = _waiting(deployment)  # in every lane: a backlog in the live lane is found too
    # (the two slots take batches while it queues them: fewer wait on a slower machine, but
    # still thousands of files)
    assert batches > 0.5 * BACKLOG / 64, batches
    watcher = deployment.start_watcher()
    # (after its start-up scan, which blocks its loop: the wait measured is the live path alone)
    wait_for(lambda: "catch-up scan" in watcher.output(), 120, "the watcher's start-up scan")
    # When a new photo is written into the watched source
    photo = b"\xff\xd8 just taken " * 200
    (source / "new.jpg").write_bytes(photo)
    closed = time.monotonic()
    # Then it is in the library, verified and recorded, within the bound …
    store = deployment.store()

    def recorded() -> bool:
        record = store.get_record("inbox", "new.jpg")
        return record is not None and record.state == "ingested"

    wait_for(recorded, LIVE_BOUND, "the new photo to be verified and recorded")
    waited = time.monotonic() - closed
    assert (library / "new.jpg").read_bytes() == photo
    # … while most of the reconcile's batches still wait: it did not queue behind them
    still = _waiting(deployment)
    assert still > batches / 2, f"the photo took {waited:.1f} s; {still} of {batches} left"
    print(f"live photo verified {waited:.2f} s after it was closed; {still} of {batches} "
          "batches still waiting")


def test_a_manual_trigger_overtakes_live_files_that_already_wait(
        deployment: Deployment) -> None:
    # Given 40 live files the watcher queued (their chains at the live priority), no worker yet
    source, library = deployment.one_source("inbox", "library", stability="0.2s")
    watcher = deployment.start_watcher()
    wait_for(lambda: "catch-up scan" in watcher.output(), 120, "the watcher's start-up scan")
    for n in range(40):
        (source / f"live-{n:02d}.jpg").write_bytes(b"\xff\xd8 live %d " % n * 100)
    wait_for(lambda: _waiting(deployment, 3) == 40, 60, "the 40 live chains to be queued")
    deployment.kill(watcher, signal.SIGTERM)  # so that only the person's trigger names the next
    asked = source / "asked-for.jpg"
    asked.write_bytes(b"\xff\xd8 wanted now " * 100)
    # When a person asks for one file by hand (`celery call mediacourier.ingest`), and one
    # worker slot starts
    done = deployment.celery_call("mediacourier.ingest", json.dumps([str(asked)]))
    assert done.returncode == 0, done.stderr
    deployment.start_worker(concurrency=1)
    # Then the asked-for file is in the library while most live files still wait
    wait_for(lambda: (library / "asked-for.jpg").exists(), 120, "the asked-for file")
    arrived = sorted(p.name for p in library.iterdir() if p.name.startswith("live-"))
    assert len(arrived) <= 10, f"the manual file came after {len(arrived)} live files"
    assert (library / "asked-for.jpg").read_bytes() == b"\xff\xd8 wanted now " * 100


def test_a_photo_that_arrives_during_the_start_up_scan_is_not_stuck_behind_its_backlog(
        deployment: Deployment) -> None:
    # Given a source with a 20,000-file backlog the watcher's start-up scan will queue, a
    # photo uploaded while the watcher was down (only that scan can find it: no event will
    # come), and a worker with two slots
    source, library = deployment.one_source("inbox", "library", stability="0.2s")
    _tiny_tree(source, BACKLOG)
    # (in the folder the scan walks last: in the reconcile's lane it would be the last batch)
    upload = posixpath.dirname(list(walk_source(source, IgnoreRules()))[-1].rel_path)
    before = b"\xff\xd8 uploaded while the watcher was down " * 200
    (source / upload / "before.jpg").write_bytes(before)
    deployment.start_worker(concurrency=2)
    # When the watcher starts, and a second photo is written while its scan runs
    watcher = deployment.start_watcher()
    wait_for(lambda: "watching" in watcher.output(), 120, "the watcher to attach")
    during = b"\xff\xd8 written during the scan " * 200
    (source / upload / "during.jpg").write_bytes(during)
    wait_for(lambda: "catch-up scan" in watcher.output(), SCAN_BOUND,
             "the watcher's start-up scan")
    queued = int(re.search(r"catch-up scan queued (\d+) files", watcher.output())[1])
    batches = _waiting(deployment)
    # Then both photos are in the library, verified and recorded …
    store = deployment.store()

    def recorded() -> bool:
        records = [store.get_record("inbox", f"{upload}/{name}") for name in ("before.jpg",
                                                                              "during.jpg")]
        return all(r is not None and r.state == "ingested" for r in records)

    # (a race of the photos against the backlog, not against a clock: on a loaded runner the
    # scan's queueing and every batch are slower, the order of the lanes is not)
    wait_for(lambda: recorded() or _waiting(deployment) < batches / 2, DRAIN_BOUND,
             "the two photos to be recorded, or half the backlog to drain")
    still = _waiting(deployment)
    states = {name: getattr(store.get_record("inbox", f"{upload}/{name}"), "state", None)
              for name in ("before.jpg", "during.jpg")}
    assert recorded(), (f"half the backlog drained first ({still} of {batches} batches left; "
                        f"records {states}): {watcher.output()[-1500:]}")
    assert (library / upload / "before.jpg").read_bytes() == before
    assert (library / upload / "during.jpg").read_bytes() == during
    # … while most of the scan's backlog still waits: neither queued behind it, though the
    # scan found (at least) the first one and marked it in flight
    assert queued > BACKLOG, queued
    assert still > batches / 2, f"{still} of {batches} batches left when the photos landed"
    fresh = int(re.search(r"reconciled inbox: .*'fresh': (\d+)", watcher.output())[1])
    assert fresh >= 1, watcher.output()[-2000:]
    print(f"both photos recorded with {still} of {batches} batches still waiting; the scan "
          f"queued {queued} files, {fresh} of them in the live lane")
