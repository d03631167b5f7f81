"""Priorities (tasks/routing.py): a photo that arrives while a reconcile's batches fill the queue
is carried before them. Real redis-server, a real worker with one slot, the real watcher."""

from __future__ import annotations

import json

from shared.state import priority_lists
from tests.e2e.harness import Deployment, wait_for


def test_a_photo_that_arrives_behind_a_reconcile_backlog_goes_first(
        deployment: Deployment) -> None:
    # Given 400 files a reconcile found, queued two to a batch, and one worker slot
    deployment.top = {**deployment.top, "batch_files": 2}
    source, library = deployment.one_source("inbox", "library", stability="0.2s")
    for n in range(400):
        (source / f"old-{n:03d}.jpg").write_bytes(b"\xff\xd8 old " + str(n).encode() * 50)
    deployment.start_worker(concurrency=1)
    done = deployment.celery_call("mediacourier.reconcile", json.dumps(["inbox"]))
    assert done.returncode == 0, done.stderr
    client = deployment.store().client

    def waiting() -> int:
        return sum(client.llen(name) for name in priority_lists(deployment.prefix))

    wait_for(lambda: waiting() > 150, 60, "the reconcile's batches to be queued")
    # When a new photo arrives in the watched source
    watcher = deployment.start_watcher()
    wait_for(lambda: "watching" in watcher.output(), 60, "the watcher to watch")
    (source / "new.jpg").write_bytes(b"\xff\xd8 just taken " * 100)
    # Then it is in the library while most of the reconcile's batches still wait
    wait_for(lambda: (library / "new.jpg").exists(), 120, "the new photo in the library")
    assert (library / "new.jpg").read_bytes() == b"\xff\xd8 just taken " * 100
    assert waiting() > 50, "the photo waited behind the reconcile's batches"
