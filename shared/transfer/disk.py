"""What every writer on a local or mounted filesystem shares: how an OSError on the destination
is classified, and how a temp file abandoned by a killed copy is swept."""

from __future__ import annotations

import errno
import os

from shared.errors import DestinationFull, FileBusy, PermanentError


def destination_error(exc: OSError, path: str) -> Exception:
    """Full (hold the target), not ours to write or something in the way (the file fails with
    the reason), anything else (a share hiccup) worth a retry."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return DestinationFull(f"{path}: no space left on the destination")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return PermanentError(f"{path}: destination not writable: {exc.strerror}")
    if exc.errno in (errno.EISDIR, errno.ENOTDIR, errno.EEXIST):
        return PermanentError(f"{path}: a folder or file on the destination is in the way: "
                              f"{exc.strerror}")
    return FileBusy(f"{path}: {exc.strerror}")


def remove_if_stale(entry: os.DirEntry[str], stale_before: float) -> None:
    """Remove a temp file no live copy can still be writing.

    ctime, not mtime: a copy sets the source's (old) mtime on its temp file before renaming."""
    try:
        if entry.is_file(follow_symlinks=False) and entry.stat().st_ctime < stale_before:
            os.unlink(entry.path)
    except OSError:
        pass  # gone already (the copy finished), or not ours to remove: the next pass looks again
