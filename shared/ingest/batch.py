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
from typing import Any

import redis

from shared.errors import FileBusy, RetryableError
from shared.ingest.context import Context
from shared.ingest.pipeline import LOCKED_STAGES, STAGES, run_stage
from shared.jobs import FileJob
from shared.state import FileRecord, RedisStateStore

FLUSH_BEFORE = "verify_copy"
Result = FileJob | Exception


class PrefetchedRecords:
    """The store, with the batch's file records read in one round trip and kept current."""

    def __init__(self, store: RedisStateStore, source: str, rels: list[str]) -> None:
        self._store = store
        self._source = source
        self._records = store.get_records(source, rels)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def get_record(self, source: str, rel: str) -> FileRecord | None:
        if source == self._source and rel in self._records:
            return self._records[rel]
        return self._store.get_record(source, rel)

    def put_record(self, source: str, rel: str, record: FileRecord) -> None:
        self._store.put_record(source, rel, record)
        self._remember(source, rel, record)

    def settle_verified(self, source: str, rel: str, record: FileRecord,
                        library: str | None) -> None:
        self._store.settle_verified(source, rel, record, library)
        self._remember(source, rel, record)

    def finish(self, source: str, rel: str, record: FileRecord | None = None,
               **rest: Any) -> None:
        self._store.finish(source, rel, record=record, **rest)
        if record is not None:
            self._remember(source, rel, record)

    def _remember(self, source: str, rel: str, record: FileRecord) -> None:
        if source == self._source and rel in self._records:
            self._records[rel] = record


def run_batch(jobs: list[FileJob], ctx: Context) -> list[Result]:
    """Outcomes in the order of `jobs` (all of one source); a retryable failure is returned as
    its exception, so one busy file never holds up the rest and the caller decides how it
    waits."""
    if not jobs:
        return []
    store = ctx.store
    ctx = dataclasses.replace(
        ctx, store=PrefetchedRecords(store, jobs[0].source, [j.rel_path for j in jobs]))
    results: list[Result] = list(jobs)
    tokens: dict[str, str] | None = None
    try:
        for name, _ in STAGES:
            if name in LOCKED_STAGES and tokens is None:
                tokens = _lock_all(results, ctx)
            if name == FLUSH_BEFORE:
                ctx.backend.flush()
            for index, job in enumerate(results):
                if isinstance(job, Exception):
                    continue
                try:
                    results[index] = run_stage(name, job, ctx, lock=False)
                except (RetryableError, redis.RedisError) as exc:
                    results[index] = exc
    finally:
        store.release_many(tokens or {})
    return results


def _lock_all(results: list[Result], ctx: Context) -> dict[str, str]:
    """The per-file locks of every job still under way, in one round trip; a file whose lock
    is held elsewhere becomes FileBusy."""
    wanted = {f"file:{job.source}:{job.rel_path}": index for index, job in enumerate(results)
              if isinstance(job, FileJob) and not job.outcome.is_terminal}
    tokens = ctx.store.acquire_many(list(wanted), ctx.settings.visibility_timeout)
    for name, index in wanted.items():
        if name not in tokens:
            results[index] = FileBusy(f"{name} is being handled by another worker")
    return tokens
