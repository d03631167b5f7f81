"""Transfer and verification: put the bytes in the library, prove them, release the source."""

from __future__ import annotations

import os
import posixpath
from pathlib import Path
from typing import TypeGuard

from shared.crashpoints import crash_point
from shared.errors import (
    FileBusy,
    HashMismatch,
    PermanentError,
    SetPartnerPending,
    SourceVanished,
)
from shared.ingest.context import Context
from shared.ingest.dating import date_source_of
from shared.ingest.leases import confirm_file_lease
from shared.ingest.releasing import (
    discard_bad_copy,
    keep_apart,
    refuse_overlap,
    release_source,
    source_changed,
    source_identity,
)
from shared.ingest.sets import WAIT_SECONDS, free_for_set, gave_up, on_its_way, plan_set
from shared.ingest.takeout import hold_for_json, takeout_info, write_xmp_beside
from shared.jobs import FileJob, Outcome
from shared.media import (
    MEDIA_EXTENSIONS,
    image_candidates,
    is_sidecar,
    layout_path,
    media_for,
    needs_metadata,
    read_metadata,
    sidecar_name_for,
    with_suffix_number,
)
from shared.state import FileRecord
from shared.transfer import (
    Expected,
    Identity,
    LocalTransfer,
    Placement,
    TransferBackend,
    release_file,
    sha256_file,
)

MAX_NAME_TRIES = 1000


def hash_source(job: FileJob, ctx: Context) -> tuple[str, os.stat_result]:
    """The source's sha256 and its stat as read; FileBusy if it changed while being read.

    A batch copying into a local library makes its copy with this same read (one read of the
    source instead of two): the temp copy waits in the library's root until `transfer_file`
    links it into place, or the batch's end removes it (a duplicate, a skip, a failure). The
    copy is still proven by its read-back before the source is touched.
    """
    path = ctx.source_path(job)
    library = ctx.library(job)
    backend = ctx.backend_for(library)
    if isinstance(backend, LocalTransfer) and backend.stages and _copies(path, job, ctx):
        return backend.stage(path, str(library.path))
    return sha256_file(path)


def _copies(path: str, job: FileJob, ctx: Context) -> bool:
    """The file will be copied, not hard-linked: copy mode, or a move across filesystems."""
    if ctx.source(job).mode != "move":
        return True
    try:
        return os.lstat(path).st_dev != os.stat(ctx.library(job).path).st_dev
    except OSError:
        return False  # let the hash say what is wrong with it


def transfer_file(job: FileJob, ctx: Context) -> FileJob:
    """Place the file at its library path, or confirm an earlier run already did."""
    source, library = ctx.source(job), ctx.library(job)
    src = ctx.source_path(job)
    changed = _changed_since_hashed(src, job)
    if changed:
        return _skip_changed(job, ctx, changed)
    target = target_rel_path(job, ctx)
    backend = ctx.backend_for(library)
    local = isinstance(backend, LocalTransfer)
    if local:
        refuse_overlap(src, os.path.join(library.path, target), ctx)
    placed = place_without_overwrite(backend, src, library.path, target, job,
                                     link_ok=source.mode == "move")
    job = job.evolve(outcome=Outcome.TRANSFERRED, dest_path=placed.rel_path,
                     copied=not placed.linked and bool(placed.check), copy_check=placed.check,
                     date_source=date_source_of(job, ctx, target))
    if source.takeout_xmp:
        write_xmp_beside(job, ctx, takeout_info(job, ctx))
    return _note_placement(job, ctx, placed) if local else job


def _changed_since_hashed(src: str, job: FileJob) -> str | None:
    """Device, inode, size or mtime moved since the hash. Not the ctime: our own link of an
    earlier, interrupted run moved it; a link's content is proven by its read-back instead, a
    copy's by the check after it was made (`_note_placement`)."""
    try:
        info = os.lstat(src)
    except FileNotFoundError:
        raise SourceVanished(f"{src}: vanished before it could be transferred") from None
    return source_identity(job).differs(info, ctime=False)


def _skip_changed(job: FileJob, ctx: Context, why: str) -> FileJob:
    ctx.store.release_content(job.sha256, job.owner)
    return job.evolve(outcome=Outcome.SKIPPED,
                      reason=f"changed since it was hashed ({why}); the new version is a job of "
                             "its own")


