"""A reconcile of a source a [flows.NAME] takes (sent by `resume`, the web page, a fetch or a
`celery call`) queues none of its files: they go through the flow, not into its library."""

from __future__ import annotations

import os
import time
from pathlib import Path

import tasks.maintenance  # noqa: F401 - registers mediacourier.reconcile
from tests.tasks.task_calls import call_task, drain, memory_app

PHOTO = b"\xff\xd8\xff\xe0 a photo " * 32


def test_a_reconcile_of_a_source_fed_to_a_flow_queues_nothing(tmp_path: Path) -> None:
    # Given source inbox taken by flow relay, with a new, settled photo in it
    flows = {"relay": {"source": "inbox", "steps": [{"kind": "archive",
                                                     "to": str(tmp_path / "nas")}]}}
    with memory_app(tmp_path, "reconcile-flow", "q-reconcile-flow", flows=flows) as app:
        photo = tmp_path / "src" / "IMG_0001.jpg"
        photo.write_bytes(PHOTO)
        os.utime(photo, (time.time() - 3600, time.time() - 3600))  # settled long ago
        # When mediacourier.reconcile is called for inbox
        result = call_task(app, "mediacourier.reconcile", "inbox")
        # Then it is skipped, naming the flow, and no message for the photo was sent
        assert result == {"skipped": "source inbox is fed to flow relay; its files go through "
                                     "the flow, not reconciled into its library"}
        assert drain(app, "q-reconcile-flow") == []
    assert (tmp_path / "src" / "IMG_0001.jpg").read_bytes() == PHOTO
