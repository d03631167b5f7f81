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
from contextlib import AbstractContextManager, ExitStack

from shared.errors import ContentClaimed, FileBusy, PermanentError, SourceVanished
from shared.ingest.claims import claim_lease, stale_claim, wait_seconds
from shared.ingest.context import Context
from shared.ingest.duplicates import handle_duplicate
from shared.ingest.leases import check_file_lease, file_lease
from shared.ingest.placing import hash_source, transfer_file, verify_copy
from shared.ingest.recording import outcome_mark, record_outcome, request_rescan
from shared.ingest.releasing import drop_shared_link
from shared.jobs import FileJob, Outcome
from shared.media import MEDIA_EXTENSIONS, is_sidecar
from shared.state import FileRecord, Leases
from shared.transfer import restore_interrupted_release

log = logging.getLogger(__name__)

Stage = Callable[[FileJob, Context], FileJob]


def hash_file(job: FileJob, ctx: Context) -> FileJob:
    """Hash the source, reusing the recorded hash when size, mtime and inode are unchanged, and
    capture its identity (device, inode, size, mtime, ctime) for every later check.

    A record left by an earlier run of this file version resumes the job where that run got
    to: 'verified' goes back through verification (which releases the source; a source still
    present is hashed again first, so a release never rests on bytes it did not read),
    'duplicate' with its source gone and no outcome journaled goes to the record stage (its
    delivery died between the deletion and the journal), and 'ingested' and 'duplicate' are
    otherwise done. A zero-byte media file is held as EMPTY.
    """
    path = ctx.source_path(job)
    record, journaled = ctx.store.record_and_outcome(job.source, job.rel_path)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        if (record and record.state == "duplicate" and journaled != outcome_mark(record)
                and _same_version(job, record)):
            # Recorded before its source was deleted; that delivery died before journaling.
            return job.evolve(sha256=record.sha256, size=record.size,
                              mtime_ns=record.mtime_ns, inode=record.inode,
                              dest_path=record.dest, outcome=Outcome.DUPLICATE,
                              duplicate_of=f"{ctx.library(job).name}/{record.dest}",
                              reason="duplicate: deleted by an earlier run")
        if record and record.state in DONE:
            return job.evolve(outcome=Outcome.SKIPPED, reason="already handled by an earlier run")
        if record and record.state == "verified" and _same_version(job, record):
            return _resume_verified(job, record, None)  # its release finishes there
        if not restore_interrupted_release(path):
            raise SourceVanished(f"{path}: vanished before it could be hashed") from None
        info = os.lstat(path)
    version = (info.st_size, info.st_mtime_ns, info.st_ino)
    recorded = record is not None and bool(record.sha256) and (
        record.size, record.mtime_ns, record.inode) == version
    if recorded and record.state in DONE and ctx.source(job).mode == "copy":
        return job.evolve(sha256=record.sha256, size=record.size, mtime_ns=record.mtime_ns,
                          outcome=Outcome.SKIPPED, dest_path=record.dest,
                          reason="unchanged since it was ingested")
    # Not a verified or duplicate record's hash: such a record is written before its source
    # goes, and a source still there may have been edited since (size, mtime and inode kept).
    if recorded and record.state not in ("verified", "duplicate"):
        sha, final = record.sha256, info
    else:
        # Not recorded here: the hash reaches the store with the outcome, in the same write.
        sha, final = hash_source(job, ctx)
        if (final.st_dev, final.st_ino) != (info.st_dev, info.st_ino):
            raise FileBusy(f"{path}: replaced while it was being hashed")
        if recorded and record.state == "verified" and sha == record.sha256:
            return _resume_verified(job, record, final)
    job = job.evolve(sha256=sha, size=final.st_size, mtime_ns=final.st_mtime_ns,
                     inode=final.st_ino, dev=final.st_dev, ctime_ns=final.st_ctime_ns,
                     outcome=Outcome.HASHED)
    if final.st_size == 0 and _is_media(job.rel_path):
        # Nothing to keep and nothing to lose: a camera or sync client that has not written it
        # yet, or a broken export. Recorded as 'empty' (reconcile leaves it until it changes).
        return job.evolve(outcome=Outcome.EMPTY,
                          reason="empty (zero bytes): held in the source, not ingested")
    return job


