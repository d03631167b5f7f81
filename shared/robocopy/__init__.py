"""Robocopy: the command built from config with Windows path rules (`command`), its exit-code
bitmask (`exit_codes`), its summary parsed in any language (`parse`), one run (`run`), and a
robocopy `[targets.NAME]` (`target`)."""

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
