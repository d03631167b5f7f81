"""Copying a source into a temp file on the destination, hashed as it is written.

`copy_into` is the one loop that writes a copy: it reads the source once and feeds every chunk
to the copy-check hash (blake3, what the read-back is compared with), to sha256 too when the
copy is also what names the content (`content_hash`: one read of the source for both), and to
the temp file. It reports the source's stat from before and after the copy, so the caller
decides whether the bytes are still the version it wanted.
"""

from __future__ import annotations

import contextlib
import errno
import os
from dataclasses import dataclass

from shared.crashpoints import crash_point
from shared.transfer.disk import destination_error
from shared.transfer.hashing import CHUNK, copy_check, hash_fd, hash_fd_both, open_regular


@dataclass(frozen=True)
class Copied:
    """A temp file written from a source: its size, the digests of the bytes written, and the
    source as it was when opened (`before`) and once read to the end (`after`)."""

    size: int
    check: str
    sha256: str  # "" unless content_hash was asked for
    before: os.stat_result
    after: os.stat_result

    @property
    def source_steady(self) -> bool:
        """The source kept its inode, size and mtime for the whole copy, and every byte of it
        was read: the bytes written are that version of it."""
        a, b = self.before, self.after
        return ((a.st_dev, a.st_ino, a.st_size, a.st_mtime_ns)
                == (b.st_dev, b.st_ino, b.st_size, b.st_mtime_ns) and self.size == b.st_size)


@dataclass(frozen=True)
class Staged:
    """A source already copied into the library by the read that hashed it (`LocalTransfer.
    stage`), waiting under its temp name to be linked into place or removed."""

    tmp: str
    sha256: str
    check: str
    size: int
    mtime_ns: int


def copy_into(src: str, tmp: str, *, fsync: bool, content_hash: bool = False) -> Copied:
    """Write src into tmp (created or truncated), hashing every byte written. On any error the
    temp file is gone and the error is mapped as a destination's (`destination_error`)."""
    fd_in, info = open_regular(src)
    try:
        out = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC | os.O_NOFOLLOW,
                      0o644)
    except OSError as exc:
        os.close(fd_in)
        raise destination_error(exc, tmp) from exc
    try:
        # A buffered writer raises on a short write (ENOSPC) instead of dropping the rest.
        with open(out, "wb", buffering=CHUNK) as sink:
            if content_hash:
                sha, check, size = hash_fd_both(fd_in, sink.write, info.st_size)
            else:
                sha, (check, size) = "", hash_fd(fd_in, sink.write, copy_check, info.st_size)
            sink.flush()
            crash_point("temp-written", src)
            if fsync:
                os.fsync(out)
            # Batch mode syncs at flush(); the point marks the same step of the copy.
            crash_point("temp-fsynced")
            if os.fstat(out).st_size != size:
                raise OSError(errno.EIO, "short write")
        os.utime(tmp, ns=(info.st_atime_ns, info.st_mtime_ns))
        after = os.fstat(fd_in)
    except OSError as exc:
        unlink_quietly(tmp)
        raise destination_error(exc, tmp) from exc
    finally:
        os.close(fd_in)
    return Copied(size, check, sha, info, after)


def unlink_quietly(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
