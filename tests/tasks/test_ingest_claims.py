"""tasks.ingest.run_stage_task and content claims: a twin waits for the holder like paused work
(re-sent, no retry used up, never "delivered too many times"), and each later stage of the
holder renews its claim's lease. On the Celery app object of test_ingest_gates (in-memory
broker, fake Redis), without a worker process."""

from __future__ import annotations

import pytest
from celery.exceptions import Retry

from shared.errors import ContentClaimed, WorkPaused
from shared.jobs import Outcome
from tasks.ingest import MAX_DELIVERIES
from tests.tasks.test_ingest_gates import JOB, rig, run, stub_stage

__all__ = ["rig"]
SHA = "d" * 64


def test_a_twin_waits_for_the_holder_without_using_up_retries(rig, monkeypatch) -> None:
    stage, ctx, sent = rig
    stub_stage(monkeypatch, sent, ContentClaimed("same bytes are being imported by cam/a", 3.0))
    # When the claim stage of a twin is delivered, already at its last retry (max_retries 2),
    # and then again and again while the holder is slow (more often than MAX_DELIVERIES)
    for _ in range(MAX_DELIVERIES + 2):
        with pytest.raises(Retry) as raised:
            run(stage, "claim_content", JOB, retries=2, task_id="twin")
    # Then every time it is sent again 3 s later with its retry count unchanged: it neither
    # fails nor counts as a message that crashes workers
    assert isinstance(raised.value.exc, WorkPaused)
    assert "being imported by cam/a" in str(raised.value.exc)
    assert [(o["retries"], o["countdown"]) for o in sent.resent] == [(2, 3.0)] * (
        MAX_DELIVERIES + 2)
    assert ctx.store.failures() == []


def test_each_later_stage_of_the_holder_renews_its_claim(rig, monkeypatch) -> None:
    stage, ctx, sent = rig
    stub_stage(monkeypatch, sent)
    # Given a claimed job whose lease is about to run out
    job = JOB.evolve(sha256=SHA, outcome=Outcome.CLAIMED)
    ctx.store.claim_content(SHA, job.owner, lease=5)
    # When its transfer stage runs
    run(stage, "transfer_file", job)
    # Then its lease runs a visibility timeout from now
    entry = ctx.store.content(SHA)
    assert entry is not None and entry.owner == job.owner
    now = ctx.store.server_time()
    assert entry.lease_until == pytest.approx(now + ctx.settings.visibility_timeout, abs=5)
    assert sent.stages == ["transfer_file"]
