"""Flower's task list names the file: every message of a file's chain (and of a batch) carries
`shadow` (the shown name) and `argsrepr` (the shown arguments) naming `source:rel_path`, while
the task's own name stays what routes and runs it. Read off the messages a real Celery app puts
on its in-memory queue; tests/e2e/test_logs.py checks what a real worker announces."""

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
from tests.tasks.task_calls import drain, memory_app

QUEUE = "names"


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Celery]:
    with memory_app(tmp_path, "names-test", QUEUE, batch_files=40) as app:
        yield app


def sent(app: Celery) -> list[Any]:
    return drain(app, QUEUE)


def test_every_stage_of_a_chain_is_shown_with_its_file(app: Celery) -> None:
    # Given a photo's chain
    ingest_chain(app, FileJob("inbox", "2024/IMG_1.jpg", 2_000, 1)).apply_async()
    # When its first message is on the queue
    (message,) = sent(app)
    # Then it runs mediacourier.hash_file, and is shown as that stage and the file
    assert message.headers["task"] == "mediacourier.hash_file"
    assert message.headers["shadow"] == "mediacourier.hash_file inbox:2024/IMG_1.jpg"
    assert message.headers["argsrepr"] == "inbox:2024/IMG_1.jpg"
    # … and each later stage, sent by the worker from the chain, carries its own name too
    later = [(step["task"], step["options"]["shadow"], step["options"]["argsrepr"])
             for step in reversed(message.payload[2]["chain"])]
    assert later == [(f"mediacourier.{stage}", f"mediacourier.{stage} inbox:2024/IMG_1.jpg",
                      "inbox:2024/IMG_1.jpg")
                     for stage in ("claim_content", "transfer_file", "verify_copy",
                                   "request_rescan", "record_outcome")]


def test_a_name_with_a_newline_is_shown_on_one_line(app: Celery) -> None:
    # Given a file whose name holds a newline and an escape character
    ingest_chain(app, FileJob("inbox", "a\nb\x1b[31m.jpg", 10, 1)).apply_async()
    # Then its shown name escapes them
    (message,) = sent(app)
    assert message.headers["argsrepr"] == "inbox:a\\nb\\x1b[31m.jpg"
    # … while the job itself keeps the real name
    assert message.payload[0][0]["rel_path"] == "a\nb\x1b[31m.jpg"


def test_a_batch_is_shown_by_its_first_file_and_count(app: Celery) -> None:
    # Given 41 files found by a scan, batches of at most 40
    entries = [Entry(f"2024/IMG_{n}.jpg", 10, 1, n, True) for n in range(41)]
    # When they are sent as batches
    assert enqueue_batches(app, runtime.context_of(app), "inbox", entries) == 41
    # Then each batch names its first file and how many follow it
    first, second = sent(app)
    assert first.headers["task"] == "mediacourier.ingest_batch"
    assert first.headers["argsrepr"] == "inbox:2024/IMG_0.jpg +39 files"
    assert first.headers["shadow"] == "mediacourier.ingest_batch inbox:2024/IMG_0.jpg +39 files"
    assert second.headers["argsrepr"] == "inbox:2024/IMG_40.jpg"
