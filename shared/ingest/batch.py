"""Many files at once, stage by stage, through the same stage functions as the chain.

Per file the chain waits for two fsyncs (the copy, its folder) and about seven Redis round
trips. Here every file is placed first, one sync of each filesystem makes all placements
durable, and only then is anything verified, recorded or released: the same guarantee, one
disk wait per batch instead of two per file. Records are read and locks taken for the whole
batch at once. The backend must be in batch mode (`LocalTransfer(fsync=False)`); its
`flush()` is the sync.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol, TypeVar

import redis

from shared.errors import LeaseHeld, RetryableError
from shared.ingest.batch_store import BatchStore
from shared.ingest.batch_verify import verify_all
from shared.ingest.bursts import note_batch_shots
from shared.ingest.claims import claim_lease
from shared.ingest.context import Context
from shared.ingest.leases import file_lease_name
from shared.ingest.pipeline import LOCKED_STAGES, STAGES, run_stage
from shared.ingest.remote_batch import done_sending, send_ahead
from shared.ingest.sets import followers, reads_metadata
from shared.ingest.takeout import takeout_info
from shared.jobs import FileJob, Outcome
from shared.media import is_sidecar, prefetch_metadata
from shared.state import Leases
from shared.transfer import LocalTransfer

log = logging.getLogger(__name__)
T = TypeVar("T")

FLUSH_BEFORE = "verify_copy"
Result = FileJob | Exception


class Sized(Protocol):
    size: int


S = TypeVar("S", bound=Sized)


def chunks(items: Iterable[S], files: int, size: int) -> Iterator[list[S]]:
    """Consecutive groups of at most `files` items and at most `size` bytes (a bigger file
    goes alone): what one `ingest_batch` task, or one `sync` process, takes at a time."""
    current: list[S] = []
    current_bytes = 0
    for item in items:
        if current and (len(current) >= files or current_bytes + item.size > size):
            yield current
            current, current_bytes = [], 0
        current.append(item)
        current_bytes += item.size
    if current:
        yield current


def waves(jobs: list[T], rel_path: Callable[[T], str]) -> list[list[T]]:
    """Images (and videos) first, then the other members of their sets (a Live Photo's video,
    the JPEG of a RAW), then sidecars: each finds where the one it follows landed."""
    media = [j for j in jobs if not is_sidecar(rel_path(j))]
    later = followers(media, rel_path)
    return [[j for i, j in enumerate(media) if i not in later],
            [j for i, j in enumerate(media) if i in later],
            [j for j in jobs if is_sidecar(rel_path(j))]]


def ingest_many(jobs: list[FileJob], ctx: Context,
                settle: Callable[[FileJob, Result | None], T],
                after_wave: Callable[[list[Result | None]], Any] | None = None) -> list[T]:
    """The one batch runner of `ingest_batch` and `sync`: each wave through `run_batch` with one
    sync of the copies per wave; `settle` decides each file's end (a `None` result: the batch
    itself broke and the file is to go on its own)."""
    # stages=True: a copy is made by the read that hashes its source (placing.hash_source).
    batch_ctx = dataclasses.replace(ctx, backend=LocalTransfer(fsync=False, stages=True))
    settled: list[T] = []
    for wave in waves(jobs, lambda job: job.rel_path):
        if not wave:
            continue
        try:
            results: list[Result | None] = list(run_batch(wave, batch_ctx))
        except Exception:  # noqa: BLE001 - a broken batch falls back to one file at a time
            log.exception("batch of %d files failed; going file by file", len(wave))
            results = [None] * len(wave)
        if after_wave is not None:
            after_wave(results)
        settled += [settle(job, result) for job, result in zip(wave, results, strict=True)]
    return settled


def run_batch(jobs: list[FileJob], ctx: Context) -> list[Result]:
    """Outcomes in the order of `jobs` (all of one source); a retryable failure is returned as
    its exception, so one busy file never holds up the rest and the caller decides how it
    waits."""
    if not jobs:
        return []
    store = ctx.store
    batch_store = BatchStore(store, jobs[0].source, [j.rel_path for j in jobs])
    ctx = dataclasses.replace(ctx, store=batch_store)
    results: list[Result] = list(jobs)
    leases: Leases | None = None
    try:
        for name, _ in STAGES:
            if name in LOCKED_STAGES and leases is None:
                leases = batch_store.leases = _lock_all(results, ctx)
                batch_store.read_records()  # under the leases: nothing writes them meanwhile
            if name == FLUSH_BEFORE:
                ctx.backend.flush()
            if name == "claim_content":
                _claim_up_front(results, batch_store, ctx)
            if name == "record_outcome":
                batch_store.defer_outcomes()
            if name == "verify_copy":
                verify_all(results, ctx, batch_store)
                continue
            if name == "transfer_file":
                _prefetch_metadata(results, ctx)
            sent_ahead = send_ahead(results, ctx) if name == "transfer_file" else []
            recorded = []
            for index, job in enumerate(results):
                if isinstance(job, Exception):
                    continue
                try:
                    results[index] = run_stage(name, job, ctx, lock=False)
                    recorded.append(index)
                except (RetryableError, redis.RedisError) as exc:
                    results[index] = exc
            done_sending(sent_ahead)
            if name == "claim_content":
                _release_unused(results, batch_store)
            if name == "record_outcome":
                _flush_outcomes(results, recorded, batch_store)
    finally:
        if isinstance(ctx.backend, LocalTransfer):
            ctx.backend.discard_staged()  # copies no placement took: duplicates, skips
        if leases is not None:
            store.release_many(leases)
    return results


def _prefetch_metadata(results: list[Result], ctx: Context) -> None:
    """The metadata placing will ask for, read for the whole batch in one ExifTool call; the
    batch's burst shots are noted from it before any is planned (its earliest leads)."""
    reading = [job for job in results if isinstance(job, FileJob) and reads_metadata(job, ctx)]
    prefetch_metadata([(ctx.source_path(job), job.mtime_ns, takeout_info(job, ctx))
                       for job in reading])
    note_batch_shots(reading, ctx)


