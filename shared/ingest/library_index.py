"""What a library already held counts for dedupe: its files indexed by content.

A library that holds photos mediacourier did not place (the user's old library, an app's
upload folder) would otherwise get each of them imported a second time when it arrives under
another name. `index_library` walks the library in name order, hashes every file it has not
indexed in this version (size, mtime and inode unchanged: the cached hash is reused, as for a
source's records) and makes each hash count in the content index (`P:content`, without
replacing a claim or an entry already there). It saves its cursor (the last name done) with
every batch, so an interrupted run resumes where it was; files gone since are forgotten at the
end of a whole pass. Files mediacourier placed (`P:libfiles`) are already counted.

A library on an SSH target (`target = "..."`) is listed and hashed by the target itself
(remote_index.py: one `find`, then `sha256sum` over many files per call); the rest is the same.

Until a library's first index is complete, a file arriving for it waits before its claim
(`first_index_hold`): a claim made before the index knew of the library's copy would import
the file a second time.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from shared.config import LibraryConfig, Settings, TargetConfig
from shared.errors import MediacourierError
from shared.ingest.remote_index import RemoteLibraryFiles
from shared.media import is_sidecar
from shared.state import Hold, RedisStateStore, stat_value
from shared.transfer import sha256_file

log = logging.getLogger(__name__)

BATCH = 500  # files per write to Redis (and per save of the cursor)
HASH_AHEAD = 1000  # files of a target library handed to it to hash at once
WAIT_SECONDS = 5.0  # how often a file held for a first index looks again


@dataclass(frozen=True)
class IndexRun:
    """One run of `index_library`: files looked at, hashed (not cached), hashes new to the
    content index, files forgotten, bytes read, whether the pass reached the end."""

    library: str
    files: int = 0
    hashed: int = 0
    new: int = 0
    gone: int = 0
    unreadable: int = 0
    bytes_read: int = 0
    complete: bool = False
    seconds: float = 0.0


# (files done, files in all, bytes done, bytes in all) after each file
Progress = Callable[[int, int, int, int], None]


def walk_library(root: str) -> list[tuple[str, os.stat_result]]:
    """Every regular file of the library that can hold content (no sidecars, no temp files of
    a copy under way, no hidden files), by name: the order the cursor counts in."""
    found: list[tuple[str, os.stat_result]] = []
    stack = [""]
    while stack:
        rel_dir = stack.pop()
        try:
            entries = list(os.scandir(os.path.join(root, rel_dir)))
        except OSError as exc:
            log.warning("%s: cannot list: %s", os.path.join(root, rel_dir), exc.strerror)
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue  # our temps (TMP_PREFIX), .DS_Store, .stfolder, an app's .thumbs
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            if entry.is_dir(follow_symlinks=False):
                stack.append(rel)
            elif entry.is_file(follow_symlinks=False) and not is_sidecar(rel):
                found.append((rel, entry.stat(follow_symlinks=False)))
    found.sort(key=lambda pair: pair[0])
    return found


class StatLike(Protocol):
    @property
    def st_size(self) -> int: ...
    @property
    def st_mtime_ns(self) -> int: ...
    @property
    def st_ino(self) -> int: ...


class LocalLibraryFiles:
    """A library folder on this host: walked and hashed here, one file at a time."""

    def __init__(self, root: str) -> None:
        self.root = root

    def walk(self) -> list[tuple[str, StatLike]]:
        return list(walk_library(self.root))

    def hash_many(self, files: Sequence[tuple[str, StatLike]]) -> dict[str, str]:
        return {}  # hashed one by one, each under the run's time budget

    def hash_one(self, rel: str) -> tuple[str, StatLike]:
        return sha256_file(os.path.join(self.root, rel))


def library_files(library: LibraryConfig,
                  target: TargetConfig | None) -> LocalLibraryFiles | RemoteLibraryFiles:
    """Who lists and hashes the library: this host, or its SSH target."""
    if library.target:
        if target is None or not target.over_ssh:
            raise MediacourierError(f"library {library.name!r}: its target "
                                    f"{library.target!r} is not an SSH target")
        return RemoteLibraryFiles(target, str(library.path))
    return LocalLibraryFiles(str(library.path))


def _cached(value: str | None, info: StatLike) -> str | None:
    if value is None:
        return None
    size, mtime_ns, inode, sha = value.split(":", 3)
    same = (int(size), int(mtime_ns), int(inode)) == (info.st_size, info.st_mtime_ns,
                                                       info.st_ino)
    return sha if same else None


def index_library(store: RedisStateStore, library: LibraryConfig,
                  progress: Progress | None = None, budget: float | None = None,
                  target: TargetConfig | None = None) -> IndexRun:
    """Index the library from its saved cursor on; stop after `budget` seconds (the cursor is
    saved: the next run goes on), or at the end of the pass (complete). `target`: the
    library's `[targets.NAME]`, for a library on one."""
    started = time.monotonic()
    name, root = library.name, str(library.path)
    reader = library_files(library, target)
    state = store.index_state(name)
    cursor = str(state.get("cursor", ""))
    files = reader.walk()
    placed = store.library_files(name)
    cached = store.library_stats(name)
    total_bytes = sum(info.st_size for _, info in files)
    done = sum(1 for rel, _ in files if rel <= cursor) if cursor else 0
    done_bytes = sum(info.st_size for rel, info in files[:done])
    counts = {"files": 0, "hashed": 0, "new": 0, "unreadable": 0, "bytes_read": 0}
    pending: list[tuple[str, str]] = []

    def save(last: str) -> None:
        counts["new"] += store.index_files(name, pending, placed)
        pending.clear()
        store.put_index_state(name, {**state, "cursor": last, "files_done": done,
                                     "files_total": len(files), "at": time.time()})

    ahead: dict[str, str] = {}
    first = done
    for position, (rel, info) in enumerate(files[first:], start=first):
        if (position - first) % HASH_AHEAD == 0:
            # The target hashes the next files not cached in one call (this host: none).
            ahead = reader.hash_many([(r, i) for r, i in files[position:position + HASH_AHEAD]
                                      if r not in placed and _cached(cached.get(r), i) is None])
        done += 1
        done_bytes += info.st_size
        counts["files"] += 1
        if rel not in placed:
            sha = _cached(cached.get(rel), info)
            if sha is None:
                try:
                    sha, info = _hash(reader, rel, info, ahead)
                except (OSError, MediacourierError) as exc:
                    log.warning("%s: not indexed: %s", os.path.join(root, rel), exc)
                    counts["unreadable"] += 1
                    continue
                counts["hashed"] += 1
                counts["bytes_read"] += info.st_size
            pending.append((rel, stat_value(info.st_size, info.st_mtime_ns, info.st_ino, sha)))
        if progress is not None:
            progress(done, len(files), done_bytes, total_bytes)
        if len(pending) >= BATCH or (budget is not None and
                                     time.monotonic() - started > budget):
            save(rel)
            if budget is not None and time.monotonic() - started > budget:
                return IndexRun(name, **counts, complete=False,
                                seconds=time.monotonic() - started)
    present = {rel for rel, _ in files}
    gone = {rel: value for rel, value in cached.items() if rel not in present}
    store.forget_indexed(name, gone)
    counts["new"] += store.index_files(name, pending, placed)
    store.put_index_state(name, {"complete": state.get("complete") or time.time(),
                                 "cursor": "", "files_done": len(files),
                                 "files_total": len(files), "at": time.time()})
    return IndexRun(name, **counts, gone=len(gone), complete=True,
                    seconds=time.monotonic() - started)


