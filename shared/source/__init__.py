"""TODO"""

from shared.source.fsdetect import should_poll
from shared.source.reconcile import plan_source, rules_for, vanished_library_files
from shared.source.stability import StabilityTracker, backoff_delay
from shared.source.walk import Entry, walk_source

__all__ = [
    "Entry",
    "StabilityTracker",
    "backoff_delay",
    "plan_source",
    "rules_for",
    "should_poll",
    "vanished_library_files",
    "walk_source",
]
