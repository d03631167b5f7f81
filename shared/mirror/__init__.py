"""Mirrors: make a target an exact replica of a local tree. `plan` compares the two trees
(copies, updates, renames, deletes, with the delete guard), `run` carries a plan out, `job`
runs a configured `[mirrors.NAME]` end to end, `robocopy` does it with robocopy /MIR;
`conflicts` finds what changed on both sides since the last sync (`conflict_run` in a run)."""

from shared.mirror.backups import open_mirror_target, run_backup_mirror
from shared.mirror.conflicts import (
    CONFLICT_KINDS,
    Conflict,
    ConflictBook,
    backup_name,
    find_conflict,
    resolve,
)
from shared.mirror.job import (
    check_mirror,
    mirror_config,
    plan_dict,
    plan_for,
    record_refusal,
    record_run,
    run_named_mirror,
)
from shared.mirror.plan import MirrorPlan
from shared.mirror.run import MirrorSummary, Progress

__all__ = [
    "CONFLICT_KINDS",
    "Conflict",
    "ConflictBook",
    "backup_name",
    "find_conflict",
    "resolve",
    "MirrorPlan",
    "MirrorSummary",
    "Progress",
    "check_mirror",
    "mirror_config",
    "open_mirror_target",
    "plan_dict",
    "plan_for",
    "record_refusal",
    "record_run",
    "run_backup_mirror",
    "run_named_mirror",
]
