"""Mirror destinations: a tree of files addressed by POSIX relative paths under a root.

`Destination` is the small Protocol mirror jobs speak (SFTP, rsync and robocopy implement it
elsewhere); `LocalDestination` is the real implementation for a local or mounted folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from shared.errors import (
    DestinationExists,
    FileBusy,
    PathRefused,
    SourceUnreadable,
    SourceVanished,
)
from shared.transfer.disk import destination_error, remove_if_stale
from shared.transfer.hashing import CHUNK, file_sha256
from shared.transfer.local import TMP_PREFIX, fsync_dir


@dataclass(frozen=True)
class RemoteEntry:
    rel_path: str  # POSIX relative path under the destination root
    size: int
    mtime_ns: int


class Destination(Protocol):
    """A mirror/backup destination tree, addressed by POSIX relative paths under its root.
    Methods must be safe to call from several threads at once (parallel transfers)."""

    name: str

    def list_files(self) -> Iterator[RemoteEntry]:
        """Every regular file under the root, recursively; the backend's own temp files are
        left out."""

    def sha256(self, rel_path: str) -> str | None:
        """Hex sha256 of the file (remote `sha256sum` when the host has it, else read back);
        None if absent."""

    def put(self, src: Path, rel_path: str, mtime_ns: int, replace: bool,
            progress: Callable[[int], None] | None = None) -> str:
        """Upload to a temp name beside the target, verify size + sha256, set mtime, then rename
        into place; returns the sha256. replace=False never overwrites (DestinationExists)."""

    def rename(self, old: str, new: str) -> None:
        """Rename/move on the destination (creating parent folders), never overwriting."""

    def delete(self, rel_path: str) -> None:
        """Remove one file (and folders it leaves empty)."""

    def close(self) -> None: ...


def checked_rel(rel_path: str) -> str:
    """A relative POSIX path that stays under the root, or PathRefused."""
    parts = rel_path.split("/")
    if not rel_path or rel_path.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise PathRefused(f"{rel_path!r}: not a plain relative path under the destination")
    return rel_path


class LocalDestination:
    """A destination folder on a local or mounted filesystem."""

    def __init__(self, root: Path, name: str = "local", fsync: bool = True,
                 stale_temp_after: float = 86400.0) -> None:
        self.root = Path(root)
        self.name = name
        self.fsync = fsync
        # A put killed mid-way (a worker's hard time limit) leaves its temp file; once older
        # than this, no live put can still be writing it, and listing removes it.
        self.stale_temp_after = stale_temp_after

    def _abs(self, rel_path: str) -> str:
        return os.path.join(self.root, *checked_rel(rel_path).split("/"))

    def list_files(self) -> Iterator[RemoteEntry]:
        stack = [(str(self.root), "")]
        while stack:
            folder, prefix = stack.pop()
            try:
                with os.scandir(folder) as entries:
                    items = list(entries)
            except FileNotFoundError:
                continue
            stale_before = time.time() - self.stale_temp_after
            for entry in items:
                if entry.name.startswith(TMP_PREFIX):
                    remove_if_stale(entry, stale_before)
                    continue
                if entry.is_dir(follow_symlinks=False):
                    stack.append((entry.path, prefix + entry.name + "/"))
                elif entry.is_file(follow_symlinks=False):
                    info = entry.stat(follow_symlinks=False)
                    yield RemoteEntry(prefix + entry.name, info.st_size, info.st_mtime_ns)

    def sha256(self, rel_path: str) -> str | None:
        try:
            return file_sha256(self._abs(rel_path))
        except (FileNotFoundError, IsADirectoryError):
            return None

    def put(self, src: Path, rel_path: str, mtime_ns: int, replace: bool,
            progress: Callable[[int], None] | None = None) -> str:
        final = self._abs(rel_path)
        folder = os.path.dirname(final)
        if not replace and os.path.lexists(final):
            raise DestinationExists(f"{self.name}:{rel_path}: already exists; not overwritten")
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as exc:
            raise destination_error(exc, folder) from exc
        tmp = os.path.join(folder, f"{TMP_PREFIX}{uuid.uuid4().hex[:12]}.part")
        try:
            sha = self._write(src, tmp, progress)
            os.utime(tmp, ns=(mtime_ns, mtime_ns))
            if file_sha256(tmp) != sha:  # read back what landed, not what we meant to write
                raise FileBusy(f"{self.name}:{rel_path}: copy differs from the source on read-back")
            self._into_place(tmp, final, rel_path, replace)
        except OSError as exc:
            raise destination_error(exc, final) from exc
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        if self.fsync:
            fsync_dir(folder)
        return sha

    def _write(self, src: Path, tmp: str, progress: Callable[[int], None] | None) -> str:
        try:
            source = open(src, "rb")  # noqa: SIM115 - closed below, errors mapped first
        except FileNotFoundError as exc:
            raise SourceVanished(f"{src}: vanished before it could be copied") from exc
        except OSError as exc:
            raise SourceUnreadable(f"{src}: cannot be read: {exc.strerror}") from exc
        digest = hashlib.sha256()
        with source, open(tmp, "xb") as sink:
            before = os.fstat(source.fileno())
            written = 0
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                sink.write(chunk)
                written += len(chunk)
                if progress is not None:
                    progress(len(chunk))
            sink.flush()
            if self.fsync:
                os.fsync(sink.fileno())
            after = os.fstat(source.fileno())
        if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns) or \
                written != after.st_size or os.stat(tmp).st_size != written:
            raise FileBusy(f"{src}: changed while it was being copied")
        return digest.hexdigest()

    def _into_place(self, tmp: str, final: str, rel_path: str, replace: bool) -> None:
        if replace:
            os.replace(tmp, final)  # atomic: readers see the old file or the new one
            return
        try:
            os.link(tmp, final)  # fails on an existing name: never overwrites
        except FileExistsError as exc:
            raise DestinationExists(f"{self.name}:{rel_path}: already exists; not overwritten") \
                from exc

    def rename(self, old: str, new: str) -> None:
        old_abs, new_abs = self._abs(old), self._abs(new)
        try:
            os.makedirs(os.path.dirname(new_abs), exist_ok=True)
            os.link(old_abs, new_abs)
        except FileExistsError as exc:
            raise DestinationExists(f"{self.name}:{new}: already exists; {old} not renamed") \
                from exc
        except FileNotFoundError as exc:
            raise SourceVanished(f"{self.name}:{old}: vanished before it could be renamed") \
                from exc
        except OSError as exc:
            raise destination_error(exc, new_abs) from exc
        self.delete(old)

    def delete(self, rel_path: str) -> None:
        path = self._abs(rel_path)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        folder = os.path.dirname(path)
        root = os.path.abspath(self.root)
        while os.path.abspath(folder) != root:
            try:
                os.rmdir(folder)
            except OSError:
                break  # not empty (or gone): the folders above are not empty either
            folder = os.path.dirname(folder)

    def close(self) -> None:
        """Nothing to release for a local folder."""