def _note_placement(job: FileJob, ctx: Context, placed: Placement) -> FileJob:
    """Record which inode we put in place, and re-check the source against the placement."""
    src, final = ctx.source_path(job), os.path.join(ctx.library(job).path, placed.rel_path)
    info = os.lstat(final)
    job = job.evolve(placed_dev=info.st_dev, placed_ino=info.st_ino,
                     placed_ctime_ns=info.st_ctime_ns)
    try:
        now = os.lstat(src)
    except FileNotFoundError:
        raise SourceVanished(f"{src}: vanished while it was being transferred") from None
    if (now.st_dev, now.st_ino) == (info.st_dev, info.st_ino):
        # Our hard link: it moved the shared inode's ctime, so the source is expected with that
        # ctime from here on; verify_copy reads this very inode back against the hash.
        return job.evolve(ctime_ns=now.st_ctime_ns)
    changed = source_identity(job).differs(now)
    if changed and placed.check:
        # Changed while we copied it (an edit that kept the mtime moves the ctime): the copy
        # may hold other bytes than the hash names. It is ours and just made: it goes.
        release_file(final, Identity.of(info), keep=src, source=False)
    return _skip_changed(job, ctx, changed) if changed else job


def place_without_overwrite(
    backend: TransferBackend, src: str, root: Path, target: str, job: FileJob, link_ok: bool
) -> Placement:
    """Put src at target, or at 'name (2).ext', 'name (3).ext'… when a name holds other content.

    A name that already holds exactly these bytes is taken as ours: that is what makes a re-run
    after a crash between placing and recording land on the same file instead of a second copy.
    Any other file under a final name is a name collision, whatever its size or mtime: it is
    never removed or replaced (only our temp names are, inside the backend).
    """
    for number in range(1, MAX_NAME_TRIES + 1):
        rel = target if number == 1 else with_suffix_number(target, number)
        existing = backend.stat(root, rel)
        if existing is not None:
            if existing[0] == job.size and backend.digest(root, rel) == (job.size, job.sha256):
                # Ours from an earlier run, maybe linked but never synced: durable first.
                backend.make_durable(root, rel)
                return Placement(rel, job.sha256, job.size, linked=False)
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
    meta = None
    if needs_metadata(library.layout):
        takeout = takeout_info(job, ctx)
        if takeout is None:
            hold_for_json(job, ctx)  # (a Takeout file that arrived moments before its JSON)
        meta = read_metadata(ctx.source_path(job), job.mtime_ns, takeout=takeout)
    in_set = plan_set(job, ctx, meta)  # the rest of a set goes where its first went
    if in_set.target:
        return in_set.target
    target = layout_path(library.layout, job.rel_path, job.source, meta, library.dates,
                         sha256=job.sha256)
    return free_for_set(target, in_set.others, job, ctx) if in_set.others else target


def _sidecar_target(job: FileJob, ctx: Context) -> str | None:
    """Beside the image this sidecar arrived with. An image still in the source pairs only once
    its present version is recorded (a record of last year's image of that name is not it);
    an image already gone pairs with its newest record."""
    folder = posixpath.dirname(job.rel_path)
    source_folder = os.path.join(ctx.source(job).path, folder)
    try:
        present = os.listdir(source_folder)
    except OSError:
        present = []
    candidates = image_candidates(job.rel_path, present)
    if not candidates and job.rel_path.lower().endswith(".json"):  # a truncated Takeout name
        candidates = [posixpath.join(folder, name)
                      for name in media_for(posixpath.basename(job.rel_path), present)]
    for image_rel in candidates:
        record = ctx.store.get_record(job.source, image_rel)
        if _done(record) and _is_present_version(record, ctx, job.source, image_rel):
            return sidecar_name_for(job.rel_path, image_rel, record.dest)
    if candidates:
        image = os.path.join(ctx.source(job).path, candidates[0])
        if gave_up(ctx.store.get_record(job.source, candidates[0]), image):
            # Its image will not land as it is: retried with backoff, then failed like it.
            raise FileBusy(f"{ctx.source_path(job)}: its image {candidates[0]!r} did not land")
        if not on_its_way(ctx, job.source, candidates[0], image):
            # Nothing carries its image (not queued): retried with backoff, as any busy file.
            raise FileBusy(f"{ctx.source_path(job)}: waiting for its image {candidates[0]!r}")
        # Its image is on its way (queued, being copied, its message being sent again): look
        # again soon, using up no retry, so the sidecar lands seconds after its image.
        raise SetPartnerPending(f"{ctx.source_path(job)}: waiting for its image "
                                f"{candidates[0]!r}", WAIT_SECONDS)
    found = [(record, image_rel) for image_rel in _guessed_images(job.rel_path)
             if _landed(record := ctx.store.get_record(job.source, image_rel))]
    if found:
        record, image_rel = max(found, key=lambda pair: pair[0].mtime_ns)
        return sidecar_name_for(job.rel_path, image_rel, record.dest)
    return None  # an orphan sidecar: it goes where the layout says


