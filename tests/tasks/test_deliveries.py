"""tasks.deliveries: the one delivery counter, on the real tasks of a Celery app object (in-memory
broker, whose queue the tests read) and a fake Redis store, without a worker process.

A delivery whose process dies never ends; in-process that is a task left by SystemExit, which
is how Celery sees a pool process going away mid-task (it re-queues the message)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fakeredis
import pytest
from celery import Celery, Task
from celery.exceptions import Reject, Retry, SoftTimeLimitExceeded, TimeLimitExceeded
from celery.signals import task_failure

from shared.config import build_settings
from shared.errors import FileBusy
from shared.ingest import Context
from shared.jobs import FileJob, Outcome
from shared.state import RedisStateStore
from tasks import ingest, maintenance, runtime
from tasks.deliveries import MAX_DELIVERIES
from tests.tasks.task_calls import drain

QUEUE = "q"


@dataclass
class Rig:
    app: Celery
    ctx: Context
    src: Path
    ran: list[str] = field(default_factory=list)

    def task(self, name: str) -> Task:
        return self.app.tasks[f"mediacourier.{name}"]

    def queued(self) -> list[Any]:
        """The messages sent, taken off the in-memory queue."""
        return drain(self.app, QUEUE)

    def journal(self, event: str) -> list[dict[str, str]]:
        return [e for e in self.ctx.store.read_journal(1000) if e["event"] == event]


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    (tmp_path / "src").mkdir()
    (tmp_path / "lib").mkdir()
    settings = build_settings({
        "sources": {"inbox": {"path": str(tmp_path / "src"), "library": "main"}},
        "libraries": {"main": {"path": str(tmp_path / "lib")}},
        "max_retries": 2, "task_time_limit": 60, "floor_rate": "1MB/s", "lease_seconds": 1,
    }, None, tmp_path)
    app = Celery("deliveries-test", broker="memory://", backend="cache+memory://")
    app.conf.task_default_queue = QUEUE
    app.mc_settings = settings  # type: ignore[attr-defined]
    ctx = Context(settings, RedisStateStore(fakeredis.FakeRedis(decode_responses=True), "dt"))
    runtime.use_context(app, ctx)
    rig = Rig(app, ctx, tmp_path / "src")
    rig.queued()  # the in-memory broker is per process: start from an empty queue
    yield rig
    runtime._contexts.pop(id(app))  # noqa: SLF001


def deliver(task: Task, *args: Any, task_id: str = "t-1", retries: int = 0,
            timelimit: tuple[int, int] | None = None) -> Any:
    """Run `task` as a worker would run one delivery of its message."""
    task.push_request(id=task_id, retries=retries, args=list(args), kwargs={},
                      called_directly=False, timelimit=timelimit,
                      delivery_info={"routing_key": QUEUE, "exchange": ""})
    try:
        return task.run(*args)
    finally:
        task.pop_request()


def stub_stage(monkeypatch: pytest.MonkeyPatch, rig: Rig,
               error: BaseException | None = None) -> None:
    def fake_run_stage(name: str, job: FileJob, ctx: Context) -> FileJob:
        rig.ran.append(name)
        if error is not None:
            raise error
        return job.evolve(reason=f"{name} ran")

    monkeypatch.setattr(ingest, "run_stage", fake_run_stage)


JOB = FileJob("inbox", "IMG_0001.JPG", 10, 1)


def die(task: Task, *args: Any, **request: Any) -> None:
    """One delivery whose process goes away in the middle of it."""
    with pytest.raises(SystemExit):
        deliver(task, *args, **request)


def test_deliveries_that_end_never_add_up(rig, monkeypatch) -> None:
    # Given a stage that runs to its end, or ends retrying (a busy file)
    stub_stage(monkeypatch, rig)
    transfer = rig.task("transfer_file")
    # When the same message is delivered far more often than MAX_DELIVERIES
    for _ in range(MAX_DELIVERIES * 2):
        assert deliver(transfer, JOB.to_dict())["reason"] == "transfer_file ran"
    stub_stage(monkeypatch, rig, FileBusy("being written"))
    with pytest.raises(Retry):
        deliver(transfer, JOB.to_dict())
    # Then every delivery ran the stage: ending is not dying
    assert rig.ran == ["transfer_file"] * (MAX_DELIVERIES * 2 + 1)


def test_deaths_count_per_file_version_across_messages(rig, monkeypatch) -> None:
    # Given a stage whose process died MAX_DELIVERIES times, each time in a new message (the
    # in-flight sweeper sends a file again as a new one)
    stub_stage(monkeypatch, rig, SystemExit(1))
    transfer = rig.task("transfer_file")
    for n in range(MAX_DELIVERIES):
        die(transfer, JOB.to_dict(), task_id=f"sent-{n}")
    # When the file comes once more, in yet another message
    stub_stage(monkeypatch, rig)
    result = deliver(transfer, JOB.to_dict(), task_id="sent-again")
    # Then it fails with the reason and the stage does not run; another version is not held up
    assert result["outcome"] == Outcome.FAILED.value
    assert result["reason"] == ("transfer_file: delivered too many times; it may crash workers "
                                f"({MAX_DELIVERIES} deliveries never finished)")
    assert rig.ran == ["transfer_file"] * MAX_DELIVERIES
    newer = JOB.evolve(mtime_ns=2)
    assert deliver(transfer, newer.to_dict(), task_id="newer")["reason"] == "transfer_file ran"


def test_a_soft_time_limit_is_tried_again_then_fails_the_file(rig, monkeypatch) -> None:
    # Given a transfer that runs into its soft time limit every time (a share that stalls)
    stub_stage(monkeypatch, rig, SoftTimeLimitExceeded())
    transfer = rig.task("transfer_file")
    # When it is delivered: the message goes back to the queue, MAX_DELIVERIES - 1 times
    for _ in range(MAX_DELIVERIES - 1):
        with pytest.raises(Reject) as rejected:
            deliver(transfer, JOB.to_dict(), timelimit=(70, 40))
        assert rejected.value.requeue
    # Then the next time it ran out too, the file fails with the reason
    result = deliver(transfer, JOB.to_dict(), timelimit=(70, 40))
    assert result["outcome"] == Outcome.FAILED.value
    assert result["reason"] == (f"transfer_file: exceeded its time limit (70 s) "
                                f"{MAX_DELIVERIES} times")
    assert rig.ran == ["transfer_file"] * MAX_DELIVERIES


def test_a_hard_time_limit_counted_in_the_main_process_fails_the_file(rig, monkeypatch) -> None:
    # Given a transfer killed by its hard time limit MAX_DELIVERIES times: the pool process
    # dies in it, and the worker's main process reports it as Celery does (task_failure with
    # TimeLimitExceeded, the task's args)
    stub_stage(monkeypatch, rig, SystemExit(1))
    transfer = rig.task("transfer_file")
    for _ in range(MAX_DELIVERIES):
        die(transfer, JOB.to_dict(), timelimit=(70, 40))
        task_failure.send(sender=transfer, task_id="t-1", exception=TimeLimitExceeded(70),
                          args=[JOB.to_dict()], kwargs={}, traceback=None, einfo=None)
    # When it is delivered once more
    result = deliver(transfer, JOB.to_dict(), timelimit=(70, 40))
    # Then the file fails with the time-limit reason, without running the stage again
    assert result["outcome"] == Outcome.FAILED.value
    assert result["reason"] == (f"transfer_file: exceeded its time limit (70 s) "
                                f"{MAX_DELIVERIES} times")
    assert rig.ran == ["transfer_file"] * MAX_DELIVERIES


def files(rig: Rig, count: int) -> list[list[Any]]:
    items = []
    for n in range(count):
        path = rig.src / f"IMG_{n:04d}.JPG"
        path.write_bytes(b"x" * (1000 * (n + 1)))
        info = path.stat()
        items.append([path.name, info.st_size, info.st_mtime_ns])
    return items


def test_a_batch_whose_delivery_died_goes_on_as_one_chain_per_file(rig, monkeypatch) -> None:
    # Given a batch of three files whose first delivery died in the middle of it
    items = files(rig, 3)
    batch = rig.task("ingest_batch")
    runs: list[int] = []

    def dying_batch(jobs: list[FileJob], *_: Any) -> None:
        runs.append(len(jobs))
        raise SystemExit(1)

    monkeypatch.setattr(ingest, "ingest_many", dying_batch)
    with pytest.raises(SystemExit):
        deliver(batch, "inbox", items, task_id="b-1")
    rig.queued()
    # When the batch is delivered again
    result = deliver(batch, "inbox", items, task_id="b-1")
    # Then it is not run as a whole: each file is sent as its own chain, after a lease, with
    # its own size's time limits, and the split is journaled
    assert runs == [3]
    assert result == {"split": 3}
    sent = rig.queued()
    assert [m.headers["task"] for m in sent] == ["mediacourier.hash_file"] * 3
    assert [m.payload[0][0]["rel_path"] for m in sent] == [item[0] for item in items]
    assert [m.headers["timelimit"] for m in sent] == [[61, 54], [61, 54], [61, 54]]
    assert all(m.headers["eta"] for m in sent)
    split = rig.journal("batch-split")
    assert [(e["files"], e["reason"]) for e in split] == [("3", "after a worker that died")]


def test_a_batch_past_its_soft_time_limit_sends_the_rest_as_chains(rig, monkeypatch) -> None:
    # Given a batch that ingests its first file and then runs into its soft time limit
    items = files(rig, 3)

    def slow_batch(jobs: list[FileJob], ctx: Context, settle: Any, *_: Any) -> None:
        settle(jobs[0], jobs[0].evolve(outcome=Outcome.INGESTED))
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(ingest, "ingest_many", slow_batch)
    # When it is delivered
    result = deliver(rig.task("ingest_batch"), "inbox", items, task_id="b-2")
    # Then the two files it did not get to go on as chains of their own; the batch ends
    assert result == {"ingested": 1, "split": 2}
    assert [m.payload[0][0]["rel_path"] for m in rig.queued()] == [items[1][0], items[2][0]]


def test_a_reconcile_that_keeps_killing_its_worker_is_refused(rig, monkeypatch) -> None:
    # Given a reconcile whose walk killed its worker MAX_DELIVERIES times
    def dying_walk(*_: Any) -> dict[str, int]:
        raise SystemExit(1)

    monkeypatch.setattr(maintenance, "reconcile_source", dying_walk)
    reconcile = rig.task("reconcile")
    for _ in range(MAX_DELIVERIES):
        die(reconcile, "inbox", task_id="r-1")
    # When the message comes once more
    with pytest.raises(Reject) as rejected:
        deliver(reconcile, "inbox", task_id="r-1")
    # Then it is rejected for good (not re-queued), with the reason in the journal
    assert not rejected.value.requeue
    assert "delivered too many times; it may crash workers" in str(rejected.value.reason)
    poison = rig.journal("poison")
    assert [(e["task"], e["task_id"]) for e in poison] == [("mediacourier.reconcile", "r-1")]
