"""The file work of a flow's steps: finding what entered the flow, a copy proven by reading it
back, a move that releases the file only after that proof, and sweeping stale temp files.

Everything goes through shared.transfer: a copy is written under a temp name and linked into
place (never over a file), read back and compared with the sha256 the file had when it entered
the flow; a move removes the file only with `release_file` (it must still be that very file).
An archive on an SSH target goes through shared.remote's RemoteTransfer the same way: an upload
under a temp name, hashed by the target before and after it is renamed into place.
"""

from __future__ import annotations

import fnmatch
import os
import time
from collections.abc import Iterable
from pathlib import Path

from shared.errors import FileBusy, HashMismatch, PermanentError, TargetUnreachable
from shared.flow.ledger import FlowFile
from shared.media import with_suffix_number
from shared.remote import RemoteTransfer
from shared.transfer import (
    TMP_PREFIX,
    Expected,
    Identity,
    LocalTransfer,
    TransferBackend,
    release_file,
    sha256_file,
)

# Names a downloader or copier writes before the file is complete: never taken into a flow.
UNFINISHED = ("*.tmp", "*.part", "*.partial", "*.download", "*.crdownload")
_NAME_TRIES = 100


def check_folder(folder: Path, what: str) -> None:
    """A destination must be there already: a NAS share that is not mounted leaves a bare
    mount point, and writing into it would fill the wrong disk."""
    if not folder.is_dir():
        state = "is not a folder" if folder.exists() else "does not exist (not mounted?)"
        raise TargetUnreachable(f"{what} {folder} {state}")


def find_files(root: Path, skip: Iterable[Path] = ()) -> list[tuple[str, os.stat_result]]:
    """Regular files under `root` (relative '/'-separated paths, sorted), leaving out hidden
    and unfinished names and the flow's own destination folders below `root`."""
    skipped = {os.path.abspath(p) for p in skip}
    found: list[tuple[str, os.stat_result]] = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                         and os.path.join(folder, d) not in skipped)
        for name in names:
            if name.startswith(".") or any(fnmatch.fnmatch(name, p) for p in UNFINISHED):
                continue
            path = os.path.join(folder, name)
            try:
                info = os.lstat(path)
            except FileNotFoundError:
                continue
            if os.path.isfile(path) and not os.path.islink(path):
                found.append((os.path.relpath(path, root).replace(os.sep, "/"), info))
    return sorted(found, key=lambda pair: pair[0])


def entering(root: Path, rel: str) -> FlowFile:
    """A file as it enters the flow: its content hash is what every later copy must match."""
    path = os.path.join(root, rel)
    sha, info = sha256_file(path)
    return FlowFile(rel=rel, at=path, size=info.st_size, sha256=sha, mtime_ns=info.st_mtime_ns)


def _proven(item: FlowFile) -> os.stat_result:
    """The file is still the content that entered the flow (hashed again now)."""
    sha, info = sha256_file(item.at)
    if sha != item.sha256:
        raise PermanentError(f"{item.at}: its content changed since it entered the flow")
    return info


def check_remote_folder(backend: RemoteTransfer, folder: Path, what: str) -> None:
    """`check_folder` on an SSH target: its library folder must be there already."""
    found = backend.stat(folder.parent, folder.name)
    if found is None or found[0] >= 0:
        state = "does not exist" if found is None else "is not a folder"
        raise TargetUnreachable(f"{what} {state} on the target (not mounted?)")


def copy_verified(item: FlowFile, root: Path, backend: TransferBackend | None = None,
                  shown_as: str = "") -> tuple[str, os.stat_result]:
    """Copy the file to `root`/rel (or a free ' (n)' name beside it), read the copy back and
    compare it with the file's sha256; returns the copy's path (after `shown_as`, such as
    "nas:" for a folder on an SSH target) and the source's stat. On an SSH target (a
    RemoteTransfer) the target hashes the copy it holds, as for a library there."""
    info = _proven(item)
    backend = backend or LocalTransfer()
    expected = Expected(info.st_size, info.st_mtime_ns, item.sha256)
    for number in range(_NAME_TRIES):
        name = item.rel if number == 0 else with_suffix_number(item.rel, number + 1)
        there = backend.digest(root, name)
        if there == (item.size, item.sha256):
            return shown_as + os.path.join(root, name), info  # placed by an earlier run
        if there is not None:
            continue  # another file holds the name: never overwritten
        placed = backend.place(item.at, root, name, expected, link_ok=False)
        if placed is None:
            continue
        if backend.digest(root, name) != (item.size, item.sha256):
            backend.remove(root, name)
            raise HashMismatch(f"{shown_as}{os.path.join(root, name)}: the copy read back "
                               f"differs from {item.at}; removed, the file is kept where it was")
        return shown_as + os.path.join(root, name), info
    raise PermanentError(f"{root}: no free name for {item.rel} after {_NAME_TRIES} tries")


def move_verified(item: FlowFile, root: Path) -> str:
    """Copy as `copy_verified`, then remove the file, only while it still is the one proven."""
    if os.path.abspath(os.path.dirname(item.at)) == os.path.abspath(
            os.path.dirname(os.path.join(root, item.rel))):
        return item.at  # already there (a re-run after the move)
    dest, info = copy_verified(item, root)
    released = release_file(item.at, Identity.of(info), keep=dest)
    if released.status == "kept":
        raise PermanentError(f"{item.at}: kept ({released.reason}); its verified copy is {dest}")
    return dest


def sweep_stale(folder: Path, patterns: tuple[str, ...], older_than: float,
                ours: tuple[str, ...] = (f"{TMP_PREFIX}*",), now: float | None = None
                ) -> list[str]:
    """Remove files matching `patterns` (and our own temp files) unchanged for `older_than`
    seconds. Our own temp files (`ours`) go by mtime and ctime: a copy sets the source's old
    mtime on its temp file while it is still writing it; the others by mtime, the time a
    downloader last wrote to them."""
    check_folder(folder, "cleanup folder")
    cutoff = (time.time() if now is None else now) - older_than
    removed: list[str] = []
    for path, dirs, names in os.walk(folder):
        dirs[:] = sorted(dirs)
        for name in sorted(names):
            own = any(fnmatch.fnmatch(name, p) for p in ours)
            if not own and not any(fnmatch.fnmatch(name, p) for p in patterns):
                continue
            full = os.path.join(path, name)
            try:
                info = os.lstat(full)
                changed = max(info.st_mtime, info.st_ctime) if own else info.st_mtime
                if not os.path.isfile(full) or changed >= cutoff:
                    continue
                os.unlink(full)
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise FileBusy(f"{full}: cannot remove: {exc.strerror}") from exc
            removed.append(os.path.relpath(full, folder))
    return removed
