"""Fixtures shared by the tests of shared/."""

from tests.shared.config_helpers import folders
from tests.shared.rig import make_rig, rig

__all__ = ["folders", "make_rig", "rig"]
