"""Source/destination trees with chosen contents and modification times, and a counting
Destination wrapper that proves which bytes were (not) sent."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from shared.transfer.destinations import LocalDestination, RemoteEntry

BASE_NS = 1_700_000_000 * 10**9  # a fixed point in time; offsets below are in seconds


def put_file(root: Path, rel: str, data: bytes | str, age_s: float = 0.0) -> Path:
    """Write root/rel with `data`, its mtime `age_s` seconds before BASE_NS."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    mtime = BASE_NS - int(age_s * 1e9)
    os.utime(path, ns=(mtime, mtime))
    return path


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


class CountingDestination:
    """Wraps a LocalDestination and counts what crossed it (bytes uploaded, calls made)."""

    def __init__(self, root: Path) -> None:
        self.inner = LocalDestination(root, name="counting")
        self.name = "counting"
        self.lock = threading.Lock()
        self.uploaded_bytes = 0
        self.puts: list[str] = []
        self.renames: list[tuple[str, str]] = []
        self.deletes: list[str] = []
        self.hashed: list[str] = []

    def list_files(self) -> Iterator[RemoteEntry]:
        return self.inner.list_files()

    def sha256(self, rel_path: str) -> str | None:
        with self.lock:
            self.hashed.append(rel_path)
        return self.inner.sha256(rel_path)

    def put(self, src: Path, rel_path: str, mtime_ns: int, replace: bool,
            progress: Callable[[int], None] | None = None) -> str:
        sha = self.inner.put(src, rel_path, mtime_ns, replace, progress)
        with self.lock:
            self.puts.append(rel_path)
            self.uploaded_bytes += os.stat(src).st_size
        return sha

    def rename(self, old: str, new: str) -> None:
        self.inner.rename(old, new)
        with self.lock:
            self.renames.append((old, new))

    def delete(self, rel_path: str) -> None:
        self.inner.delete(rel_path)
        with self.lock:
            self.deletes.append(rel_path)

    def close(self) -> None:
        self.inner.close()
