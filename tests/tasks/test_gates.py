"""tasks.gates: a paused task sends itself again, later, without counting a retry."""

from __future__ import annotations

from typing import Any

import pytest
from celery import Celery
from celery.exceptions import Retry

from shared.errors import WorkPaused
from shared.state.pause import Hold
from tasks.gates import wait_while_paused


def test_a_held_task_is_sent_again_with_the_same_id_chain_and_retry_count() -> None:
    # Given a task running as retry number 3, with the rest of a chain behind it
    app = Celery("hold-test", broker="memory://", backend="cache+memory://")
    sent: list[dict[str, Any]] = []

    @app.task(bind=True, name="t.stage")
    def stage(self, job: dict) -> None:  # noqa: ANN001
        wait_while_paused(self, Hold("source 'phone' is paused", 7.0))

    original = stage.apply_async

    def recording_apply_async(*args: Any, **options: Any) -> Any:
        sent.append(options)
        return original(*args, **options)

    stage.apply_async = recording_apply_async  # type: ignore[method-assign]
    request = {"id": "job-1", "retries": 3, "chain": [{"task": "t.next"}],
               "delivery_info": {"routing_key": "q", "exchange": ""}}
    stage.push_request(**request, args=[{"source": "phone"}], kwargs={})
    try:
        # When the hold says wait 7 s, Then the task ends with Retry carrying WorkPaused …
        with pytest.raises(Retry) as raised:
            stage.run({"source": "phone"})
    finally:
        stage.pop_request()
    assert isinstance(raised.value.exc, WorkPaused)
    assert raised.value.when == 7.0
    # … after sending the same message again: same id, same chain, retry count still 3
    assert len(sent) == 1
    options = sent[0]
    assert options["countdown"] == 7.0 and options["task_id"] == "job-1"
    assert options["retries"] == 3 and options["chain"] == [{"task": "t.next"}]


def test_no_hold_means_the_task_just_runs() -> None:
    app = Celery("hold-test-2", broker="memory://")

    @app.task(bind=True, name="t.free")
    def free(self) -> str:  # noqa: ANN001
        wait_while_paused(self, None)
        return "ran"

    assert free.apply().get() == "ran"
