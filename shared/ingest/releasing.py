"""What the ingest may remove, and when: the source once its copy is proven, our own library
file when it fails verification, and nothing else — never the only remaining copy.

Every removal of a user's file goes through `shared.transfer.release_file` (identity re-checked
from an O_NOFOLLOW fstat, renamed aside, checked again, unlinked). This module decides which
identity each removal is checked against and what becomes of a library copy that is hard-linked
to a source that has to be kept.
"""

from __future__ import annotations

import os
import posixpath
from typing import NoReturn

from shared.errors import PermanentError
from shared.ingest.context import Context
from shared.jobs import FileJob
from shared.transfer import (
    QUARANTINE_DIR,
    Identity,
    LocalTransfer,
    fsync_dir,
    give_own_copy,
    move_to_free_name,
    release_file,
    restore_interrupted_release,
)


def source_identity(job: FileJob) -> Identity:
    """The source as its content was proven (after our own link, for a hard-linked copy)."""
    return Identity(job.dev, job.inode, job.size, job.mtime_ns, job.ctime_ns)


def local_dest(job: FileJob, ctx: Context) -> str | None:
    """The library copy's path when the library is on a local or mounted filesystem."""
    library = ctx.library(job)
    if not job.dest_path or not isinstance(ctx.backend_for(library), LocalTransfer):
        return None
    return os.path.join(library.path, job.dest_path)


def refuse_overlap(src: str, dest: str, ctx: Context) -> None:
    """Second line of defence behind the configuration check: never place into a source."""
    real = os.path.realpath(dest)
    for name, source in ctx.settings.sources.items():
        root = os.path.realpath(source.path)
        if real == root or real.startswith(root.rstrip("/") + "/"):
            raise PermanentError(f"refusing to place {src} at {dest}: that lies inside source "
                                 f"{name!r} ({root}); the source is kept")


def source_changed(job: FileJob, ctx: Context) -> str | None:
    """Why the source is no longer the version proven (None: it is, or it is gone)."""
    path = ctx.source_path(job)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"it cannot be opened as a file: {exc.strerror}"
    try:
        return source_identity(job).differs(os.fstat(fd))
    finally:
        os.close(fd)


def release_source(job: FileJob, ctx: Context) -> str:
    """In move mode, remove the source name if it still is the version proven; "" when it is
    gone, else why it was kept."""
    if ctx.source(job).mode != "move":
        return ""
    src, dest = ctx.source_path(job), local_dest(job, ctx)
    if dest is not None:
        refuse_overlap(src, dest, ctx)
    done = release_file(src, source_identity(job), keep=dest)
    return f"the source was kept: {done.reason}" if done.status == "kept" else ""


def keep_apart(job: FileJob, ctx: Context) -> bool:
    """The source is kept: make sure the library copy is not a second name of its inode
    (editing one would edit the other). True when the library still holds the content, as a
    file of its own; False when our link had to be dropped (its bytes changed: the source
    holds them, and its new version is a job of its own)."""
    dest, src = local_dest(job, ctx), ctx.source_path(job)
    if dest is None:
        return True
    try:
        placed, source = os.lstat(dest), os.lstat(src)
    except FileNotFoundError:
        return os.path.lexists(dest)
    if (placed.st_dev, placed.st_ino) != (source.st_dev, source.st_ino):
        return True  # a copy: independent already
    if give_own_copy(dest, src, job.sha256, job.mtime_ns):
        return True
    drop_link(dest, src)
    return False


def drop_link(dest: str, src: str) -> None:
    """Remove our library (or archive) name of the source's inode, if that is what it is; the
    source name keeps the bytes. Anything else under that name is left alone."""
    try:
        placed, source = os.lstat(dest), os.lstat(src)
    except FileNotFoundError:
        return
    if (placed.st_dev, placed.st_ino) == (source.st_dev, source.st_ino):
        release_file(dest, Identity.of(placed), keep=src, source=False)


def drop_shared_link(job: FileJob, ctx: Context) -> None:
    """A job that gives up never leaves its library link sharing the kept source's inode."""
    dest = local_dest(job, ctx)
    if dest is not None and job.placed_ino:
        drop_link(dest, ctx.source_path(job))


def source_present(path: str) -> bool:
    """The source still exists — also when a killed release left it under its hidden name
    (that release is undone: the file is put back)."""
    return os.path.lexists(path) or restore_interrupted_release(path)


def discard_bad_copy(job: FileJob, ctx: Context) -> None:
    """A copy that fails verification: remove it only if it is provably ours, else leave it
    (the re-transfer picks the next free name). With the source gone it is the only copy left:
    it is quarantined and the file fails (see `quarantine`)."""
    src, dest = ctx.source_path(job), local_dest(job, ctx)
    if not source_present(src):
        quarantine(job, ctx)
    if dest is None:
        return  # a file on an SSH target cannot be proven ours: it stays
    try:
        placed, source = os.lstat(dest), os.lstat(src)
    except FileNotFoundError:
        return
    if (placed.st_dev, placed.st_ino) == (source.st_dev, source.st_ino):
        # Our link, and the source's bytes changed under it: the source name keeps them.
        drop_link(dest, src)
        return
    # A copy is ours if it still is the inode we put there, untouched since (same ctime, size
    # and mtime): then only the storage can have changed its bytes. An edit moves the ctime.
    ours = Identity(job.placed_dev, job.placed_ino, job.size, job.mtime_ns, job.placed_ctime_ns)
    if job.placed_ino and ours.differs(placed) is None:
        release_file(dest, ours, keep=src, source=False)


def quarantine(job: FileJob, ctx: Context) -> NoReturn:
    """The copy differs and the source is gone (a crash between release and record): never
    delete the last copy. A local one moves to `<library>/.mediacourier-quarantine/<dest>`
    (never walked, ingested or mirrored); either way the job fails naming where it is."""
    library = ctx.library(job)
    dest = local_dest(job, ctx)
    where = f"{library.name}:{job.dest_path}"
    if dest is not None:
        if not os.path.lexists(dest):
            raise PermanentError(f"{ctx.source_path(job)}: the source is gone and its library "
                                 f"copy {job.dest_path!r} is missing")
        target = os.path.join(library.path, QUARANTINE_DIR,
                              *posixpath.normpath(job.dest_path).split("/"))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        where = move_to_free_name(dest, target)
        fsync_dir(os.path.dirname(where))
        fsync_dir(os.path.dirname(dest))
    ctx.store.journal("quarantined", source=job.source, path=job.rel_path, library=library.name,
                      dest=job.dest_path, quarantined=where, sha256=job.sha256)
    raise PermanentError(f"{ctx.source_path(job)}: the library copy {job.dest_path!r} differs "
                         f"from what was verified and the source is gone; nothing was deleted, "
                         f"the copy is kept at {where}")
