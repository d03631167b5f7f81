"""A batch's files for libraries on SSH targets, sent ahead together before each is placed.

The transfer stage places one file at a time; over SSH each placement of the rsync backend is
one rsync run with its own login on the target. Before that stage the batch hands each remote
backend the files it is about to place (source path, library path, size, mtime), and the
backend sends their bytes in one run (shared/remote/preupload.py); each placement then checks
what it finds as it checks everything. After the stage, what no placement took is removed.
"""

from __future__ import annotations

import logging

from shared.ingest.context import Context
from shared.ingest.placing import target_rel_path
from shared.jobs import FileJob, Outcome
from shared.remote import RemoteTransfer

log = logging.getLogger(__name__)


def send_ahead(results: list[FileJob | Exception], ctx: Context) -> list[RemoteTransfer]:
    """Hand each remote backend the batch's files it will place; the backends handed any."""
    by_backend: dict[int, tuple[RemoteTransfer, str, list[tuple[str, str, int, int]]]] = {}
    for job in results:
        if isinstance(job, Exception) or job.outcome != Outcome.CLAIMED:
            continue
        library = ctx.library(job)
        backend = ctx.backend_for(library)
        if not isinstance(backend, RemoteTransfer):
            continue
        entry = by_backend.setdefault(id(backend), (backend, str(library.path), []))
        entry[2].append((ctx.source_path(job), target_rel_path(job, ctx), job.size,
                         job.mtime_ns))
    for backend, root, files in by_backend.values():
        try:
            backend.prepare(root, files)  # type: ignore[arg-type]
        except Exception as exc:  # noqa: BLE001 - only a head start: each placement sends its own
            log.info("sending %d files ahead failed: %s", len(files), exc)
    return [backend for backend, _, _ in by_backend.values()]


def done_sending(backends: list[RemoteTransfer]) -> None:
    """Remove the sent-ahead temps no placement took; an unreachable target keeps them (a
    later upload of the same version resumes from its temp, and stale ones are removed)."""
    for backend in backends:
        try:
            backend.done_preparing()
        except Exception as exc:  # noqa: BLE001 - leftovers are our own temp files
            log.info("cannot remove temps sent ahead: %s", exc)
