"""Mirror/backup destinations (the interface agreed in brief/interfaces.md; h-mirror owns this
module and adds LocalDestination — this copy holds only the shared types)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


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
        """Every regular file under the root, recursively; the backend's temp files left out."""

    def sha256(self, rel_path: str) -> str | None:
        """Hex sha256 of the file (remote `sha256sum` when present, else read back); None if
        absent."""

    def put(self, src: Path, rel_path: str, mtime_ns: int, replace: bool,
            progress: Callable[[int], None] | None = None) -> str:
        """Upload via a temp name, verify size + sha256, set mtime, rename; returns the sha256.
        replace=False never overwrites (DestinationExists); replace=True swaps atomically."""

    def rename(self, old: str, new: str) -> None:
        """Rename/move on the destination (creating parent folders), never overwriting."""

    def delete(self, rel_path: str) -> None:
        """Remove one file (and folders it leaves empty)."""

    def close(self) -> None: ...
