"""Running a flow step by step: which files a step takes next, what its outcome records, and
which step comes after it.

A step takes the files that reached the step before it and have not failed there, `batch` at a
time (a deliver step's batch of 5 for the phone). Each file that comes through is recorded with
the step it reached; each that fails goes to the failed list and stays where it is. When every
file of a batch fails, or the step itself cannot run (its folder is not there, Syncthing does
not answer), the flow is held with the reason and goes no further until it is run again.
Steps run strictly in order, so a file is moved or released only after every earlier step
went through for it.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path

from shared.config import FlowConfig, Settings
from shared.errors import ConfigError, FileBusy, MediacourierError, PermanentError, SourceVanished
from shared.flow.files import entering, find_files
from shared.flow.ledger import FlowFile, FlowLedger
from shared.flow.steps import RUNNERS, StepRun
from shared.state import RedisStateStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StepOutcome:
    flow: str
    step: int
    reached: int = 0
    failed: int = 0
    held: str = ""  # the reason the flow is held now, "" when it is not
    next_step: int = 0  # the step the next message runs (this one again: its next batch), 0: none
    note: str = ""

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def flow_config(settings: Settings, name: str) -> FlowConfig:
    flow = settings.flows.get(name)
    if flow is None:
        raise ConfigError(f"no flow named {name!r}; configured: "
                          f"{', '.join(sorted(settings.flows)) or 'none'}")
    return flow


def check_range(flow: FlowConfig, start: int, end: int) -> tuple[int, int]:
    """The steps `start`..`end` (1-based; 0 for end: the last step)."""
    last = len(flow.steps)
    end = end or last
    if not 1 <= start <= end <= last:
        raise ConfigError(f"flow {flow.name!r} has steps 1 to {last}: --start {start} "
                          f"--end {end} is not a range of them")
    return start, end


def outputs(settings: Settings, flow: FlowConfig) -> list[Path]:
    """Every folder the flow's steps write into (left out when files enter the flow)."""
    found: list[Path] = []
    for step in flow.steps:
        if step.library:
            found.append(Path(settings.libraries[step.library].path))
        if step.to is not None:
            found.append(step.to)
    return found


def waiting_at(ledger: FlowLedger, step: int) -> list[FlowFile]:
    """The files step `step` takes next: through the step before, not failed, by name."""
    return sorted((f for f in ledger.files().values() if f.done == step - 1 and not f.failed),
                  key=lambda f: f.rel)


def admit_new(settings: Settings, flow: FlowConfig, ledger: FlowLedger) -> int:
    """Take the files in the flow's folder that it does not know yet (hashed as they enter)."""
    known = set(ledger.files())
    found: list[FlowFile] = []
    unreadable: list[tuple[FlowFile, str]] = []
    if not flow.from_path.is_dir():
        return 0
    for rel, _ in find_files(flow.from_path, skip=outputs(settings, flow)):
        if rel in known:
            continue
        try:
            found.append(entering(flow.from_path, rel))
        except (SourceVanished, FileBusy) as exc:  # gone, or still being written: next run
            log.info("flow %s: %s not taken now: %s", flow.name, rel, exc)
        except PermanentError as exc:  # cannot be read: in the flow, failed at its first step
            item = FlowFile(rel=rel, at=str(flow.from_path / rel))
            found.append(item)
            unreadable.append((item, str(exc)))
    added = ledger.admit(found)
    for item, why in unreadable:
        if item in added:
            ledger.fail(item, flow.steps[0].label, why)
    return len(added)


def begin(settings: Settings, store: RedisStateStore, flow: FlowConfig, start: int,
          end: int) -> FlowLedger:
    """A new run of steps start..end: the hold lifted, the files that failed in those steps
    tried again, and the run marked as going on (what the progress display waits on)."""
    ledger = FlowLedger(store, flow.name)
    ledger.lift()
    for step in range(start, end + 1):
        ledger.retry_failed(step)
    ledger.set_run("running", start, start, end)
    return ledger


def advance(run: StepRun, end: int, admit: bool = False) -> StepOutcome:
    """Run one batch of `run.step` and say what comes next. Whatever stops it unforeseen (a
    bug, a time limit) holds the flow too, so that a run waiting on it ends with the reason."""
    try:
        return _advance(run, end, admit)
    except Exception as exc:
        try:
            run.ledger.hold(run.step.number, run.step.label,
                            f"stopped by {type(exc).__name__}: {exc}")
        except Exception:  # noqa: BLE001 - Redis away too: the original error says more
            log.exception("flow %s: could not record the hold", run.flow.name)
        raise


def _advance(run: StepRun, end: int, admit: bool) -> StepOutcome:
    flow, step, ledger = run.flow, run.step, run.ledger
    if admit:
        admit_new(run.settings, flow, ledger)
    held = ledger.held()
    if held is not None:  # held while this message waited: it goes no further
        return StepOutcome(flow.name, step.number, held=held.reason)
    waiting = waiting_at(ledger, step.number)
    batch = waiting[: step.batch] if step.batch else waiting
    ledger.set_run("running", step.number, ledger.run().start or step.number, end)
    if not batch and step.kind != "cleanup":
        return _after(ledger, flow, step.number, end, StepOutcome(flow.name, step.number))
    try:
        report = RUNNERS[step.kind](run, batch)
    except (MediacourierError, OSError) as exc:
        ledger.hold(step.number, step.label, str(exc))
        return StepOutcome(flow.name, step.number, held=f"step {step.label}: {exc}")
    for item in report.reached:
        ledger.reached(item, step.number, step.label)
    for item, why in report.failed:
        ledger.fail(item, step.label, why)
    outcome = StepOutcome(flow.name, step.number, len(report.reached), len(report.failed),
                          note=report.note)
    if batch and not report.reached:
        reason = (f"every file of the batch failed ({len(batch)}); the first: "
                  f"{report.failed[0][1]}")
        ledger.hold(step.number, step.label, reason)
        return StepOutcome(**{**outcome.as_dict(), "held": f"step {step.label}: {reason}"})
    if len(waiting) > len(batch):
        return StepOutcome(**{**outcome.as_dict(), "next_step": step.number})
    return _after(ledger, flow, step.number, end, outcome)


def _after(ledger: FlowLedger, flow: FlowConfig, step: int, end: int,
           outcome: StepOutcome) -> StepOutcome:
    if step < end:
        return StepOutcome(**{**outcome.as_dict(), "next_step": step + 1})
    run = ledger.run()
    ledger.set_run("done", step, run.start or step, end)
    ledger.store.journal("flow-done", flow=flow.name, step=step)
    return outcome
