"""Fixtures shared by the tests of shared/."""

from tests.shared.rig import make_rig, rig

__all__ = ["make_rig", "rig"]
