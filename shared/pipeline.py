"""The ingest stages as plain functions, and the runner that applies them in order.

Each stage takes a `FileJob` and a `Context` and returns the next `FileJob`. A stage never sees
a job whose outcome is terminal (duplicate, skipped, failed): the runner passes such jobs
straight to `record_outcome`. Every stage is idempotent, so a crash at any point followed by a
re-run reaches the same end state.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable

from shared.context import Context
from shared.duplicates import handle_duplicate
from shared.errors import FileBusy, PermanentError, SourceVanished
from shared.hashing import sha256_file
from shared.ignore import is_sidecar
from shared.jobs import FileJob, Outcome
from shared.placing import transfer_file, verify_copy
from shared.recording import record_outcome, request_rescan
from shared.store import FileRecord

log = logging.getLogger(__name__)

Stage = Callable[[FileJob, Context], FileJob]


def hash_file(job: FileJob, ctx: Context) -> FileJob:
    """Hash the source, reusing the recorded hash when size, mtime and inode are unchanged."""
    path = ctx.source_path(job)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        previous = ctx.store.get_record(job.source, job.rel_path)
        if previous and previous.state in ("ingested", "duplicate"):
            return job.evolve(outcome=Outcome.SKIPPED, reason="already handled by an earlier run")
        raise SourceVanished(f"{path}: vanished before it could be hashed") from None
    record = ctx.store.get_record(job.source, job.rel_path)
    if (
        record
        and record.sha256
        and (record.size, record.mtime_ns, record.inode)
        == (info.st_size, info.st_mtime_ns, info.st_ino)
    ):
        sha, size, mtime_ns = record.sha256, info.st_size, info.st_mtime_ns
        if record.state in ("ingested", "duplicate") and ctx.source(job).mode == "copy":
            return job.evolve(sha256=sha, size=size, mtime_ns=mtime_ns, outcome=Outcome.SKIPPED,
                              dest_path=record.dest, reason="unchanged since it was ingested")
    else:
        sha, final = sha256_file(path)
        size, mtime_ns = final.st_size, final.st_mtime_ns
        ctx.store.put_record(job.source, job.rel_path,
                             FileRecord(size, mtime_ns, final.st_ino, sha, "hashed"))
    return job.evolve(sha256=sha, size=size, mtime_ns=mtime_ns, outcome=Outcome.HASHED)


def claim_content(job: FileJob, ctx: Context) -> FileJob:
    """Claim the content hash atomically; a hash already held elsewhere makes a duplicate."""
    if is_sidecar(job.rel_path):
        return job.evolve(outcome=Outcome.CLAIMED)  # sidecars follow their image, not content
    owner = owner_id(job)
    holder = ctx.store.claim_content(job.sha256, owner)
    if holder is None:
        return job.evolve(outcome=Outcome.CLAIMED)
    if holder.is_claim:
        raise FileBusy(f"{ctx.source_path(job)}: identical content is being imported by "
                       f"{holder.owner}; waiting for it")
    holder_root = ctx.settings.libraries[holder.library].path \
        if holder.library in ctx.settings.libraries else None
    if holder_root is None or ctx.backend.stat_size(holder_root, holder.rel_path) != job.size:
        # The library copy is gone (or changed): take the content over instead of losing it.
        if ctx.store.take_over_content(job.sha256, holder, owner):
            ctx.store.journal("library-vanished", library=holder.library, path=holder.rel_path)
            return job.evolve(outcome=Outcome.CLAIMED)
        return claim_content(job, ctx)
    return handle_duplicate(job.evolve(duplicate_of=f"{holder.library}/{holder.rel_path}"),
                            ctx, holder_root, holder.rel_path)


def owner_id(job: FileJob) -> str:
    return f"{job.source}/{job.rel_path}@{job.size}:{job.mtime_ns}"


STAGES: tuple[tuple[str, Stage], ...] = (
    ("hash_file", hash_file),
    ("claim_content", claim_content),
    ("transfer_file", transfer_file),
    ("verify_copy", verify_copy),
    ("request_rescan", request_rescan),
    ("record_outcome", record_outcome),
)
STAGE_BY_NAME = dict(STAGES)
LOCKED_STAGES = {"transfer_file", "verify_copy"}


def run_stage(name: str, job: FileJob, ctx: Context) -> FileJob:
    """Run one stage with timing, the per-file lock and the permanent-failure mapping.

    RetryableError propagates: the caller (a Celery task or the batch runner) retries.
    """
    if job.outcome.is_terminal and name != "record_outcome":
        return job
    stage = STAGE_BY_NAME[name]
    started = time.perf_counter()
    if not job.started_at:
        job = job.evolve(started_at=time.time())
    try:
        if name in LOCKED_STAGES:
            # The lock lives as long as a message's visibility: a worker that dies holding it
            # blocks the file no longer than its message would have stayed hidden anyway.
            with ctx.store.lock(f"file:{job.source}:{job.rel_path}",
                                ttl=ctx.settings.visibility_timeout):
                job = stage(job, ctx)
        else:
            job = stage(job, ctx)
    except PermanentError as exc:
        log.warning("%s: %s", name, exc)
        job = give_up(job, ctx, str(exc))
    job = job.evolve(hosts={**job.hosts, name: ctx.hostname})
    return job.timed(name, time.perf_counter() - started)


def run_all(job: FileJob, ctx: Context) -> FileJob:
    """The whole chain in this process: used by batches and the one-shot `sync`."""
    for name, _ in STAGES:
        job = run_stage(name, job, ctx)
    return job


def give_up(job: FileJob, ctx: Context, reason: str) -> FileJob:
    """Mark the job failed and free its content claim so an identical file can still come in."""
    if job.sha256:
        ctx.store.release_content(job.sha256, owner_id(job))
    return job.evolve(outcome=Outcome.FAILED, reason=reason)