def _claim_up_front(results: list[Result], batch_store: BatchStore, ctx: Context) -> None:
    """The content claims of every hashed image in one pipeline (sidecars claim nothing)."""
    wanted = [(job.sha256, job.owner) for job in results
              if isinstance(job, FileJob) and job.outcome == Outcome.HASHED
              and not is_sidecar(job.rel_path)]
    batch_store.prefetch_claims(wanted, claim_lease(ctx))


def _release_unused(results: list[Result], batch_store: BatchStore) -> None:
    """A claim made up front for a file whose stage did not take it is dropped, but only for
    a file still ours: a file whose lease was lost may be another worker's now, under the
    same owner name."""
    unused = batch_store.unused_claims()
    for job in results:
        if isinstance(job, FileJob) and (job.sha256, job.owner) in unused:
            batch_store.release_content(job.sha256, job.owner)


def _flush_outcomes(results: list[Result], recorded: list[int], batch_store: BatchStore) -> None:
    """The record stage's writes in one transaction; if it fails, no file of it counts as
    recorded: each is retried (its verified record brings it back to the same end)."""
    try:
        batch_store.flush_outcomes()
    except redis.RedisError as exc:
        for index in recorded:
            results[index] = exc


def _lock_all(results: list[Result], ctx: Context) -> Leases:
    """The leases of every job still under way, in one round trip and renewed together by one
    heartbeat while the batch works; a file whose lease a live worker holds is a second
    delivery of work under way (LeaseHeld: it is left to that worker)."""
    wanted = {file_lease_name(job): index for index, job in enumerate(results)
              if isinstance(job, FileJob) and not job.outcome.is_terminal}
    leases = ctx.store.acquire_many(list(wanted), ctx.settings.lease_seconds)
    for name, index in wanted.items():
        if name not in leases.tokens:
            results[index] = LeaseHeld(f"{name} is being handled by another worker")
    return leases
