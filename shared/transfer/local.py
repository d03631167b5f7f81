"""Transfer backends: put a source file into a library without ever overwriting anything.

Later backends (SFTP, rsync, robocopy) implement the same Protocol; the pipeline only speaks it.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from shared.crashpoints import crash_point
from shared.errors import (
    FileBusy,
    SourceUnreadable,
    SourceVanished,
    WriteBackFailed,
)
from shared.transfer.disk import destination_error
from shared.transfer.hashing import copy_check, hash_fd, open_regular, sha256
from shared.transfer.staging import Staged, copy_into, unlink_quietly

TMP_PREFIX = ".mediacourier-"


@dataclass(frozen=True)
class Expected:
    """The source version a placement is for; a source that no longer matches is not placed."""

    size: int
    mtime_ns: int
    sha256: str


@dataclass(frozen=True)
class Placement:
    """A file now sits at `rel_path` in the library; `linked`: no bytes were copied.

    `check` is the copy-check digest (blake3) of the bytes written, "" for a link.
    """

    rel_path: str
    sha256: str
    size: int
    linked: bool
    check: str = ""


class TransferBackend(Protocol):
    def stat(self, root: Path, rel_path: str) -> tuple[int, int] | None:
        """(size, mtime_ns) of the file at rel_path, None when nothing is there."""

    def stat_size(self, root: Path, rel_path: str) -> int | None:
        """Size of the file at rel_path, None when nothing is there."""

    def digest(self, root: Path, rel_path: str, check: bool = False) -> tuple[int, str] | None:
        """(size, sha256 — or the copy-check digest) read back, None when nothing is there."""

    def place(
        self, src: str, root: Path, rel_path: str, expected: Expected, link_ok: bool
    ) -> Placement | None:
        """Put src at rel_path; None when the name is taken. Never overwrites."""

    def remove(self, root: Path, rel_path: str) -> None:
        """Remove a file this backend placed (a copy that failed verification)."""

    def flush(self) -> None:
        """Make every placement since the last flush durable (batch mode; else nothing)."""

    def make_durable(self, root: Path, rel_path: str) -> None:
        """Make a file found already in place durable before it is trusted (a crash may have
        left it linked but not yet synced); WriteBackFailed on a write-back error."""


def syncfs(path: str) -> None:
    """Flush the whole filesystem holding path: one wait for a batch instead of one per file.

    WriteBackFailed when the filesystem reports a write-back error: os.sync() would swallow it,
    and a read-back would then be served from the page cache. Only a kernel or libc without
    syncfs (ENOSYS, no symbol) falls back to os.sync().
    """
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if _libc is None:
            os.sync()
            return
        if _libc.syncfs(fd) == 0:
            return
        code = ctypes.get_errno()
        if code == errno.ENOSYS:
            os.sync()  # no syncfs(2): sync everything, slower but as safe
            return
        raise WriteBackFailed(f"{path}: the copies could not be written to disk "
                              f"(syncfs: {os.strerror(code)}); the sources are kept")
    finally:
        os.close(fd)


def _load_libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.syncfs.argtypes = [ctypes.c_int]
        return libc
    except (OSError, AttributeError):
        return None


_libc = _load_libc()


def fsync_dir(path: str) -> None:
    """fsync a folder, so the names in it survive a power cut; a write-back error is
    WriteBackFailed (retryable: what was placed is not trusted until a later try syncs it)."""
    _fsync_path(path, os.O_RDONLY | os.O_DIRECTORY)


def _fsync_path(path: str, flags: int) -> None:
    fd = os.open(path, flags | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    except OSError as exc:
        raise WriteBackFailed(f"{path}: write-back error: {exc.strerror}") from exc
    finally:
        os.close(fd)


class LocalTransfer:
    """A library on a local or mounted filesystem.

    Same filesystem: a hard link gives the file its final name atomically and without copying,
    and the source name stays until verification (the pipeline unlinks it then). Otherwise: copy
    into a temporary file in the destination folder, hashing as we go, fsync, link into place
    (link fails on an existing name, so nothing is overwritten), fsync the folder.
    """

    def __init__(self, fsync: bool = True, stages: bool = False) -> None:
        # fsync=False is batch mode: nothing is synced per file, and flush() syncs the
        # filesystems written to once. The caller must flush before trusting a placement.
        self.fsync = fsync
        # stages=True: the hash stage copies while it hashes (`stage`); only for a backend whose
        # placements run in the same process as its hashes (a batch), which discards the rest.
        self.stages = stages
        self._staged: dict[str, Staged] = {}  # source path -> its copy, hashed and unplaced
        self._unsynced: set[str] = set()
        self._placed: list[tuple[str, int]] = []  # (final name, inode) placed since the flush

    def stat(self, root: Path, rel_path: str) -> tuple[int, int] | None:
        try:
            info = os.lstat(os.path.join(root, rel_path))
        except FileNotFoundError:
            return None
        return info.st_size, info.st_mtime_ns

    def stat_size(self, root: Path, rel_path: str) -> int | None:
        found = self.stat(root, rel_path)
        return None if found is None else found[0]

    def flush(self) -> None:
        """Sync every filesystem written to since the last flush. On a write-back error the
        unsynced placements are removed (ours, unverified, their sources still there: only the
        page cache may hold their bytes) and WriteBackFailed is raised."""
        folders, self._unsynced = self._unsynced, set()
        placed, self._placed = self._placed, []
        synced: set[int] = set()
        try:
            for folder in folders:
                try:
                    device = os.stat(folder).st_dev
                    if device not in synced:
                        syncfs(folder)
                        synced.add(device)
                except FileNotFoundError:
                    continue
        except (WriteBackFailed, OSError):
            for final, inode in placed:
                _unlink_if_inode(final, inode)
            raise

    def make_durable(self, root: Path, rel_path: str) -> None:
        final = os.path.join(root, rel_path)
        if not self.fsync:  # batch mode: the batch's flush syncs the filesystem
            self._unsynced.add(os.path.dirname(final))
            return
        _fsync_path(final, os.O_RDONLY | os.O_NOFOLLOW)
        fsync_dir(os.path.dirname(final))

    def _unsynced_placement(self, final: str) -> None:
        self._unsynced.add(os.path.dirname(final))
        with contextlib.suppress(OSError):
            self._placed.append((final, os.lstat(final).st_ino))

    def digest(self, root: Path, rel_path: str, check: bool = False) -> tuple[int, str] | None:
        try:
            fd, _ = open_regular(os.path.join(root, rel_path))
        except SourceVanished:
            return None
        except SourceUnreadable:
            return -1, ""  # a folder, link or FIFO holds the name: never ours, never equal
        try:
            sha, size = hash_fd(fd, hasher=copy_check if check else sha256)
        finally:
            os.close(fd)
        return size, sha

    def drop_cache(self, root: Path, rel_path: str) -> None:
        """Drop the file's pages from the page cache (they are clean once it was made durable),
        so that the next read of it comes from the disk: `verify = "disk"`. A read-back served
        from the cache proves what the kernel holds, not what the device stored."""
        try:
            fd, _ = open_regular(os.path.join(root, rel_path))
        except (SourceVanished, SourceUnreadable):
            return  # nothing of ours there: the digest that follows says so
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)

    def remove(self, root: Path, rel_path: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(root, rel_path))

    def place(
        self, src: str, root: Path, rel_path: str, expected: Expected, link_ok: bool
    ) -> Placement | None:
        final = os.path.join(root, rel_path)
        folder = os.path.dirname(final)
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as exc:
            raise destination_error(exc, folder) from exc
        if link_ok:
            placed = self._link(src, final)
            if placed is not _CANNOT_LINK:
                if placed is None:
                    return None
                return Placement(rel_path, expected.sha256, placed, True)
        if src in self._staged:
            done, placement = self._place_staged(src, final, rel_path, expected)
            if done:
                return placement  # linked from its staged copy, or None: the name is taken
        else:
            # A staged copy of this source left by a batch that died (we hold the file's
            # lease now, so no live one is writing it): ours, and of no use to this copy.
            unlink_quietly(os.path.join(root, stage_name(src)))
        tmp = os.path.join(folder, tmp_name(expected.sha256, rel_path))
        size, check = self._copy_to(src, tmp, expected)
        try:
            os.link(tmp, final)
        except FileExistsError:
            return None
        except OSError as exc:
            raise destination_error(exc, final) from exc
        finally:
            unlink_quietly(tmp)
        self._linked(final)
        return Placement(rel_path, expected.sha256, size, False, check)

    def _link(self, src: str, final: str) -> int | None | object:
        try:
            os.link(src, final, follow_symlinks=False)
        except FileExistsError:
            return None
        except FileNotFoundError as exc:
            if not os.path.lexists(src):
                raise SourceVanished(f"{src}: vanished before it could be transferred") from exc
            raise FileBusy(f"{final}: its folder vanished while linking") from exc
        except OSError as exc:
            if exc.errno in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EACCES):
                return _CANNOT_LINK
            raise destination_error(exc, final) from exc
        self._linked(final)
        return os.lstat(final).st_size

    def _linked(self, final: str) -> None:
        """A new name is durable once its folder is synced: now, or with the batch's flush
        (in batch mode "folder-fsynced" marks the same step, before the flush)."""
        crash_point("linked")
        if self.fsync:
            fsync_dir(os.path.dirname(final))
        else:
            self._unsynced_placement(final)
        crash_point("folder-fsynced")

    def _copy_to(self, src: str, tmp: str, expected: Expected) -> tuple[int, str]:
        """Copy src into tmp, returning (size, copy-check digest of the bytes written).

        The source must still be the hashed version (size and mtime) before and after the copy;
        otherwise the bytes may not be the ones the content hash names.
        """
        copied = copy_into(src, tmp, fsync=self.fsync)
        before, after = copied.before, copied.after
        versions = {(before.st_size, before.st_mtime_ns), (after.st_size, after.st_mtime_ns),
                    (copied.size, before.st_mtime_ns)}
        if versions != {(expected.size, expected.mtime_ns)}:
            unlink_quietly(tmp)
            raise FileBusy(f"{src}: content changed while it was being copied")
        return copied.size, copied.check

    # one read of the source: staged copies ------------------------------------------------
    def stage(self, src: str, folder: str) -> tuple[str, os.stat_result]:
        """Hash src by copying it: one read gives its sha256 and a temp copy in `folder` (the
        library's root, so any final name on its filesystem can be linked to it). `place` of
        this source then links that temp instead of reading the source again; a copy nobody
        placed (a duplicate, a skip) is removed by `discard_staged`. (sha256, the source's
        stat once read); FileBusy when the source changed while it was read (no temp left)."""
        try:
            os.makedirs(folder, exist_ok=True)  # as place() makes the folders it writes in
        except OSError as exc:
            raise destination_error(exc, folder) from exc
        tmp = os.path.join(folder, stage_name(src))
        copied = copy_into(src, tmp, fsync=self.fsync, content_hash=True)
        if not copied.source_steady:
            unlink_quietly(tmp)
            raise FileBusy(f"{src}: changed while it was being hashed")
        after = copied.after
        self._staged[src] = Staged(tmp, copied.sha256, copied.check, after.st_size,
                                   after.st_mtime_ns)
        return copied.sha256, after

    def discard_staged(self) -> None:
        """Remove every staged copy no placement took (only our temp names)."""
        staged, self._staged = self._staged, {}
        for item in staged.values():
            unlink_quietly(item.tmp)

    def _place_staged(self, src: str, final: str, rel_path: str,
                      expected: Expected) -> tuple[bool, Placement | None]:
        """Link the staged copy of src to `final`: (True, the placement), (True, None) when the
        name is taken (the copy stays staged for the next name), (False, None) when there is
        none of this version or it cannot be linked there (the caller copies instead)."""
        staged = self._staged[src]
        if (staged.sha256, staged.size, staged.mtime_ns) != (
                expected.sha256, expected.size, expected.mtime_ns):
            return False, None
        try:
            os.link(staged.tmp, final, follow_symlinks=False)
        except FileExistsError:
            return True, None
        except OSError as exc:
            if exc.errno not in (errno.ENOENT, errno.EXDEV, errno.EMLINK, errno.EPERM):
                raise destination_error(exc, final) from exc
            # Gone (a sweep), or a folder on another filesystem: copy as without a stage.
            self._staged.pop(src, None)
            unlink_quietly(staged.tmp)
            return False, None
        self._staged.pop(src, None)
        unlink_quietly(staged.tmp)
        self._linked(final)
        return True, Placement(rel_path, expected.sha256, staged.size, False, staged.check)


_CANNOT_LINK = object()


def stage_name(src: str) -> str:
    """Stable per source file, so a re-run after a crash truncates its own staged copy."""
    tag = hashlib.sha1(src.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return f"{TMP_PREFIX}{tag}.stage.tmp"


def tmp_name(sha256: str, rel_path: str) -> str:
    """Stable per content and target, so a re-run reuses (truncates) its own temporary file."""
    target = hashlib.sha1(rel_path.encode("utf-8", "surrogateescape")).hexdigest()[:10]
    return f"{TMP_PREFIX}{sha256[:16]}-{target}.tmp"


def _unlink_if_inode(path: str, inode: int) -> None:
    """Remove path only while it still is the file we placed (nobody replaced it since)."""
    with contextlib.suppress(OSError):
        if os.lstat(path).st_ino == inode:
            os.unlink(path)