def _hash(reader: LocalLibraryFiles | RemoteLibraryFiles, rel: str, info: StatLike,
          ahead: dict[str, str]) -> tuple[str, StatLike]:
    if isinstance(reader, LocalLibraryFiles):
        return reader.hash_one(rel)
    if rel not in ahead:
        raise MediacourierError("the target could not hash it (gone, or unreadable there)")
    return ahead[rel], info


def looks_empty(root: str) -> bool:
    """Nothing in the library but hidden files (our temps, an app's markers): nothing to index."""
    try:
        with os.scandir(root) as entries:
            return all(entry.name.startswith(".") for entry in entries)
    except FileNotFoundError:
        return True
    except OSError:
        return False


def needs_first_index(store: RedisStateStore, library: LibraryConfig) -> bool:
    """True until the library's first index is complete. An empty local library is complete at
    once (no hold for a new library); one on an SSH target is not looked at from here (every
    arrival would cost a login): its first index runs, which is quick when it is empty."""
    if store.index_complete(library.name):
        return False
    if library.target:
        return True
    if looks_empty(str(library.path)) and not store.library_files(library.name):
        store.put_index_state(library.name, {"complete": time.time(), "cursor": "",
                                             "files_done": 0, "files_total": 0,
                                             "at": time.time()})
        return False
    return True


def target_of(settings: Settings, library: LibraryConfig) -> TargetConfig | None:
    """The `[targets.NAME]` a library lives on, or None for a folder of this host."""
    return settings.targets.get(library.target) if library.target else None


def first_index_hold(store: RedisStateStore, settings: Settings, source: str) -> Hold | None:
    """The hold on a file of `source` while its library's first index runs."""
    config = settings.sources.get(source)
    library = settings.libraries.get(config.library) if config else None
    if library is None or not needs_first_index(store, library):
        return None
    state = store.index_state(library.name)
    so_far = f"{state.get('files_done', 0)} of {state.get('files_total', '?')} files"
    return Hold(f"library {library.name!r} is being indexed for the first time ({so_far}); "
                "arrivals wait so that nothing it already holds is imported again",
                min(WAIT_SECONDS, settings.countdown_limit))
