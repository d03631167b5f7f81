"""`mediacourier.flow_step`: one batch of one step of a `[flows.NAME]`, then the next message.

A thin wrapper around shared.flow: it checks its arguments (JSON from anyone who can reach the
broker), holds the flow's lease so two messages of one flow never run at once, runs the batch
and sends the message of what comes next (the same step's next batch, or the next step).
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task

from shared.errors import LeaseHeld
from shared.flow import StepRun, advance, check_range, flow_config
from tasks.deliveries import counted, refuse_poison
from tasks.runtime import task_context

log = logging.getLogger(__name__)
TASK = "mediacourier.flow_step"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@shared_task(name=TASK, bind=True)
def flow_step(self: Task, name: str, step: int, end: int, admit: bool = False
              ) -> dict[str, Any]:
    """Run the next batch of step `step` of flow `name` (1-based), going on up to `end`;
    `admit`: first take the files that arrived in the flow's folder."""
    if not isinstance(name, str) or not _is_int(step) or not _is_int(end) \
            or not isinstance(admit, bool):
        raise TypeError(f"{TASK} takes (name: str, step: int, end: int, admit: bool), got "
                        f"({name!r}, {step!r}, {end!r}, {admit!r})")
    ctx = task_context(self)
    flow = flow_config(ctx.settings, name)
    start, end = check_range(flow, step, end)
    try:
        with counted(self, ctx) as delivery, \
                ctx.store.lock(f"flow:{name}", ttl=ctx.settings.lease_seconds):
            refuse_poison(self, delivery)
            outcome = advance(StepRun(ctx.settings, ctx.store, flow, flow.steps[start - 1]),
                              end, admit)
    except LeaseHeld:
        return {"flow": name, "skipped": "another message of this flow is running"}
    if outcome.held:
        log.warning("flow %s held: %s", name, outcome.held)
    if outcome.next_step:
        self.app.send_task(TASK, args=[name, outcome.next_step, end])
    return outcome.as_dict()
