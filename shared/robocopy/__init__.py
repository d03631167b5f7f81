"""TODO"""

from shared.robocopy.target import (
    MirrorStepSummary,
    RobocopyTarget,
    mirror_with_robocopy,
    parse_robocopy_target,
)

__all__ = [
    "MirrorStepSummary",
    "RobocopyTarget",
    "mirror_with_robocopy",
    "parse_robocopy_target",
]