def _landed(record: FileRecord | None) -> TypeGuard[FileRecord]:
    """The image that left the source is in the library for good: recorded done (a duplicate
    is recorded before its source is deleted), or verified (its copy proven and its name
    final, its source released, its outcome about to be recorded). Going where an orphan goes
    instead would give the sidecar a second name, beside the image, if it is delivered again
    after its link."""
    return _done(record) or (record is not None and bool(record.dest)
                             and record.state == "verified")


def _done(record: FileRecord | None) -> TypeGuard[FileRecord]:
    return record is not None and bool(record.dest) and record.state in ("ingested", "duplicate")


def _is_present_version(record: FileRecord, ctx: Context, source: str, image_rel: str) -> bool:
    try:
        info = os.lstat(os.path.join(ctx.settings.sources[source].path, image_rel))
    except FileNotFoundError:
        return True  # it left the source since the listing: the record is its last version
    return (info.st_size, info.st_mtime_ns) == (record.size, record.mtime_ns)


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
    """Read the copy back; only a copy that matches size and hash releases the source, and
    only while the source still is the version proven."""
    job, changed = check_copy(job, ctx)
    if job.outcome.is_terminal:
        return job
    return settle_copy(job, ctx, changed)


def check_copy(job: FileJob, ctx: Context) -> tuple[FileJob, str | None]:
    """The first half of `verify_copy`: the copy read back and proven (a bad one copied again,
    up to verify_attempts), and in move mode the source checked against the version proven.
    The job comes back still TRANSFERRED, with why its source is to be kept (or None), or
    terminal."""
    attempts = max(1, ctx.settings.verify_attempts)
    for attempt in range(1, attempts + 1):
        if _copy_matches(job, ctx):
            break
        discard_bad_copy(job, ctx)
        if attempt == attempts:
            raise HashMismatch(f"{ctx.source_path(job)}: the copy at {job.dest_path!r} differs "
                               f"after {attempts} tries; the source is kept")
        job = transfer_file(job.evolve(copy_check=""), ctx)
        if job.outcome.is_terminal:
            return job, None
    changed = source_changed(job, ctx) if ctx.source(job).mode == "move" else None
    if changed and not keep_apart(job, ctx):
        return _skip_changed(job, ctx, changed), None
    return job, changed


def settle_copy(job: FileJob, ctx: Context, changed: str | None,
                settled: bool = False) -> FileJob:
    """The second half: record the proven copy, then release the source. `settled`: a batch
    already recorded it, with the lease confirmed, in one transaction for all its files."""
    if not settled:
        # Recorded before the source goes, in one transaction: a crash between the two
        # resumes here (see hash_file) instead of finding a vanished source. Only while the
        # file's lease is still ours: a holder that lost it may share the file with a new one,
        # which could be discarding this very copy (the check renews it for a whole lease,
        # enough for the release).
        confirm_file_lease(job, ctx)
        ctx.store.settle_verified(job.source, job.rel_path, verified_record(job),
                                  settled_library(job, ctx))
    crash_point("verified-recorded")
    if changed:
        return job.evolve(outcome=Outcome.VERIFIED, reason=f"the source was kept: {changed}")
    kept = release_source(job, ctx)
    if kept and not keep_apart(job, ctx):
        return job.evolve(outcome=Outcome.SKIPPED,
                          reason=f"{kept}; our library link to it was dropped")
    return job.evolve(outcome=Outcome.VERIFIED, reason=kept)


def settled_library(job: FileJob, ctx: Context) -> str | None:
    """The library whose content index the verified copy goes in (a sidecar: none)."""
    return None if is_sidecar(job.rel_path) else ctx.library(job).name


def _copy_matches(job: FileJob, ctx: Context) -> bool:
    library = ctx.library(job)
    root, backend = library.path, ctx.backend_for(library)
    if library.verify == "disk" and isinstance(backend, LocalTransfer):
        # The copy is durable by now (fsynced, or the batch's sync): its pages are clean and
        # can go, so the read-back below reads the disk instead of the cache.
        backend.drop_cache(root, job.dest_path)
    if job.copy_check:  # a copy: compare with the digest of the bytes it was made from
        return backend.digest(root, job.dest_path, check=True) == (job.size, job.copy_check)
    return backend.digest(root, job.dest_path) == (job.size, job.sha256)


def verified_record(job: FileJob) -> FileRecord:
    return FileRecord(job.size, job.mtime_ns, job.inode, job.sha256, "verified", job.dest_path)
