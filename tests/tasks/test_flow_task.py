"""`mediacourier.flow_step` on an in-memory broker: one batch per message, then the message of
what comes next (the same step's next batch, the next step, nothing at the end); arguments that
are not what they claim to be are refused before anything moves."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import Celery

import tasks.flow  # noqa: F401 - registers the task on the app
from shared.flow import FlowLedger, begin
from tasks import runtime
from tests.tasks.task_calls import call_task, drain, memory_app

QUEUE = "mc-flow-test"


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Celery]:
    for name in ("icloud", "nas", "icloud-delete"):
        (tmp_path / name).mkdir()
    for i in range(3):
        (tmp_path / "icloud" / f"IMG_{i}.jpg").write_bytes(b"photo %d " % i * 100)
    flows = {"relay": {"from": str(tmp_path / "icloud"), "steps": [
        {"kind": "deliver", "library": "main", "batch": 2},
        {"kind": "release", "to": str(tmp_path / "icloud-delete")}]}}
    with memory_app(tmp_path, "mc-flow", QUEUE, flows=flows) as made:
        yield made


def sent(app: Celery) -> list[list]:
    """The args of each message the app sent (protocol 2: the body is [args, kwargs, embed])."""
    return [m.decode()[0] for m in drain(app, QUEUE)]


def test_each_message_runs_one_batch_and_sends_the_next(app: Celery, tmp_path: Path) -> None:
    # Given a run of the flow begun as `mediacourier flow relay --run` begins it
    ctx = runtime.context_of(app)
    begin(ctx.settings, ctx.store, ctx.settings.flows["relay"], 1, 2)
    # When the first message runs, then each message it sends
    first = call_task(app, "mediacourier.flow_step", "relay", 1, 2, True)
    # Then it delivered two of the three files and sent the same step again
    assert (first["step"], first["reached"], first["next_step"]) == (1, 2, 1)
    assert sorted(p.name for p in (tmp_path / "lib").iterdir()) == ["IMG_0.jpg", "IMG_1.jpg"]
    assert sent(app) == [["relay", 1, 2]]
    second = call_task(app, "mediacourier.flow_step", "relay", 1, 2)
    assert (second["reached"], second["next_step"]) == (1, 2)
    assert sent(app) == [["relay", 2, 2]]
    last = call_task(app, "mediacourier.flow_step", "relay", 2, 2)
    # … and the last step sends nothing more: every file is released, the run done
    assert (last["reached"], last["next_step"]) == (3, 0) and sent(app) == []
    assert sorted(p.name for p in (tmp_path / "icloud-delete").iterdir()) == [
        "IMG_0.jpg", "IMG_1.jpg", "IMG_2.jpg"]
    assert FlowLedger(ctx.store, "relay").run().state == "done"


@pytest.mark.parametrize("args", [("relay", "1", 2), ("relay", 1, 2, "false"), (["relay"], 1, 2),
                                  ("relay", True, 2)])
def test_arguments_of_the_wrong_type_are_refused_before_anything_moves(
        app: Celery, tmp_path: Path, args: tuple) -> None:
    with pytest.raises(TypeError, match="mediacourier.flow_step takes"):
        call_task(app, "mediacourier.flow_step", *args)
    assert len(list((tmp_path / "icloud").iterdir())) == 3 and sent(app) == []


def test_a_step_out_of_range_or_an_unknown_flow_is_refused(app: Celery) -> None:
    with pytest.raises(Exception, match="has steps 1 to 2"):
        call_task(app, "mediacourier.flow_step", "relay", 3, 3)
    with pytest.raises(Exception, match="no flow named 'other'"):
        call_task(app, "mediacourier.flow_step", "other", 1, 1)
