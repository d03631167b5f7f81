"""What happens to a file whose content the library already holds: the library's policy.

`archive` and `delete` remove the user's source file, so both go through the same race-free
release as move mode, checked against the identity the source had when it was hashed: a photo
that replaced it since (same name, maybe the same size and mtime) is kept, never deleted.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from shared.errors import PermanentError, SourceVanished
from shared.ingest.context import Context
from shared.ingest.placing import place_without_overwrite
from shared.ingest.releasing import (
    drop_link,
    refuse_overlap,
    source_changed,
    source_identity,
)
from shared.jobs import FileJob, Outcome
from shared.state import FileRecord
from shared.transfer import (
    Identity,
    LocalTransfer,
    hidden_path,
    release_file,
    restore_interrupted_release,
)


def handle_duplicate(
    job: FileJob, ctx: Context, library_root_of_holder: Path, holder_rel: str
) -> FileJob:
    """Apply skip / archive / delete. In copy mode the source is never touched."""
    library = ctx.library(job)
    source = ctx.source(job)
    job = job.evolve(outcome=Outcome.DUPLICATE, dest_path=holder_rel)
    if source.mode == "copy" or library.duplicates == "skip":
        return job.evolve(reason="duplicate: left in place")
    changed = source_changed(job, ctx)
    if changed:
        return _kept(job, changed)
    src = ctx.source_path(job)
    if not os.path.lexists(src) and not os.path.lexists(hidden_path(src)):
        done = "archived" if library.duplicates == "archive" else "deleted"
        return job.evolve(reason=f"duplicate: {done} by an earlier run")
    if library.duplicates == "archive":
        assert library.archive_path is not None  # checked when the settings were built
        archive = library.archive_path
        return _recorded_first(job, ctx, lambda: _archive(job, ctx, archive))
    return _recorded_first(job, ctx,
                           lambda: _delete(job, ctx, library_root_of_holder, holder_rel))


def duplicate_record(job: FileJob) -> FileRecord:
    """The record a duplicate's outcome writes (recording.py), so the two are equal."""
    return FileRecord(job.size, job.mtime_ns, job.inode, job.sha256, "duplicate",
                      job.dest_path, job.date_source)


def _recorded_first(job: FileJob, ctx: Context, release: Callable[[], FileJob]) -> FileJob:
    """Record the duplicate before its source goes: a delivery that dies between the two
    (its outcome not journaled yet) leaves its next delivery a record to journal the outcome
    from (hash_file), not a vanished source and no trace. Put back if the source stays."""
    previous = ctx.store.get_record(job.source, job.rel_path)
    ctx.store.put_record(job.source, job.rel_path, duplicate_record(job))
    try:
        done = release()
    except BaseException:
        _put_back(job, ctx, previous)
        raise
    if done.outcome != Outcome.DUPLICATE:
        _put_back(job, ctx, previous)
    return done


def _put_back(job: FileJob, ctx: Context, previous: FileRecord | None) -> None:
    if previous is None:
        ctx.store.forget_records(job.source, [job.rel_path])
    else:
        ctx.store.put_record(job.source, job.rel_path, previous)


def _kept(job: FileJob, why: str) -> FileJob:
    return job.evolve(outcome=Outcome.SKIPPED,
                      reason=f"duplicate, but the source was kept: {why}; a new version is a job "
                             "of its own")


def _archive(job: FileJob, ctx: Context, archive_root: Path) -> FileJob:
    """Link (or copy) the source into the archive, prove it, then release the source."""
    backend = LocalTransfer()
    src = ctx.source_path(job)
    target = f"{job.source}/{job.rel_path}"
    refuse_overlap(src, os.path.join(archive_root, target), ctx)
    try:
        rel = place_without_overwrite(backend, src, archive_root, target, job,
                                      link_ok=True).rel_path
    except SourceVanished:
        restore_interrupted_release(src)
        raise
    archived = os.path.join(archive_root, rel)
    expected = _after_link(source_identity(job), src, archived)
    if backend.digest(archive_root, rel) != (job.size, job.sha256):
        drop_link(archived, src)
        raise PermanentError(f"{src}: archived copy at {rel!r} does not match; source kept")
    done = release_file(src, expected, keep=archived)
    if done.status == "kept":
        drop_link(archived, src)  # never leave the archive sharing the kept source's inode
        return _kept(job, done.reason)
    return job.evolve(reason=f"duplicate: archived to {archived}")


def _after_link(expected: Identity, src: str, placed: str) -> Identity:
    """A hard link into the archive moved the shared inode's ctime: expect that one (the
    archive copy's read-back then proves the content of that very inode)."""
    try:
        at_src, at_dest = os.lstat(src), os.lstat(placed)
    except FileNotFoundError:
        return expected
    if (at_src.st_dev, at_src.st_ino) != (at_dest.st_dev, at_dest.st_ino):
        return expected
    return Identity(expected.dev, expected.ino, expected.size, expected.mtime_ns,
                    at_src.st_ctime_ns)


def _delete(job: FileJob, ctx: Context, holder_root: Path, holder_rel: str) -> FileJob:
    """Delete the source only after re-reading the library copy it duplicates."""
    src = ctx.source_path(job)
    holder = ctx.settings.libraries.get(job.duplicate_of.split("/", 1)[0])
    backend = ctx.backend_for(holder) if holder is not None else ctx.backend
    if backend.digest(holder_root, holder_rel) != (job.size, job.sha256):
        raise PermanentError(f"{src}: the library copy {holder_rel!r} no longer matches; kept")
    keep = None
    if isinstance(backend, LocalTransfer):
        keep = os.path.join(holder_root, holder_rel)
        refuse_overlap(src, keep, ctx)
    done = release_file(src, source_identity(job), keep=keep)
    if done.status == "kept":
        return _kept(job, done.reason)
    return job.evolve(reason="duplicate: deleted")
