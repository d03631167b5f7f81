"""State in Redis: the store (every key under one prefix, listed in `store`), locks, pauses,
the full-destination hold, metrics, and the embedded redis-server of `mediacourier up`."""

from shared.state.beat_lock import BeatLock
from shared.state.claims import ContentEntry
from shared.state.coordination import DEFAULT_LEASE_SECONDS, file_lease_name, inflight_field
from shared.state.full_hold import (
    Gate,
    full_target,
    full_targets,
    hold_after_full,
    lift_target_full,
    source_gate,
    target_gate,
)
from shared.state.journal import escape_text, human_size, iso_time, typed_entry
from shared.state.leases import Leases
from shared.state.library_hold import (
    absent_libraries,
    library_gate,
    library_missing,
    rescan_gate,
    run_on_target,
)
from shared.state.library_keys import stat_value
from shared.state.messages import files_in_messages, priority_lists
from shared.state.metrics import observe_timings, serve_metrics
from shared.state.pause import (
    Hold,
    check_name,
    hold_for,
    hold_for_source,
    recheck_cap,
    sources_to_catch_up,
)
from shared.state.queues import LANES, ClearReport, QueueReport, clear_source, read_queues
from shared.state.redis_server import EmbeddedRedis, find_redis_server
from shared.state.store import SEP, FileRecord, RedisStateStore

__all__ = [
    "BeatLock",
    "ClearReport",
    "LANES",
    "QueueReport",
    "clear_source",
    "read_queues",
    "ContentEntry",
    "DEFAULT_LEASE_SECONDS",
    "Gate",
    "EmbeddedRedis",
    "FileRecord",
    "Hold",
    "Leases",
    "RedisStateStore",
    "SEP",
    "check_name",
    "escape_text",
    "absent_libraries",
    "file_lease_name",
    "files_in_messages",
    "priority_lists",
    "find_redis_server",
    "full_target",
    "full_targets",
    "hold_after_full",
    "hold_for",
    "hold_for_source",
    "human_size",
    "inflight_field",
    "iso_time",
    "library_gate",
    "library_missing",
    "lift_target_full",
    "observe_timings",
    "recheck_cap",
    "rescan_gate",
    "run_on_target",
    "serve_metrics",
    "source_gate",
    "sources_to_catch_up",
    "stat_value",
    "target_gate",
    "typed_entry",
]
