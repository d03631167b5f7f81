"""Removing a user's file only while it still is the file whose bytes were proven, race-free.

A source is released (move mode, a duplicate deleted or archived) only after its content was
proven elsewhere. Between that proof and the unlink anything can happen to the name: the camera
app rewrites the file, a sync client renames another file of the same size and mtime over it, an
editor changes it in place and puts the old mtime back (`exiftool -P`). So `release_file`:

1. opens the name with O_NOFOLLOW and compares the fstat with the identity captured when the
   content was proven: device, inode, size, mtime_ns and ctime_ns (an in-place edit that keeps
   the mtime still moves the ctime);
2. renames it to a hidden name in the same folder, never replacing anything: from here on no
   program that looks the file up by its name finds it;
3. checks that the hidden name is that same inode, size and mtime unchanged, both by lstat and
   by an fstat of an O_NOFOLLOW open (the rename itself moves the ctime, so the ctime is compared
   between these two looks rather than with step 1);
4. unlinks it and fsyncs the folder. A file that fails a check is renamed back (never over a
   file that took its name meanwhile: then under the next free ' (n)' name) and kept.

`keep`, when given, is the proven copy the release relies on: a keep that is the same inode with
a single link, or that vanishes when the source is renamed aside, is the source itself (a library
overlapping its source): nothing is removed and the release fails with both paths.

The hidden name depends only on the file name (`.mc-release-<name>`), not on a random token: a
process killed between steps 2 and 4 leaves it where the next release of that name finds it,
and finishes it (step 1 passed before the rename) or puts it back.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import hashlib
import os
import stat
import uuid
from dataclasses import dataclass
from typing import Literal, NamedTuple

from shared.crashpoints import crash_point
from shared.errors import PermanentError
from shared.media import with_suffix_number
from shared.transfer.hashing import CHUNK, hash_fd, open_regular, sha256
from shared.transfer.local import TMP_PREFIX, fsync_dir

HIDDEN_PREFIX = ".mc-release-"
# Where a library keeps a copy it cannot vouch for and must not delete (the only copy left).
# It starts with TMP_PREFIX, so the library walks of reconcile and mirrors never descend into
# it, and with a dot, so source walks prune it; only files, never folders, are swept as temps.
QUARANTINE_DIR = f"{TMP_PREFIX}quarantine"
_OPEN = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_MAX_NAME = 255
_NAME_TRIES = 1000


@dataclass(frozen=True)
class Identity:
    """Which file a name held when its content was proven. A 0 field is not compared: a job
    sent by an older version carries no device or ctime."""

    dev: int
    ino: int
    size: int
    mtime_ns: int
    ctime_ns: int = 0

    @classmethod
    def of(cls, info: os.stat_result) -> Identity:
        return cls(info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)

    def differs(self, info: os.stat_result, ctime: bool = True) -> str | None:
        """Why `info` is not this file, or None when it is."""
        if not stat.S_ISREG(info.st_mode):
            return "it is no longer a regular file"
        checks = [("device", self.dev, info.st_dev), ("inode", self.ino, info.st_ino),
                  ("size", self.size, info.st_size), ("mtime", self.mtime_ns, info.st_mtime_ns)]
        if ctime:
            checks.append(("ctime", self.ctime_ns, info.st_ctime_ns))
        for name, wanted, found in checks:
            if wanted and wanted != found:
                return f"its {name} changed since its content was proven"
        return None


class Release(NamedTuple):
    status: Literal["released", "absent", "kept"]
    reason: str = ""


def hidden_path(path: str) -> str:
    """The name a release renames `path` to: same folder, hidden, derived from the name only."""
    folder, name = os.path.split(path)
    hidden = HIDDEN_PREFIX + name
    if len(os.fsencode(hidden)) > _MAX_NAME:
        hidden = HIDDEN_PREFIX + hashlib.sha1(os.fsencode(name)).hexdigest()
    return os.path.join(folder, hidden)


def _load_renameat2():  # type: ignore[no-untyped-def]
    try:
        function = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6",
                               use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                         ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


_renameat2 = _load_renameat2()
_AT_FDCWD = -100
_RENAME_NOREPLACE = 1
_NO_FLAGS = {errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP}


def rename_noreplace(src: str, dst: str) -> None:
    """Rename src to dst; FileExistsError when dst exists. Never replaces anything.

    renameat2(RENAME_NOREPLACE) where the filesystem has it (ext4, xfs, btrfs, tmpfs, vfat,
    cifs); else a hard link (which fails on an existing name) and an unlink (NFS)."""
    if _renameat2 is not None:
        if _renameat2(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst),
                      _RENAME_NOREPLACE) == 0:
            return
        code = ctypes.get_errno()
        if code not in _NO_FLAGS:
            raise OSError(code, os.strerror(code), src, None, dst)
    os.link(src, dst, follow_symlinks=False)
    os.unlink(src)


def move_to_free_name(src: str, dst: str) -> str:
    """Rename src to dst, or to 'dst (2)', 'dst (3)'… when taken; the name it got."""
    for number in range(1, _NAME_TRIES + 1):
        target = dst if number == 1 else with_suffix_number(dst, number)
        try:
            rename_noreplace(src, target)
            return target
        except FileExistsError:
            continue
    raise PermanentError(f"{src}: no free name beside {dst!r} after {_NAME_TRIES} tries; "
                         "left where it is")


def restore_interrupted_release(path: str) -> bool:
    """Put back a file a killed release left under its hidden name (the release is then done
    again, from its first check); True if there was one."""
    hidden = hidden_path(path)
    if os.path.lexists(path) or not os.path.lexists(hidden):
        return False
    move_to_free_name(hidden, path)
    fsync_dir(os.path.dirname(path))
    return True


def _same_file(path: str, info: os.stat_result, keep: str | None) -> None:
    """Refuse a release that would remove the very copy it relies on."""
    if keep is None:
        return
    try:
        kept = os.lstat(keep)
    except FileNotFoundError:
        raise PermanentError(f"refusing to release {path}: the copy it relies on, {keep}, "
                             "is gone") from None
    if (kept.st_dev, kept.st_ino) == (info.st_dev, info.st_ino) and kept.st_nlink < 2:
        raise PermanentError(f"refusing to release {path}: its destination {keep} is the same "
                             "file (a library overlapping its source?)")


def _renamed_differs(hidden: str, before: os.stat_result) -> str | None:
    """Whether the hidden name still holds exactly the inode checked before the rename."""
    try:
        named = os.lstat(hidden)
        fd = os.open(hidden, _OPEN)
    except OSError:
        return "it was replaced while being released"
    try:
        opened = os.fstat(fd)
    finally:
        os.close(fd)
    version = (before.st_dev, before.st_ino, before.st_size, before.st_mtime_ns)
    for info in (named, opened):
        if not stat.S_ISREG(info.st_mode) or (
                info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns) != version:
            return "it changed while being released"
    if named.st_ctime_ns != opened.st_ctime_ns:
        return "it changed while being released"
    return None


def _put_back(hidden: str, path: str, why: str) -> Release:
    restored = move_to_free_name(hidden, path)
    fsync_dir(os.path.dirname(path))
    where = "" if restored == path else f" (its name was taken meanwhile: kept as {restored})"
    return Release("kept", why + where)


def release_file(path: str, expected: Identity, keep: str | None = None,
                 source: bool = True) -> Release:
    """Remove `path` if it still is `expected`, race-free (see the module docstring).

    `source`: the crash points of a source release are on the way (False for our own library
    links, which are not the user's source)."""
    hidden = hidden_path(path)
    try:
        fd = os.open(path, _OPEN)
    except FileNotFoundError:
        return _finish_interrupted(path, hidden, expected, keep, source)
    except OSError as exc:  # ELOOP: a symlink took the name
        return Release("kept", f"it cannot be opened as a file: {exc.strerror}")
    try:
        before = os.fstat(fd)
        why = expected.differs(before)
        if why:
            return Release("kept", why)
        _same_file(path, before, keep)
        try:
            rename_noreplace(path, hidden)
        except FileNotFoundError:
            return Release("absent")
        except FileExistsError:
            # A hidden leftover of an older version of this name: a user's file, put it back
            # under a free name (it is then carried as a file of its own) and go on.
            _put_back(hidden, path, "")
            rename_noreplace(path, hidden)
        if source:
            crash_point("source-renamed", path)
        why = _renamed_differs(hidden, before)
        if why is None and keep is not None and not os.path.lexists(keep):
            _put_back(hidden, path, "")
            raise PermanentError(f"refusing to release {path}: its destination {keep} vanished "
                                 "with it: it is the same file")
        if why:
            return _put_back(hidden, path, why)
        os.unlink(hidden)
    finally:
        os.close(fd)
    fsync_dir(os.path.dirname(path))
    if source:
        crash_point("source-unlinked", path)
    return Release("released")


def _finish_interrupted(path: str, hidden: str, expected: Identity, keep: str | None,
                        source: bool) -> Release:
    """The name is gone: finish a release killed after its rename, or report it absent."""
    try:
        info = os.lstat(hidden)
    except FileNotFoundError:
        return Release("absent")
    # The ctime was compared before the rename (which moved it); the rest must still match.
    why = expected.differs(info, ctime=False) or _renamed_differs(hidden, info)
    if why is None and keep is not None:
        try:
            _same_file(path, info, keep)
        except PermanentError:
            _put_back(hidden, path, "")
            raise
    if why:
        return _put_back(hidden, path, why)
    os.unlink(hidden)
    fsync_dir(os.path.dirname(path))
    if source:
        crash_point("source-unlinked", path)
    return Release("released")


def give_own_copy(path: str, shared_with: str, sha: str, mtime_ns: int) -> bool:
    """Make `path` — a hard link of the kept file `shared_with` — a file of its own with the
    same bytes, so editing one never edits the other. False, nothing changed, when its bytes no
    longer hash to `sha` (the caller then drops the link instead)."""
    folder = os.path.dirname(path)
    tmp = os.path.join(folder, f"{TMP_PREFIX}{uuid.uuid4().hex[:16]}.own")
    fd_in, info = open_regular(path)
    try:
        out = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        with open(out, "wb", buffering=CHUNK) as sink:
            digest, _ = hash_fd(fd_in, sink.write, sha256, info.st_size)
            sink.flush()
            os.fsync(out)
    finally:
        os.close(fd_in)
    try:
        if digest != sha:
            return False
        os.utime(tmp, ns=(mtime_ns, mtime_ns))
        if release_file(path, Identity.of(info), keep=shared_with, source=False).status == "kept":
            return False
        rename_noreplace(tmp, path)
    except FileExistsError:
        return False  # a file took the name in between: ours stays with the kept source
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)
    fsync_dir(folder)
    return True

