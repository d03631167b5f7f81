"""The lease of one file while a stage works on it: a short TTL renewed by a heartbeat thread
(shared/state/leases.py), so a worker that dies frees the file within `lease_seconds`, and one
that lives keeps it for as long as it works.

A holder whose lease was lost (its heartbeat could not renew it in time: a frozen process,
Redis away for a whole TTL) may share the file with a new holder. It stops at the next stage
boundary (`check_file_lease`, no round trip) and, before it settles a verified copy and
releases the source, asks Redis (`confirm_file_lease`), which also gives it a whole TTL for
that last step.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from shared.ingest.context import Context
from shared.jobs import FileJob
from shared.state import Leases
from shared.state import file_lease_name as lease_name


def file_lease_name(job: FileJob) -> str:
    return lease_name(job.source, job.rel_path)


def file_lease(job: FileJob, ctx: Context) -> AbstractContextManager[Leases]:
    """Hold the file's lease for the block; LeaseHeld when a live worker has it."""
    return ctx.store.lock(file_lease_name(job), ttl=ctx.settings.lease_seconds)


def check_file_lease(job: FileJob, ctx: Context) -> None:
    """LeaseLost when this process held the file's lease and its heartbeat found it lost."""
    ctx.store.check_lease(file_lease_name(job))


def confirm_file_lease(job: FileJob, ctx: Context) -> None:
    """Before a durable step: the lease, if this process holds one, is still ours (a round
    trip that renews it); LeaseLost otherwise."""
    ctx.store.confirm_lease(file_lease_name(job))
