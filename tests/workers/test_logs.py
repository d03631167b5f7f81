"""One log format for every process (workers/logs.py): tagged lines, one line per record, and
Celery's per-task lines and Flower's start-up noise only at DEBUG."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import fakeredis
import pytest
from celery.app import trace as celery_trace

from shared.state import RedisStateStore
from workers.logs import celery_process_tag, command_tag, configure_logging


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """configure_logging changes process-wide state: put the root logger back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name in ("celery.app.trace", "celery.worker.strategy", "flower.command",
                 "flower.inspector"):
        logging.getLogger(name).filters.clear()


def _log_as_a_worker(level: str) -> str:
    stream = io.StringIO()
    configure_logging("worker", level, stream=stream)
    context = {"name": "mediacourier.hash_file", "id": "abc", "runtime": 0.01,
               "return_value": {"source": "inbox", "rel_path": "IMG_1.jpg"}}
    logging.getLogger("celery.worker.strategy").info(celery_trace.LOG_RECEIVED, context)
    logging.getLogger("celery.app.trace").info(celery_trace.LOG_SUCCESS, context)
    logging.getLogger("celery.app.trace").info(celery_trace.LOG_RETRY,
                                               {**context, "exc": "RedisError('gone')"})
    logging.getLogger("flower.inspector").warning("Inspect method %s failed", "conf")
    logging.getLogger("flower.inspector").warning("Inspect method %s failed: %s", "conf",
                                                  "Connection refused")
    return stream.getvalue()


@pytest.mark.usefixtures("restore_logging")
def test_at_info_task_payloads_and_the_first_inspect_are_gone() -> None:
    # Given a worker logging at INFO
    # When Celery logs a task received, succeeded and retried, and Flower's inspect gets no reply
    output = _log_as_a_worker("INFO")
    # Then only the retry and the unreachable broker are shown, each on a tagged line
    lines = output.splitlines()
    assert len(lines) == 2, output
    assert "retry: RedisError('gone')" in lines[0]
    assert "failed: Connection refused" in lines[1]
    assert all(line.split()[2] == "worker" for line in lines), output
    assert "'rel_path'" not in output and "received" not in output


@pytest.mark.usefixtures("restore_logging")
def test_at_debug_the_payloads_are_back() -> None:
    output = _log_as_a_worker("DEBUG")
    assert "mediacourier.hash_file[abc] received" in output
    assert "succeeded in 0.01s: {'source': 'inbox', 'rel_path': 'IMG_1.jpg'}" in output
    assert "Inspect method conf failed\n" in output


@pytest.mark.usefixtures("restore_logging")
def test_a_newline_in_a_message_does_not_start_an_untagged_line() -> None:
    # Given a beat process's log
    stream = io.StringIO()
    configure_logging("beat", "INFO", stream=stream)
    # When a message holds a newline (a file name), and another comes with a traceback
    logging.getLogger("beat.scheduler").info("sent %s", "IMG\n1.jpg")
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("beat.scheduler").exception("tick failed")
    # Then the first is one line; the traceback stays below its line, indented
    first, second, *trace = stream.getvalue().splitlines()
    assert first.endswith("beat    INFO    beat.scheduler: sent IMG\\n1.jpg")
    assert second.endswith("beat    ERROR   beat.scheduler: tick failed")
    assert trace and all(line.startswith("    ") for line in trace)
    assert trace[-1].strip() == "ValueError: boom"


@pytest.mark.usefixtures("restore_logging")
def test_a_file_outcome_is_one_line_at_info(fake_redis: fakeredis.FakeRedis) -> None:
    # Given a worker logging at INFO
    stream = io.StringIO()
    configure_logging("worker", "INFO", stream=stream)
    store = RedisStateStore(fake_redis, "logs")
    # When a file's outcome is recorded, and a duplicate's, and a failure's
    store.finish("inbox", "2024/IMG_1.jpg", event="ingested", journal={
        "source": "inbox", "path": "2024/IMG_1.jpg", "library": "library",
        "dest": "2024/07/IMG_1.jpg", "bytes": 2_400_000, "seconds": "0.312"})
    store.finish("inbox", "IMG_2.jpg", event="duplicate", journal={
        "source": "inbox", "path": "IMG_2.jpg", "duplicate_of": "library:2024/07/IMG_1.jpg",
        "bytes": 2_400_000, "seconds": "0.020"})
    store.finish("inbox", "bad\n.jpg", event="failed", failure="unreadable", journal={
        "source": "inbox", "path": "bad\n.jpg", "reason": "unreadable", "seconds": "0.001"})
    store.journal("reconciled", source="inbox", scanned=3)
    # Then each is one line naming the file, where it went, its size and its time
    lines = [line.split(": ", 1)[1] for line in stream.getvalue().splitlines()]
    assert lines == [
        "inbox:2024/IMG_1.jpg → library:2024/07/IMG_1.jpg, 2.4 MB, 312 ms",
        "inbox:IMG_2.jpg duplicate of library:2024/07/IMG_1.jpg, 2.4 MB, 20 ms",
        "inbox:bad\\n.jpg failed: unreadable, 1 ms",
    ]
    assert " WARNING " in stream.getvalue().splitlines()[2]


def test_the_process_tag_comes_from_the_celery_command_line() -> None:
    assert celery_process_tag(["celery", "-A", "tasks", "worker", "-l", "INFO"]) == "worker"
    assert celery_process_tag(["/x/celery/__main__.py", "-A", "tasks", "beat"]) == "beat"
    assert celery_process_tag(["celery", "-A", "tasks", "flower", "--port=1"]) == "flower"
    assert celery_process_tag(["celery", "-A", "tasks", "inspect", "ping"]) == "celery"


def test_the_commands_up_starts_are_tagged_by_their_role() -> None:
    assert (command_tag("watch"), command_tag("metrics"), command_tag("sync")) == (
        "watcher", "metrics", "cli")