DONE = ("ingested", "duplicate")


def _is_media(rel_path: str) -> bool:
    return os.path.splitext(rel_path)[1][1:].lower() in MEDIA_EXTENSIONS


def _same_version(job: FileJob, record: FileRecord) -> bool:
    return job.size < 0 or (job.size, job.mtime_ns) == (record.size, record.mtime_ns)


def _resume_verified(job: FileJob, record: FileRecord, now: os.stat_result | None) -> FileJob:
    """Back to verification. `now`: the source as just hashed (None: it is gone, and only its
    interrupted release, if any, is left to finish)."""
    identity = {} if now is None else {"dev": now.st_dev, "ctime_ns": now.st_ctime_ns}
    return job.evolve(sha256=record.sha256, size=record.size, mtime_ns=record.mtime_ns,
                      inode=record.inode, dest_path=record.dest, copy_check="",
                      outcome=Outcome.TRANSFERRED, **identity)


def claim_content(job: FileJob, ctx: Context) -> FileJob:
    """Claim the content hash atomically, as a lease (see claims.py). A hash already in a library
    makes a duplicate; one claimed by a job still at work makes this one wait for its outcome
    (ContentClaimed: a hold, not a retry); a stale claim or a vanished library copy is taken
    over instead of being waited on or lost."""
    if is_sidecar(job.rel_path):
        return job.evolve(outcome=Outcome.CLAIMED)  # sidecars follow their image, not content
    owner, lease = job.owner, claim_lease(ctx)
    holder = ctx.store.claim_content(job.sha256, owner, lease)
    if holder is None:
        return job.evolve(outcome=Outcome.CLAIMED)
    if holder.is_claim:
        now = ctx.store.server_time()
        why = stale_claim(holder, ctx, now)
        if why is None:
            raise ContentClaimed(f"{ctx.source_path(job)}: identical content is being imported "
                                 f"by {holder.owner}; waiting for its outcome",
                                 wait_seconds(holder, now))
        if ctx.store.take_over_content(job.sha256, holder, owner, lease):
            ctx.store.journal("claim-taken-over", source=job.source, path=job.rel_path,
                              reason=f"the claim of {holder.owner} was stale: {why}")
            return job.evolve(outcome=Outcome.CLAIMED)
        return claim_content(job, ctx)  # it changed meanwhile: look again
    holder_root = ctx.settings.libraries[holder.library].path \
        if holder.library in ctx.settings.libraries else None
    if holder_root is None or ctx.backend_for(ctx.settings.libraries[holder.library]).stat_size(
            holder_root, holder.rel_path) != job.size:
        # The library copy is gone (or changed): take the content over instead of losing it.
        if ctx.store.take_over_content(job.sha256, holder, owner, lease):
            ctx.store.journal("library-vanished", library=holder.library, path=holder.rel_path)
            return job.evolve(outcome=Outcome.CLAIMED)
        return claim_content(job, ctx)
    return handle_duplicate(job.evolve(duplicate_of=f"{holder.library}/{holder.rel_path}"),
                            ctx, holder_root, holder.rel_path)


STAGES: tuple[tuple[str, Stage], ...] = (
    ("hash_file", hash_file),
    ("claim_content", claim_content),
    ("transfer_file", transfer_file),
    ("verify_copy", verify_copy),
    ("request_rescan", request_rescan),
    ("record_outcome", record_outcome),
)
STAGE_BY_NAME = dict(STAGES)
# Every stage runs under the file's lease: a second delivery of a message whose work is under
# way (a visibility-timeout restore, the in-flight sweeper) finds it held and ends quietly
# instead of hashing, copying or recording the file a second time beside the first.
LOCKED_STAGES = frozenset(name for name, _ in STAGES)


# The outcome each stage produces: a job that already has it (resumed from an earlier run)
# passes that stage by.
PRODUCES = {"hash_file": Outcome.HASHED, "claim_content": Outcome.CLAIMED,
            "transfer_file": Outcome.TRANSFERRED, "verify_copy": Outcome.VERIFIED}
PROGRESS = [Outcome.PENDING, Outcome.HASHED, Outcome.CLAIMED, Outcome.TRANSFERRED,
            Outcome.VERIFIED]


