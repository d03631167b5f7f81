"""Sources: where files land. `walk` lists a source, `stability` decides when a file has
settled, `fsdetect` tells whether events can be trusted or the folder must be polled,
`reconcile` compares a source and its library with the records and plans what to ingest,
`sweep` finds queued files whose message was lost, `paths` checks the paths and jobs tasks
receive against the roots."""

from shared.source.fsdetect import should_poll
from shared.source.icloud import FetchResult, auth_command, fetch_command, parse_output
from shared.source.icloud_fetch import (
    FetchHold,
    cookie_directory,
    fetch_hold,
    fetch_holds,
    fetch_source,
    lift_fetch_hold,
)
from shared.source.icloud_safety import DeleteCheck, check_icloud_delete
from shared.source.nextcloud import discover_users, user_folders, user_of, walk_starts
from shared.source.paths import (
    checked_item,
    checked_job,
    checked_source,
    journal_refusal,
    locate_file,
    plain_rel_path,
    resolved_inside,
)
from shared.source.reconcile import plan_source, rules_for, vanished_library_files
from shared.source.stability import StabilityTracker, backoff_delay
from shared.source.sweep import SweepPlan, plan_sweep
from shared.source.walk import Entry, walk_source

__all__ = [
    "DeleteCheck",
    "Entry",
    "FetchHold",
    "FetchResult",
    "auth_command",
    "check_icloud_delete",
    "cookie_directory",
    "fetch_command",
    "fetch_hold",
    "fetch_holds",
    "fetch_source",
    "lift_fetch_hold",
    "parse_output",
    "StabilityTracker",
    "SweepPlan",
    "backoff_delay",
    "checked_item",
    "discover_users",
    "checked_job",
    "checked_source",
    "journal_refusal",
    "locate_file",
    "plain_rel_path",
    "plan_source",
    "plan_sweep",
    "resolved_inside",
    "rules_for",
    "should_poll",
    "user_folders",
    "user_of",
    "vanished_library_files",
    "walk_starts",
    "walk_source",
]
