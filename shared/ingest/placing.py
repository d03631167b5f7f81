"""Transfer and verification: put the bytes in the library, prove them, release the source."""

from __future__ import annotations

import os
import posixpath
from pathlib import Path

from shared.errors import FileBusy, HashMismatch, PermanentError, SourceVanished
from shared.ingest.context import Context
from shared.jobs import FileJob, Outcome
from shared.media import (
    MEDIA_EXTENSIONS,
    capture_date,
    image_candidates,
    is_sidecar,
    library_rel_path,
    needs_date,
    sidecar_name_for,
    with_suffix_number,
)
from shared.state import FileRecord
from shared.transfer import Expected, Placement, TransferBackend, fsync_dir

MAX_NAME_TRIES = 1000


def transfer_file(job: FileJob, ctx: Context) -> FileJob:
    """Place the file at its library path, or confirm an earlier run already did."""
    source, library = ctx.source(job), ctx.library(job)
    src = ctx.source_path(job)
    if _changed_since_hashed(src, job):
        ctx.store.release_content(job.sha256, job.owner)
        return job.evolve(outcome=Outcome.SKIPPED,
                          reason="changed since it was hashed; the new version is a job of its own")
    target = target_rel_path(job, ctx)
    placed = place_without_overwrite(
        ctx.backend_for(library), src, library.path, target, job, link_ok=source.mode == "move"
    )
    return job.evolve(outcome=Outcome.TRANSFERRED, dest_path=placed.rel_path,
                      copied=not placed.linked and bool(placed.check), copy_check=placed.check)


def _changed_since_hashed(src: str, job: FileJob) -> bool:
    try:
        info = os.lstat(src)
    except FileNotFoundError:
        raise SourceVanished(f"{src}: vanished before it could be transferred") from None
    return (info.st_size, info.st_mtime_ns) != (job.size, job.mtime_ns)


def place_without_overwrite(
    backend: TransferBackend, src: str, root: Path, target: str, job: FileJob, link_ok: bool
) -> Placement:
    """Put src at target, or at 'name (2).ext', 'name (3).ext'… when a name holds other content.

    A name that already holds exactly these bytes is taken as ours: that is what makes a re-run
    after a crash between placing and recording land on the same file instead of a second copy.
    """
    for number in range(1, MAX_NAME_TRIES + 1):
        rel = target if number == 1 else with_suffix_number(target, number)
        existing = backend.stat(root, rel)
        if existing is not None:
            size, mtime_ns = existing
            if size == job.size and backend.digest(root, rel) == (job.size, job.sha256):
                return Placement(rel, job.sha256, job.size, linked=False)
            if size < job.size and mtime_ns == job.mtime_ns:
                # Our own copy, cut short by a crash before it was synced (a copy carries the
                # source's mtime): replace it rather than leave it beside a second copy.
                backend.remove(root, rel)
            else:
                continue
        placed = backend.place(src, root, rel, Expected(job.size, job.mtime_ns, job.sha256),
                               link_ok)
        if placed is not None:
            return placed
    raise PermanentError(f"{src}: no free name for {target!r} after {MAX_NAME_TRIES} tries")


def target_rel_path(job: FileJob, ctx: Context) -> str:
    """Where the file belongs: beside its image for a sidecar, else by the library layout."""
    if is_sidecar(job.rel_path):
        paired = _sidecar_target(job, ctx)
        if paired:
            return paired
    library = ctx.library(job)
    date = capture_date(ctx.source_path(job), job.mtime_ns) if needs_date(library.layout) else None
    return library_rel_path(library.layout, job.rel_path, job.source, date)


def _sidecar_target(job: FileJob, ctx: Context) -> str | None:
    folder = posixpath.dirname(job.rel_path)
    source_folder = os.path.join(ctx.source(job).path, folder)
    try:
        present = os.listdir(source_folder)
    except OSError:
        present = []
    candidates = image_candidates(job.rel_path, present)
    guesses = _guessed_images(job.rel_path)
    for image_rel in candidates + [g for g in guesses if g not in candidates]:
        record = ctx.store.get_record(job.source, image_rel)
        if record and record.dest and record.state in ("ingested", "duplicate"):
            return sidecar_name_for(job.rel_path, image_rel, record.dest)
    if candidates:
        raise FileBusy(f"{ctx.source_path(job)}: waiting for its image {candidates[0]!r}")
    return None  # an orphan sidecar: it goes where the layout says


def _guessed_images(rel_path: str) -> list[str]:
    """Image names a sidecar may belong to once the image itself has left the source."""
    folder, name = posixpath.split(rel_path)
    stem, _ = os.path.splitext(name)
    if "." in stem and stem.rsplit(".", 1)[1].lower() in MEDIA_EXTENSIONS:
        return [posixpath.join(folder, stem)]
    stem = stem.split(".", 1)[0]
    exts = sorted(MEDIA_EXTENSIONS)
    return [posixpath.join(folder, f"{stem}.{e}") for e in exts + [e.upper() for e in exts]]


def verify_copy(job: FileJob, ctx: Context) -> FileJob:
    """Read the copy back; only a copy that matches size and hash releases the source."""
    library = ctx.library(job)
    attempts = max(1, ctx.settings.verify_attempts)
    for attempt in range(1, attempts + 1):
        if _copy_matches(job, ctx):
            break
        _discard_bad_copy(job, ctx)
        if attempt == attempts:
            raise HashMismatch(f"{ctx.source_path(job)}: the copy at {job.dest_path!r} differs "
                           f"after {attempts} tries; the source is kept")
        job = transfer_file(job.evolve(copy_check=""), ctx)
        if job.outcome.is_terminal:
            return job
    # Recorded before the source goes, in one transaction: a crash between the two resumes
    # here (see hash_file) instead of finding a vanished source.
    ctx.store.settle_verified(job.source, job.rel_path, _verified_record(job, ctx),
                              None if is_sidecar(job.rel_path) else library.name)
    release_source(job, ctx)
    return job.evolve(outcome=Outcome.VERIFIED)


def _copy_matches(job: FileJob, ctx: Context) -> bool:
    root, backend = ctx.library(job).path, ctx.backend_for(ctx.library(job))
    if job.copy_check:  # a copy: compare with the digest of the bytes it was made from
        return backend.digest(root, job.dest_path, check=True) == (job.size, job.copy_check)
    return backend.digest(root, job.dest_path) == (job.size, job.sha256)


def _verified_record(job: FileJob, ctx: Context) -> FileRecord:
    return FileRecord(job.size, job.mtime_ns, job.inode, job.sha256, "verified", job.dest_path)


def _discard_bad_copy(job: FileJob, ctx: Context) -> None:
    """Remove a copy that fails verification, but only if it is ours (our size and mtime).

    A file someone edited in the library since has another mtime: it is left alone and the
    re-transfer picks a new name.
    """
    library = ctx.library(job)
    backend = ctx.backend_for(library)
    found = backend.stat(library.path, job.dest_path)
    # Whole seconds: SFTP carries mtimes in seconds only.
    if found is not None and (found[0], found[1] // 10**9) == (job.size, job.mtime_ns // 10**9):
        backend.remove(library.path, job.dest_path)


def release_source(job: FileJob, ctx: Context) -> None:
    """In move mode, remove the source name — only if it still is the version we verified."""
    if ctx.source(job).mode != "move":
        return
    path = ctx.source_path(job)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return  # released by an earlier run of this stage
    if (info.st_size, info.st_mtime_ns) != (job.size, job.mtime_ns):
        return  # a newer version arrived meanwhile: it is a job of its own, keep it
    os.unlink(path)
    fsync_dir(os.path.dirname(path))
