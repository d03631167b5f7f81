"""The time limits an ingest message is sent with follow its file's size (tasks/chain.py,
tasks/enqueue.py): read off the messages a real Celery app object puts on its in-memory queue."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from celery import Celery

from shared.jobs import FileJob
from shared.source import Entry
from tasks import runtime
from tasks.chain import ingest_chain
from tasks.enqueue import enqueue_batches
from tasks.ingest import ingest as ingest_task
from tests.tasks.task_calls import drain, memory_app

QUEUE = "limits"
GB = 1000**3


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Celery]:
    with memory_app(tmp_path, "limits-test", QUEUE, batch_files=2) as app:
        yield app


def sent(app: Celery) -> list[Any]:
    return drain(app, QUEUE)


def test_a_40_gb_video_gets_the_time_its_bytes_need_in_every_stage(app: Celery) -> None:
    # Given the defaults: task_time_limit 1,800 s, floor_rate 10 MB/s
    settings = app.mc_settings  # type: ignore[attr-defined]
    assert (settings.task_time_limit, settings.floor_rate) == (1800, 10_000_000)
    # When a 40 GB video and a 3 MB photo are sent as chains
    ingest_chain(app, FileJob("inbox", "big.mov", 40 * GB, 1)).apply_async()
    ingest_chain(app, FileJob("inbox", "small.jpg", 3_000_000, 1)).apply_async()
    # Then every stage of the video may run 1,800 s + 4,000 s (past the visibility timeout,
    # which the file's lease makes safe), the photo's 1,800 s + 1 s; soft limits 30 s earlier
    video, photo = sent(app)
    assert video.headers["timelimit"] == [5800, 5770]
    rest = [(step["task"], step["options"]["time_limit"], step["options"]["soft_time_limit"])
            for step in video.payload[2]["chain"]]
    assert sorted(rest) == sorted((f"mediacourier.{name}", 5800, 5770) for name in
                                  ("claim_content", "transfer_file", "verify_copy",
                                   "request_rescan", "record_outcome"))
    assert photo.headers["timelimit"] == [1801, 1771]


def test_a_batch_gets_three_reads_of_its_bytes(app: Celery) -> None:
    # Given three files found by a scan, batches of at most two files
    entries = [Entry(f"f{n}.jpg", size, 1, n, True)
               for n, size in enumerate((100_000_000, 50_000_000, 7))]
    # When they are sent as batches
    ctx = runtime.context_of(app)
    assert enqueue_batches(app, ctx, "inbox", entries) == 3
    # Then each batch may run the base plus hashing, copying and verifying all its bytes
    first, second = sent(app)
    assert first.headers["task"] == "mediacourier.ingest_batch"
    assert first.headers["timelimit"] == [1800 + 45, 1800 + 45 - 30]  # 3 x 150 MB at 10 MB/s
    assert second.headers["timelimit"] == [1801, 1771]


def test_the_manual_trigger_sends_limits_for_the_file_on_disk(app: Celery, tmp_path) -> None:
    # Given a 25 MB file in the source
    path = tmp_path / "src" / "clip.mp4"
    with path.open("wb") as stream:
        stream.truncate(25_000_000)
    # When `mediacourier.ingest` is called for it
    app.tasks[ingest_task.name].run(str(path))
    # Then its chain carries the limits of 25 MB
    (chain,) = sent(app)
    assert chain.headers["timelimit"] == [1803, 1773]

