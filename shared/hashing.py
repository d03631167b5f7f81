"""Streaming sha256, reused through the store's file records when the file has not changed."""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable

from shared.errors import FileBusy, SourceUnreadable, SourceVanished

CHUNK = 1024 * 1024


def open_regular(path: str) -> tuple[int, os.stat_result]:
    """Open a regular file for reading without following a final symlink or blocking on a FIFO."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError as exc:
        raise SourceVanished(f"{path}: vanished before it could be read") from exc
    except OSError as exc:
        if os.path.islink(path):
            raise SourceUnreadable(f"{path}: is a symbolic link, not a file") from exc
        raise SourceUnreadable(f"{path}: cannot be read: {exc.strerror}") from exc
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        kind = "a FIFO" if stat.S_ISFIFO(info.st_mode) else "not a regular file"
        raise SourceUnreadable(f"{path}: is {kind}")
    return fd, info


def hash_fd(fd: int, on_chunk: Callable[[bytes], None] | None = None) -> tuple[str, int]:
    """sha256 and byte count of everything readable from fd; `on_chunk` sees every chunk."""
    digest = hashlib.sha256()
    total = 0
    view = memoryview(bytearray(CHUNK))
    with open(fd, "rb", buffering=0, closefd=False) as stream:
        while True:
            n = stream.readinto(view)
            if not n:
                break
            chunk = view[:n]
            digest.update(chunk)
            if on_chunk is not None:
                on_chunk(chunk)
            total += n
    return digest.hexdigest(), total


def sha256_file(path: str) -> tuple[str, os.stat_result]:
    """Hash a source file; FileBusy if it changed while being read."""
    fd, before = open_regular(path)
    try:
        try:
            digest, total = hash_fd(fd)
        except OSError as exc:
            raise SourceUnreadable(f"{path}: read error: {exc.strerror}") from exc
        after = os.fstat(fd)
    finally:
        os.close(fd)
    if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns) or (
        total != after.st_size
    ):
        raise FileBusy(f"{path}: changed while it was being hashed")
    return digest, after
