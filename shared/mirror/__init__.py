"""TODO"""

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
    "MirrorPlan",
    "MirrorSummary",
    "Progress",
    "check_mirror",
    "mirror_config",
    "plan_dict",
    "plan_for",
    "record_refusal",
    "record_run",
    "run_named_mirror",
]
