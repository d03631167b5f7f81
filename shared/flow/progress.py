"""Where a flow is, in one line for `mediacourier status` and the web overview: the step its run
is at (or held at, or stopped after), of how many, and what kind, so a household reads "relay:
step 3 of 7, compress" beside the source that feeds it rather than an idle inbox."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from shared.config import FlowConfig
from shared.flow.ledger import FlowLedger
from shared.state import RedisStateStore


@dataclass(frozen=True)
class FlowProgress:
    flow: str
    state: str  # "" (never run), running, done, held
    step: int  # the step the run is at, held at or ended at; 0 before the first run
    steps: int
    kind: str  # that step's kind ("" before the first run)
    waiting: int  # files that step takes next
    failed: int  # files that failed in it
    hold: str = ""  # why the flow is held, "" when it is not
    since: float = 0.0  # when the run last moved on, or when the hold began
    next_step: int = 0  # a run that ended: the first later step with files waiting for it
    next_kind: str = ""
    next_waiting: int = 0

    def text(self) -> str:
        """The line shown: '<step> of <steps>, <kind>' and what it waits for."""
        at = f"step {self.step} of {self.steps}, {self.kind}"
        if self.state == "held":
            return f"held at {at}: {self.hold}"
        if self.state == "running":
            return at + _files(", ", self.waiting, "waiting") + _files(", ", self.failed,
                                                                      "failed")
        if self.state == "done":
            text = f"stopped after {at}"
            if self.next_step:
                text += (f"; {_count(self.next_waiting)} waiting for step {self.next_step}, "
                         f"{self.next_kind} (mediacourier flow {self.flow} --run --start "
                         f"{self.next_step})")
            return text
        return f"not run yet ({self.steps} steps; mediacourier flow {self.flow} --run)"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "text": self.text()}


def _count(n: int) -> str:
    return f"{n} file" if n == 1 else f"{n} files"


def _files(sep: str, n: int, what: str) -> str:
    return f"{sep}{_count(n)} {what}" if n else ""


def _reason(reason: str, flow: FlowConfig, step: int) -> str:
    """The hold's reason without the "step 3 compress: " the line already says."""
    return reason.removeprefix(f"step {flow.steps[step - 1].label}: ")


def flow_progress(store: RedisStateStore, flow: FlowConfig) -> FlowProgress:
    """The flow's run and hold as its records in Redis have them now."""
    ledger = FlowLedger(store, flow.name)
    run, held, files = ledger.run(), ledger.held(), list(ledger.files().values())
    step = held.step if held is not None else run.step
    state = "held" if held is not None else run.state
    if not state or not 1 <= step <= len(flow.steps):
        return FlowProgress(flow.name, "", 0, len(flow.steps), "", 0, 0)
    waiting = sum(f.done == step - 1 and not f.failed for f in files)
    failed = sum(f.done == step - 1 and bool(f.failed) for f in files)
    progress = FlowProgress(flow.name, state, step, len(flow.steps),
                            flow.steps[step - 1].kind, waiting, failed,
                            hold=_reason(held.reason, flow, step) if held is not None else "",
                            since=held.since if held is not None else run.at)
    if state != "done":
        return progress
    for later in flow.steps[step:]:
        count = sum(f.done == later.number - 1 and not f.failed for f in files)
        if count:
            return FlowProgress(**{**asdict(progress), "next_step": later.number,
                                   "next_kind": later.kind, "next_waiting": count})
    return progress
