"""What waits in the queues and dropping a source's waiting work (shared/state/queues.py), with
messages a real Celery app sent to the real redis-server: its lists, leases, records, markers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery

from shared.config import Settings, build_settings
from shared.jobs import FileJob
from shared.source import plan_source, plan_sweep
from shared.state import (
    FileRecord,
    RedisStateStore,
    clear_source,
    file_lease_name,
    priority_lists,
    read_queues,
)
from shared.state.messages import UNACKED, UNACKED_INDEX
from tasks.app import create_app
from tasks.chain import ingest_chain

OPEN: list[Any] = []


def _settings(tmp_path: Path, redis_url: str, prefix: str) -> Settings:
    for name in ("src", "src2", "lib"):
        (tmp_path / name).mkdir(exist_ok=True)
    return build_settings({"redis_url": redis_url, "key_prefix": prefix,
                           "sources": {"cam": {"path": str(tmp_path / "src"), "library": "lib"},
                                       "phone": {"path": str(tmp_path / "src2"),
                                                 "library": "lib"}},
                           "libraries": {"lib": {"path": str(tmp_path / "lib")}}},
                          None, tmp_path)


@pytest.fixture
def settings(tmp_path: Path, redis_url: str, key_prefix: str) -> Settings:
    return _settings(tmp_path, redis_url, key_prefix)


@pytest.fixture
def app(settings: Settings, key_prefix: str, redis_client: redis.Redis) -> Iterator[Celery]:
    celery = create_app(settings)
    yield celery
    while OPEN:
        OPEN.pop().close()
    redis_client.delete(*priority_lists(key_prefix), UNACKED, UNACKED_INDEX)
    celery.close()


@pytest.fixture
def store(redis_url: str, key_prefix: str) -> RedisStateStore:
    return RedisStateStore.from_url(redis_url, key_prefix)


def _file(settings: Settings, source: str, rel: str, store: RedisStateStore) -> list[Any]:
    """A real file in the source, marked in flight as the enqueuer does: its batch item."""
    path = settings.sources[source].path / rel
    path.write_bytes(b"\xff\xd8 photo " + rel.encode())
    info = path.stat()
    assert store.mark_inflight(source, rel, info.st_size, info.st_mtime_ns)
    return [rel, info.st_size, info.st_mtime_ns]


def _job(item: list[Any], source: str = "cam") -> FileJob:
    rel, size, mtime = item
    return FileJob(source, rel, size, mtime, queued_version=f"{size}:{mtime}")


def test_the_waiting_work_is_counted_by_lane_source_and_task(
        app: Celery, settings: Settings, store: RedisStateStore, key_prefix: str) -> None:
    # Given a reconcile's batch of two files, a live file's chain and a mirror run waiting,
    # the batch queued a minute ago
    batch = [_file(settings, "cam", f"b{n}.jpg", store) for n in range(2)]
    live = _file(settings, "phone", "live.jpg", store)
    store.touch_inflight([f"cam\0{r}\0{s}\0{m}" for r, s, m in batch], time.time() - 60)
    app.send_task("mediacourier.ingest_batch", args=["cam", batch])
    ingest_chain(app, _job(live, "phone")).apply_async()
    app.send_task("mediacourier.mirror", args=["offsite"])
    # When the queues are read
    report = read_queues(store, [key_prefix], time.time()).to_json()
    # Then each lane shows its work, and the batch's wait is its files' minute
    rows = {(r["lane"], r["source"], r["task"]): (r["messages"], r["files"])
            for r in report["waiting"]}
    assert rows == {("live", "phone", "mediacourier.hash_file"): (1, 1),
                    ("reconcile", "cam", "mediacourier.ingest_batch"): (1, 2),
                    ("bulk", "offsite", "mediacourier.mirror"): (1, 0)}
    oldest = {r["lane"]: r["seconds"] for r in report["oldest"]}
    assert 59 <= oldest["reconcile"] < 120 and oldest["live"] < 30
    assert report["total_files"] == 3
    # … and reading took nothing from the queues
    assert sum(store.client.llen(n) for n in priority_lists(key_prefix)) == 3


def test_clearing_drops_only_the_source_s_work_from_before_its_copies(
        app: Celery, settings: Settings, store: RedisStateStore, key_prefix: str) -> None:
    # Given, of source cam: a batch, a chain's first stage, a chain at transfer_file (claimed:
    # its copy may be under way), a batch whose file a worker holds, a batch of a file copied
    # and verified; a reconcile of cam and a mirror that happens to be named cam; and a batch
    # of source phone
    batch = [_file(settings, "cam", f"b{n}.jpg", store) for n in range(3)]
    app.send_task("mediacourier.ingest_batch", args=["cam", batch])
    chained = _file(settings, "cam", "chained.jpg", store)
    ingest_chain(app, _job(chained)).apply_async()
    copying = _file(settings, "cam", "copying.jpg", store)
    app.send_task("mediacourier.transfer_file", args=[_job(copying).to_dict()])
    busy = _file(settings, "cam", "busy.jpg", store)
    app.send_task("mediacourier.ingest_batch", args=["cam", [busy]])
    verified = _file(settings, "cam", "verified.jpg", store)
    store.put_record("cam", "verified.jpg", FileRecord(verified[1], verified[2],
                                                       state="verified"))
    app.send_task("mediacourier.ingest_batch", args=["cam", [verified]])
    other = _file(settings, "phone", "other.jpg", store)
    app.send_task("mediacourier.ingest_batch", args=["phone", [other]])
    app.send_task("mediacourier.reconcile", args=["cam"])
    app.send_task("mediacourier.mirror", args=["cam"])
    leases = store.acquire_many([file_lease_name("cam", "busy.jpg")], ttl=30)
    try:
        # When source cam is cleared
        report = clear_source(store, [key_prefix], "cam")
    finally:
        store.release_many(leases)
    # Then the batch and the first stage are gone with their markers: 4 files, 2 messages,
    # and the waiting reconcile (run now, it would queue them again at once)
    assert (report.dropped_files, report.dropped_messages) == (4, 2)
    assert report.dropped_reconciles == 1
    assert dict(report.kept) == {
        "mediacourier.transfer_file (its copy may be under way)": 1,
        "a worker holds one of its files": 1,
        "copied and verified, its outcome not recorded yet": 1}
    left = read_queues(store, [key_prefix], time.time()).to_json()["waiting"]
    assert {(r["source"], r["task"], r["files"]) for r in left} == {
        ("cam", "mediacourier.transfer_file", 1), ("cam", "mediacourier.ingest_batch", 2),
        ("phone", "mediacourier.ingest_batch", 1), ("cam", "mediacourier.mirror", 0)}
    markers = {key.split("\0")[1] for key in store.inflight()}
    assert markers == {"copying.jpg", "busy.jpg", "verified.jpg", "other.jpg"}
    # … the files are all still in the source, and the journal says what was dropped
    assert sorted(p.name for p in settings.sources["cam"].path.iterdir()) == [
        "b0.jpg", "b1.jpg", "b2.jpg", "busy.jpg", "chained.jpg", "copying.jpg", "verified.jpg"]
    entry = store.read_journal(10)[-1]
    assert (entry["event"], entry["source"], entry["files"]) == ("queue-cleared", "cam", "4")


def test_a_message_a_worker_took_is_not_touched(
        app: Celery, settings: Settings, store: RedisStateStore, key_prefix: str) -> None:
    # Given a batch a worker took (kombu's unacked hash) and one still waiting
    taken = _file(settings, "cam", "taken.jpg", store)
    app.send_task("mediacourier.ingest_batch", args=["cam", [taken]])
    connection = app.connection_for_read()
    OPEN.append(connection)
    assert connection.SimpleQueue(key_prefix, no_ack=False).get(timeout=5) is not None
    waiting = _file(settings, "cam", "waiting.jpg", store)
    app.send_task("mediacourier.ingest_batch", args=["cam", [waiting]])
    # When the source is cleared
    report = clear_source(store, [key_prefix], "cam")
    # Then only the waiting one went; the taken one is still delivered, its marker kept
    assert report.dropped_files == 1
    assert store.client.hlen(UNACKED) == 1
    assert read_queues(store, [key_prefix], time.time()).delivered == 1
    assert [key.split("\0")[1] for key in store.inflight()] == ["taken.jpg"]


def test_dropped_files_wait_for_the_next_reconcile_not_the_sweeper(
        app: Celery, settings: Settings, store: RedisStateStore, key_prefix: str) -> None:
    # Given a cleared batch of two files
    batch = [_file(settings, "cam", f"b{n}.jpg", store) for n in range(2)]
    app.send_task("mediacourier.ingest_batch", args=["cam", batch])
    assert clear_source(store, [key_prefix], "cam").dropped_files == 2
    # When the in-flight sweeper looks, long after the in-flight timeout
    sweep = plan_sweep(store, settings, time.time() + 3600, lambda: set())
    # Then it has nothing to send again: the work stopped
    assert sweep.resend == {} and sweep.markers == 0
    # … and the next reconcile finds both files to ingest
    plan = plan_source(store, settings.sources["cam"], stale_after=600, now=time.time() + 60)
    assert sorted(e.rel_path for e in plan.to_ingest) == ["b0.jpg", "b1.jpg"]
