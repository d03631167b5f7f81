"""Content claims as leases: when another job's claim is stale, how long a twin waits, renewal.

A job claims its content hash before it transfers (`pipeline.claim_content`), so that two files
with the same bytes do not both land in the library. The claim is a lease of the visibility
timeout (the longest a live worker's message stays hidden, the file lock's TTL too), renewed by
each later stage of its owner. Another job finding the claim waits for its outcome, unless the
claim is stale: its lease ran out, or its owner is known to be gone — the owner's file version
no longer exists, or its record says that version failed or was skipped. A stale claim is taken
over (atomically, see `RedisStateStore.take_over_content`).
"""

from __future__ import annotations

import logging
import os

from shared.ingest.context import Context
from shared.jobs import FileJob, Outcome
from shared.media import is_sidecar
from shared.state import ContentEntry

log = logging.getLogger(__name__)

MAX_WAIT = 60.0  # seconds between two looks of a waiting twin
ENDED = ("failed", "skipped")  # a version recorded so will not carry on with its claim
HOLDING = (Outcome.CLAIMED, Outcome.TRANSFERRED)  # between claim and verification


def claim_lease(ctx: Context) -> float:
    return float(ctx.settings.visibility_timeout)


def parse_owner(owner: str) -> tuple[str, str, int, int] | None:
    """(source, rel_path, size, mtime_ns) of a claim owner "source/rel@size:mtime_ns"."""
    where, _, version = owner.rpartition("@")
    source, _, rel = where.partition("/")
    size, _, mtime_ns = version.partition(":")
    try:
        return source, rel, int(size), int(mtime_ns)
    except ValueError:
        return None


def stale_claim(holder: ContentEntry, ctx: Context, now: float) -> str | None:
    """Why the claim `holder` can be taken over, or None while its owner may still be at work."""
    if holder.expired(now):
        return "its lease ran out" if holder.lease_until else "it has no lease"
    owner = parse_owner(holder.owner)
    if owner is None:
        return None
    source, rel, size, mtime_ns = owner
    record = ctx.store.get_record(source, rel)
    if record is not None and record.state in ENDED and (record.size, record.mtime_ns) == (
            size, mtime_ns):
        return f"its file was {record.state}"
    config = ctx.settings.sources.get(source)
    if config is None:
        return "its source is no longer configured"
    if not ctx.settings.hosts.must_exist_here("sources", source) or not os.path.isdir(
            config.path):
        return None  # cannot look from here (another host's source, a share away): the lease
    try:
        info = os.lstat(os.path.join(config.path, rel))
    except FileNotFoundError:
        # A verified owner turned its claim into a library entry before it released its file.
        return "its file is gone"
    except OSError:
        return None
    if (info.st_size, info.st_mtime_ns) != (size, mtime_ns):
        return "its file changed since it was claimed"
    return None


def wait_seconds(holder: ContentEntry, now: float) -> float:
    """How long a twin waits before it looks again: soon for a claim just made, longer (up to
    a minute) the longer the holder has been at it, never past the lease."""
    held = now - holder.claimed_at if holder.claimed_at else 0.0
    return max(1.0, min(MAX_WAIT, held / 4, holder.lease_until - now + 1))


def renew_claim(job: FileJob, ctx: Context) -> None:
    """The owner is at work on a later stage: its claim's lease runs on from now."""
    if not job.sha256 or job.outcome not in HOLDING or is_sidecar(job.rel_path):
        return
    if not ctx.store.renew_content(job.sha256, job.owner, claim_lease(ctx)):
        log.info("%s: its content claim is no longer its own (settled or taken over)",
                 job.rel_path)
