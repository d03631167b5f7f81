"""tasks.ingest.run_stage_task: the gates in front of every stage, on a real Celery app object
(in-memory broker) and a fake Redis store, without a worker process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fakeredis
import pytest
from celery import Celery
from celery.exceptions import Retry

from shared.config import build_settings
from shared.errors import FileBusy, WorkPaused
from shared.ingest import Context
from shared.jobs import FileJob, Outcome
from shared.state import RedisStateStore
from shared.state.full_hold import hold_target_full
from tasks import ingest, runtime
from tasks.ingest import MAX_DELIVERIES, run_stage_task


class Sent:
    """What the task sent again (a paused task re-sends itself) and what ran."""

    def __init__(self) -> None:
        self.resent: list[dict[str, Any]] = []
        self.stages: list[str] = []


@pytest.fixture
def rig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Context, Sent]]:
    (tmp_path / "src").mkdir()
    (tmp_path / "lib").mkdir()
    settings = build_settings({
        "sources": {"inbox": {"path": str(tmp_path / "src"), "library": "main"}},
        "libraries": {"main": {"path": str(tmp_path / "lib")}},
        "max_retries": 2,
    }, None, tmp_path)
    app = Celery("gates-test", broker="memory://", backend="cache+memory://")
    app.mc_settings = settings  # type: ignore[attr-defined]
    ctx = Context(settings, RedisStateStore(fakeredis.FakeRedis(decode_responses=True), "gt"))
    runtime.use_context(app, ctx)
    sent = Sent()

    @app.task(bind=True, name="mediacourier.test_stage")
    def stage(self: Any, name: str, data: dict[str, Any]) -> dict[str, Any]:
        return run_stage_task(self, name, data)

    def recording_apply_async(*_: Any, **options: Any) -> None:
        sent.resent.append(options)

    monkeypatch.setattr(stage, "apply_async", recording_apply_async)
    yield stage, ctx, sent
    runtime._contexts.pop(id(app))  # noqa: SLF001


def run(stage: Any, name: str, job: FileJob, retries: int = 0, task_id: str = "t-1") -> Any:
    stage.push_request(id=task_id, retries=retries, args=[name, job.to_dict()], kwargs={},
                       called_directly=False,
                       delivery_info={"routing_key": "q", "exchange": ""})
    try:
        return stage.run(name, job.to_dict())
    finally:
        stage.pop_request()


def stub_stage(monkeypatch: pytest.MonkeyPatch, sent: Sent,
               error: BaseException | None = None) -> None:
    def fake_run_stage(name: str, job: FileJob, ctx: Context) -> FileJob:
        sent.stages.append(name)
        if error is not None:
            raise error
        return job.evolve(reason=f"{name} ran")

    monkeypatch.setattr(ingest, "run_stage", fake_run_stage)


JOB = FileJob("inbox", "IMG_0001.JPG", 10, 1)


def test_a_paused_source_sends_the_message_again_and_runs_nothing(rig, monkeypatch) -> None:
    stage, ctx, sent = rig
    stub_stage(monkeypatch, sent)
    # Given the file's source is paused
    ctx.store.set_paused("source", "inbox", True)
    # When its hash stage is delivered, as retry number 1
    with pytest.raises(Retry) as raised:
        run(stage, "hash_file", JOB, retries=1)
    # Then it waits (WorkPaused), re-sent with the same retry count, and the stage never ran
    assert isinstance(raised.value.exc, WorkPaused)
    assert [options["retries"] for options in sent.resent] == [1]
    assert sent.stages == []


def test_recording_goes_on_while_the_source_is_paused(rig, monkeypatch) -> None:
    stage, ctx, sent = rig
    stub_stage(monkeypatch, sent)
    ctx.store.set_paused("source", "inbox", True)
    # When the last stage, record_outcome, is delivered
    result = run(stage, "record_outcome", JOB)
    # Then it runs: a file already copied is written down, not held
    assert sent.stages == ["record_outcome"] and result["reason"] == "record_outcome ran"
    assert sent.resent == []


def test_a_full_library_holds_only_the_transfer(rig, monkeypatch) -> None:
    stage, ctx, sent = rig
    stub_stage(monkeypatch, sent)
    # Given the library is held full and this window's one trial is already taken
    hold_target_full(ctx.store, "main", "no space left")
    assert ctx.store.take_full_trial("main", 60)
    # When hash_file and then transfer_file are delivered
    run(stage, "hash_file", JOB)
    with pytest.raises(Retry) as raised:
        run(stage, "transfer_file", JOB)
    # Then hashing ran and the transfer waits for space, re-sent, without using a retry
    assert sent.stages == ["hash_file"]
    assert isinstance(raised.value.exc, WorkPaused) and "full" in str(raised.value.exc)
    assert [options["retries"] for options in sent.resent] == [0]


def test_the_transfer_that_wins_the_trial_lifts_the_hold(rig, monkeypatch) -> None:
    stage, ctx, sent = rig
    stub_stage(monkeypatch, sent)
    hold_target_full(ctx.store, "main", "no space left")
    # When a transfer is delivered while nobody holds the trial (and the disk has room)
    run(stage, "transfer_file", JOB)
    # Then it ran as the trial and, having fitted, lifted the hold
    assert sent.stages == ["transfer_file"]
    assert ctx.store.full_entry("main") is None


def test_a_message_delivered_too_often_fails_the_file(rig, monkeypatch) -> None:
    stage, ctx, sent = rig
    # Given the same attempt was delivered MAX_DELIVERIES times and each crashed its worker
    # (SystemExit: the process going away mid-task, which Celery re-queues as a lost worker)
    stub_stage(monkeypatch, sent, SystemExit(1))
    for _ in range(MAX_DELIVERIES):
        with pytest.raises(SystemExit):
            run(stage, "hash_file", JOB, task_id="poison")
    # When it is delivered once more
    stub_stage(monkeypatch, sent)
    result = run(stage, "hash_file", JOB, task_id="poison")
    # Then the file fails with the reason instead of running again
    assert result["outcome"] == Outcome.FAILED.value
    assert "delivered too many times" in result["reason"]
    assert len(sent.stages) == MAX_DELIVERIES


def test_a_retryable_error_retries_until_the_retries_run_out(rig, monkeypatch) -> None:
    stage, ctx, sent = rig
    stub_stage(monkeypatch, sent, FileBusy("IMG_0001.JPG is being written"))
    # When a stage hits a retryable error with retries left
    with pytest.raises(Retry):
        run(stage, "transfer_file", JOB, retries=1)
    # Then it retries; at max_retries (2) the file fails with the last error instead
    result = run(stage, "transfer_file", JOB, retries=2)
    assert result["outcome"] == Outcome.FAILED.value
    assert result["reason"].startswith("gave up after 2 retries: ")
    assert "being written" in result["reason"]


def test_an_unexpected_error_fails_the_file_not_the_worker(rig, monkeypatch) -> None:
    stage, ctx, sent = rig
    stub_stage(monkeypatch, sent, KeyError("surprise"))
    result = run(stage, "verify_copy", JOB)
    assert result["outcome"] == Outcome.FAILED.value
    assert result["reason"].startswith("internal error in verify_copy: KeyError")
