"""Flows: ordered steps between a folder (or source) and libraries and folders, such as the
Pixel relay. `ledger` keeps each file's step and the flow's run and hold in Redis, `files` does
the proven copies, moves and the cleanup, `steps` runs one kind of step over a batch, `run`
decides which files a step takes and what comes next, `plan` puts it all in words, and
`progress` says where a flow is in one line."""

from shared.flow.ledger import FlowFile, FlowHold, FlowLedger, RunState, flow_holds
from shared.flow.plan import StepCount, describe, dry_run, failed_files, step_counts, step_lines
from shared.flow.progress import FlowProgress, flow_progress
from shared.flow.run import StepOutcome, advance, begin, check_range, flow_config
from shared.flow.steps import StepRun

__all__ = [
    "FlowFile",
    "FlowHold",
    "FlowLedger",
    "FlowProgress",
    "RunState",
    "StepCount",
    "StepOutcome",
    "StepRun",
    "advance",
    "begin",
    "check_range",
    "describe",
    "dry_run",
    "failed_files",
    "flow_config",
    "flow_holds",
    "flow_progress",
    "step_counts",
    "step_lines",
]
