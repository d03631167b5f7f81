"""What happens to a file whose content the library already holds: the library's policy."""

from __future__ import annotations

import os
from pathlib import Path

from shared.errors import PermanentError
from shared.ingest.context import Context
from shared.ingest.placing import place_without_overwrite
from shared.jobs import FileJob, Outcome
from shared.transfer import LocalTransfer, fsync_dir


def handle_duplicate(
    job: FileJob, ctx: Context, library_root_of_holder: Path, holder_rel: str
) -> FileJob:
    """Apply skip / archive / delete. In copy mode the source is never touched."""
    library = ctx.library(job)
    source = ctx.source(job)
    job = job.evolve(outcome=Outcome.DUPLICATE, dest_path=holder_rel)
    if source.mode == "copy" or library.duplicates == "skip":
        return job.evolve(reason="duplicate: left in place")
    if library.duplicates == "archive":
        assert library.archive_path is not None  # checked when the settings were built
        return _archive(job, ctx, library.archive_path)
    return _delete(job, ctx, library_root_of_holder, holder_rel)


def _archive(job: FileJob, ctx: Context, archive_root: Path) -> FileJob:

    backend = LocalTransfer()
    src = ctx.source_path(job)
    if not os.path.lexists(src):
        return job.evolve(reason="duplicate: archived by an earlier run")
    target = f"{job.source}/{job.rel_path}"
    rel = place_without_overwrite(backend, src, archive_root, target, job, link_ok=True).rel_path
    if backend.digest(archive_root, rel) != (job.size, job.sha256):
        raise PermanentError(f"{src}: archived copy at {rel!r} does not match; source kept")
    _unlink_source(src)
    return job.evolve(reason=f"duplicate: archived to {archive_root / rel}")


def _delete(job: FileJob, ctx: Context, holder_root: Path, holder_rel: str) -> FileJob:
    """Delete the source only after re-reading the library copy it duplicates."""
    src = ctx.source_path(job)
    if not os.path.lexists(src):
        return job.evolve(reason="duplicate: deleted by an earlier run")
    holder = ctx.settings.libraries.get(job.duplicate_of.split("/", 1)[0])
    backend = ctx.backend_for(holder) if holder is not None else ctx.backend
    if backend.digest(holder_root, holder_rel) != (job.size, job.sha256):
        raise PermanentError(f"{src}: the library copy {holder_rel!r} no longer matches; kept")
    _unlink_source(src)
    return job.evolve(reason="duplicate: deleted")


def _unlink_source(path: str) -> None:
    os.unlink(path)
    fsync_dir(os.path.dirname(path))
