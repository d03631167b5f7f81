"""`mediacourier queue` as a user runs it: a subprocess against a real redis-server holding
messages a real Celery app of the same configuration sent."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from celery import Celery

from shared.config import load_settings
from shared.jobs import FileJob
from tasks.app import create_app
from tasks.chain import ingest_chain
from tests.e2e.harness import Deployment
from tests.workers.cli_helpers import configure
from workers import exit_codes


@pytest.fixture
def app(dep: Deployment) -> Iterator[Celery]:
    configure(dep, **{"schedules.inbox": {"every": "1h"}})
    celery = create_app(load_settings(str(dep.config_path), env={}))
    yield celery
    celery.close()


def _queue_files(dep: Deployment, app: Celery, count: int) -> list[list[object]]:
    """`count` files in the source, marked in flight and sent as a reconcile sends them."""
    store, items = dep.store(), []
    for n in range(count):
        path = dep.folder("inbox") / f"IMG_{n:04d}.jpg"
        path.write_bytes(b"\xff\xd8 photo %d" % n)
        info = path.stat()
        store.mark_inflight("inbox", path.name, info.st_size, info.st_mtime_ns)
        items.append([path.name, info.st_size, info.st_mtime_ns])
    for start in range(0, count, 64):
        app.send_task("mediacourier.ingest_batch", args=["inbox", items[start:start + 64]])
    return items


def test_queue_lists_what_waits_by_priority_in_a_table_and_as_json(
        dep: Deployment, app: Celery) -> None:
    # Given 130 files of a reconcile waiting in three batches, and one live file's chain
    _queue_files(dep, app, 130)
    (dep.folder("inbox") / "new.jpg").write_bytes(b"\xff\xd8 new")
    ingest_chain(app, FileJob("inbox", "new.jpg", 7, 1)).apply_async()
    # When `mediacourier queue` runs, and `queue --json`
    table = dep.run_cli("queue")
    as_json = dep.run_cli("queue", "--json")
    # Then both show the live lane ahead of the reconcile lane, with their counts
    assert table.returncode == 0, table.stderr
    lines = [line.split() for line in table.stdout.splitlines()]
    assert [dep.prefix, "live", "(3)", "inbox", "hash_file", "1", "1"] in [
        line[:7] for line in lines]
    assert [dep.prefix, "reconcile", "(6)", "inbox", "ingest_batch", "3", "130"] in [
        line[:7] for line in lines]
    assert "131 files" in table.stdout
    data = json.loads(as_json.stdout)
    assert [(r["lane"], r["task"], r["files"]) for r in data["waiting"]] == [
        ("live", "mediacourier.hash_file", 1), ("reconcile", "mediacourier.ingest_batch", 130)]


def test_clear_drops_a_source_s_waiting_files_and_says_when_they_come_back(
        dep: Deployment, app: Celery) -> None:
    # Given 1,204 waiting files of source inbox, its last reconcile 18 minutes ago (every 1h)
    _queue_files(dep, app, 1204)
    store = dep.store()
    store.client.xadd(store.key("journal"), {"event": "reconciled", "source": "inbox"},
                      id=f"{int((time.time() - 18 * 60) * 1000)}-0")
    # When the user clears the source
    done = dep.run_cli("queue", "--clear", "inbox")
    # Then it says what it dropped and when the files come back; nothing waits any more
    assert done.returncode == exit_codes.OK, done.stderr
    assert "dropped 1,204 waiting files of source inbox (19 messages); the next reconcile " \
        "(in 42 min) picks them up again" in done.stdout
    assert json.loads(dep.run_cli("queue", "--json").stdout)["total_files"] == 0
    assert store.inflight() == {}
    # … and every file is still in the source
    assert len(list(dep.folder("inbox").iterdir())) == 1204


def test_clear_of_an_unknown_source_is_one_line_with_a_suggestion(
        dep: Deployment, app: Celery) -> None:
    _queue_files(dep, app, 3)
    done = dep.run_cli("queue", "--clear", "inbx")
    assert done.returncode == exit_codes.CONFIG
    assert done.stderr.strip() == ("mediacourier: no source named 'inbx'; did you mean "
                                   "'inbox'? (configured: inbox)")
    assert json.loads(dep.run_cli("queue", "--json").stdout)["total_files"] == 3
