"""How long one ingest task may run: a time limit that follows the work.

A fixed limit cannot fit every file: 30 minutes kills a 40 GB video coming over a slow share
on its first try, however healthy the copy. So the hard limit of a task that moves a file is
the base, `task_time_limit` (what any task may need whatever its size: connecting to a target,
fsyncs on a busy disk, its share of a target's bandwidth limit), plus the time its bytes take at
`floor_rate`, the slowest throughput that still counts as progress. A task slower than that is
stuck, not slow. The limits travel with the message (`apply_async(time_limit=…)`), so every
redelivery, retry and pause re-send of it keeps them.

A limit above `visibility_timeout` is safe only because the stages run under the file's lease
(a heartbeat keeps it while the stage lives): the copy Redis hands to a second worker after the
visibility timeout finds the lease held and ends quietly (see `wait_for_free_lease`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable

from shared.config import Settings
from shared.ingest.context import Context
from shared.ingest.leases import file_lease_name
from shared.jobs import FileJob

# A batch reads each of its files three times in one task: to hash it, to copy it, and the copy
# back to verify it. A chain spreads those over three tasks, each with its own limit.
BATCH_PASSES = 3
LEASE_POLL = 0.2  # seconds between two looks at a lease a redelivery waits for


def soft_time_limit(hard: int) -> int:
    """A little before the hard limit (30 s, or a tenth of a short one), so a task can end
    cleanly with a reason before it is killed."""
    return max(1, hard - min(30, hard // 10 + 1))


def hard_time_limit(settings: Settings, size: int, passes: int = 1) -> int:
    """`task_time_limit` plus `passes` reads of `size` bytes at `floor_rate`, whole seconds."""
    return settings.task_time_limit + math.ceil(passes * max(0, size) / settings.floor_rate)


def time_limits(settings: Settings, size: int, passes: int = 1) -> dict[str, int]:
    """The `apply_async` options of a task that moves `size` bytes `passes` times."""
    hard = hard_time_limit(settings, size, passes)
    return {"time_limit": hard, "soft_time_limit": soft_time_limit(hard)}


def batch_time_limits(settings: Settings, sizes: Iterable[int]) -> dict[str, int]:
    """The options of one `ingest_batch`: its files' sizes summed, each read three times."""
    return time_limits(settings, sum(sizes), BATCH_PASSES)


def wait_for_free_lease(job: FileJob, ctx: Context, timeout: float,
                        sleep: Callable[[float], None] = time.sleep) -> bool:
    """Wait up to `timeout` s for nobody to hold the file's lease; False if it stays held.

    For a delivery that follows one which never finished. If that one died (OOM, a crash, its
    hard time limit), its lease runs out within `lease_seconds` with nobody to renew it, and this
    delivery can go on at once instead of finding the file busy. If it is still at work (a task
    running longer than the visibility timeout), its heartbeat keeps the lease and this copy
    must not run beside it."""
    deadline = time.monotonic() + timeout
    name = file_lease_name(job)
    while ctx.store.leased([name]):
        if time.monotonic() + LEASE_POLL > deadline:
            return False
        sleep(LEASE_POLL)
    return True
