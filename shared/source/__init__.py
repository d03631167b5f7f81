"""Sources: where files land. `walk` lists a source, `stability` decides when a file has
settled, `fsdetect` tells whether events can be trusted or the folder must be polled,
`reconcile` compares a source and its library with the records and plans what to ingest."""

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
