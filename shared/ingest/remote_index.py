"""The files of a library on an SSH target, listed and hashed by the target itself.

The index of a local library walks and hashes here; a library on a `[targets.NAME]` is listed by
one `find -printf` on the target (size, mtime, inode and name of every file, in one round trip)
and hashed by `sha256sum` there, many files per call, so no byte crosses the network. Names
that are not UTF-8 are not indexed (one warning each): the executor's text cannot carry them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from shared.config import TargetConfig
from shared.errors import SourceUnreadable
from shared.media import is_sidecar
from shared.state import run_on_target

log = logging.getLogger(__name__)

# Every regular file under the library, hidden files and folders left out (our temps, an
# app's .thumbs), as "size mtime inode name\0"; exit 3 when the folder is not there.
LIST_SCRIPT = ('cd -- "$1" 2>/dev/null || exit 3; '
               "find . -name '.?*' -prune -o -type f -printf '%s %T@ %i %P\\0'")
# sha256sum -z: one "hash  name\0" per file, the name unescaped (a newline in it stays one).
HASH_SCRIPT = 'cd -- "$1" || exit 3; shift; exec sha256sum -z -- "$@"'
# Each call costs a session on the target (≈ 0.5 s measured on a loaded 2-core loopback):
# many names per call, within the 128 KiB one command line may hold.
HASH_FILES = 1000
HASH_NAME_BYTES = 96 * 1024
HASH_BYTES = 2 << 30  # bytes per call, so its deadline stays near its work
HASH_RATE = 20 << 20  # bytes/s a slow NAS disk hashes at least: the call's deadline


@dataclass(frozen=True)
class Listed:
    """A file's stat as the target's `find` gives it (the fields the index caches by)."""

    st_size: int
    st_mtime_ns: int
    st_ino: int


class RemoteLibraryFiles:
    """`walk` and `hash_many` of a library's folder `root` on `target`."""

    def __init__(self, target: TargetConfig, root: str) -> None:
        self.target, self.root = target, root

    def walk(self) -> list[tuple[str, Listed]]:
        """Every file that can hold content (no sidecars, no hidden files), by name; a folder
        that is not there holds nothing."""
        done = run_on_target(self.target, ("sh", "-c", LIST_SCRIPT, "sh", self.root),
                             max(60.0, self.target.timeout * 20))
        if done.exit_code == 3:
            return []
        if done.exit_code != 0:
            raise SourceUnreadable(f"{self.target.name}:{self.root}: cannot list the library "
                                   f"(find exited {done.exit_code}: {done.stderr.strip()[-200:]})")
        found = []
        for item in done.stdout.split("\0"):
            if not item:
                continue
            size, stamp, inode, rel = item.split(" ", 3)
            if "\ufffd" in rel:
                log.warning("%s:%s/%s: not indexed: the name is not UTF-8", self.target.name,
                            self.root, rel)
                continue
            if is_sidecar(rel):
                continue
            seconds, _, fraction = stamp.partition(".")
            mtime_ns = int(seconds) * 1_000_000_000 + int((fraction + "000000000")[:9])
            found.append((rel, Listed(int(size), mtime_ns, int(inode))))
        found.sort(key=lambda pair: pair[0])
        return found

    def hash_many(self, files: Sequence[tuple[str, Listed]]) -> dict[str, str]:
        """rel -> sha256 of each file the target could hash (a file gone since is left out)."""
        hashes: dict[str, str] = {}
        batch: list[str] = []
        size = names = 0
        for rel, info in files:
            name = len(rel.encode("utf-8", "surrogateescape")) + 8  # quoting, "./", a space
            if batch and (len(batch) >= HASH_FILES or size + info.st_size > HASH_BYTES
                          or names + name > HASH_NAME_BYTES):
                hashes.update(self._hash(batch, size))
                batch, size, names = [], 0, 0
            batch.append(rel)
            size += info.st_size
            names += name
        if batch:
            hashes.update(self._hash(batch, size))
        return hashes

    def _hash(self, rels: list[str], size: int) -> dict[str, str]:
        # "./" first: a name starting with "-" is never read as an option
        argv = ("sh", "-c", HASH_SCRIPT, "sh", self.root, *(f"./{rel}" for rel in rels))
        done = run_on_target(self.target, argv, max(60.0, self.target.timeout * 4)
                             + size / HASH_RATE)
        if done.exit_code == 3:
            return {}
        found = {}
        for item in done.stdout.split("\0"):
            digest, _, name = item.partition("  ")
            if len(digest) == 64 and name.startswith("./"):
                found[name[2:]] = digest
        if done.exit_code not in (0, 1) or (done.exit_code == 1 and not found):
            raise SourceUnreadable(f"{self.target.name}:{self.root}: sha256sum failed "
                                   f"(exit {done.exit_code}: {done.stderr.strip()[-200:]})")
        return found