def already_past(name: str, job: FileJob) -> bool:
    if job.outcome.is_terminal:
        return name != "record_outcome"
    produces = PRODUCES.get(name)
    return produces is not None and PROGRESS.index(job.outcome) >= PROGRESS.index(produces)


def file_lock(job: FileJob, ctx: Context) -> AbstractContextManager[Leases]:
    """The file's lease (see leases.py): `lease_seconds` long, renewed by a heartbeat while the
    stage works, so a worker that dies holding it blocks the file for one lease at most."""
    return file_lease(job, ctx)


def run_stage(name: str, job: FileJob, ctx: Context, lock: bool = True,
              stage: Stage | None = None) -> FileJob:
    """Run one stage with timing, the per-file lock and the permanent-failure mapping.

    RetryableError propagates: the caller (a Celery task or the batch runner) retries.
    `lock=False` when the caller already holds the file's lock. `stage`: a part of the named
    stage instead of the whole (the batch runs verification in two halves).
    """
    if already_past(name, job):
        return job
    stage = stage or STAGE_BY_NAME[name]
    started = time.perf_counter()
    if not job.started_at:
        job = job.evolve(started_at=time.time())
    try:
        if lock and name in LOCKED_STAGES:
            with file_lock(job, ctx):
                job = already_recorded(name, job, ctx) or stage(job, ctx)
        else:
            if name in LOCKED_STAGES:
                check_file_lease(job, ctx)  # a lease lost since the last stage: stop here
            job = already_recorded(name, job, ctx) or stage(job, ctx)
    except PermanentError as exc:
        log.warning("%s: %s", name, exc)
        job = give_up(job, ctx, str(exc))
    return job.evolve(hosts={**job.hosts, name: ctx.hostname},
                      timings={**job.timings, name: round(time.perf_counter() - started, 6)})


MIDDLE_STAGES = ("claim_content", "transfer_file", "verify_copy")


def already_recorded(name: str, job: FileJob, ctx: Context) -> FileJob | None:
    """A middle stage delivered again after its file was recorded done passes straight to
    the recorded outcome: it neither re-claims (a duplicate of itself), nor finds the released
    source 'vanished', nor journals the file twice. A move-mode source still in place is a new
    arrival of the same bytes, not a redelivery: it goes through the stage (no Redis read)."""
    if name not in MIDDLE_STAGES or not job.sha256:
        return None
    if ctx.source(job).mode == "move" and os.path.lexists(ctx.source_path(job)):
        return None
    record = ctx.store.get_record(job.source, job.rel_path)
    if record is None or record.state not in DONE or (
            record.sha256, record.size, record.mtime_ns) != (job.sha256, job.size, job.mtime_ns):
        return None
    outcome = Outcome.INGESTED if record.state == "ingested" else Outcome.DUPLICATE
    return job.evolve(outcome=outcome, dest_path=record.dest,
                      reason="already recorded: a message delivered again")


def run_all(job: FileJob, ctx: Context) -> FileJob:
    """The whole chain in this process: used by batches and the one-shot `sync`.

    The stages run under one hold of the file's lease instead of one each.
    """
    with ExitStack() as held:
        locked = False
        for name, _ in STAGES:
            if name in LOCKED_STAGES and not locked and not already_past(name, job):
                held.enter_context(file_lock(job, ctx))
                locked = True
            job = run_stage(name, job, ctx, lock=not locked)
    return job


def give_up(job: FileJob, ctx: Context, reason: str) -> FileJob:
    """Mark the job failed and free its content claim so an identical file can still come in.

    A library link this job made is dropped: a source that stays never shares its inode with
    the library (the source name keeps the bytes)."""
    if job.sha256:
        ctx.store.release_content(job.sha256, job.owner)
    if job.placed_ino:
        try:
            drop_shared_link(job, ctx)
        except (OSError, PermanentError) as exc:
            log.warning("%s: could not drop the library link of a failed file: %s",
                        ctx.source_path(job), exc)
    return job.evolve(outcome=Outcome.FAILED, reason=reason)


def fail_and_record(job: FileJob, ctx: Context, reason: str) -> FileJob:
    """Give up on the file and write its failure down (the end of every path that gives up)."""
    return run_stage("record_outcome", give_up(job, ctx, reason), ctx)
