"""What a backup repository is to a mirror: the small Protocol restic and rclone implement.

A mirror plans against `list_files()` (what the last backup holds), then hands the repository
the files the plan names in one `backup()` call: restic makes one snapshot of them, rclone
copies them in batches. `restore()` brings files back into an empty folder; `space()` says
what the repository costs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from shared.transfer import RemoteEntry

# files done, files in all, bytes done, bytes in all: the mirror's progress bar and events
ProgressHook = Callable[[int, int, int, int], None]


@dataclass
class BackupResult:
    files: int = 0  # files the run carried (restic: new + changed; rclone: copied)
    bytes: int = 0
    deleted: int = 0
    snapshot: str = ""  # restic: the new snapshot's id
    added: int = 0  # bytes the repository grew by, before compression (restic's data_added)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (rel_path or ".", reason)


@dataclass(frozen=True)
class SpaceReport:
    """What the repository holds and costs; zeros where the backend cannot tell."""

    added: int  # this run, before compression
    stored: int  # bytes on the backend (compressed, deduplicated, encrypted)
    logical: int  # the files of every snapshot, as restored
    unique: int  # their distinct content, before compression
    files: int = 0

    @property
    def dedupe_saved(self) -> int:
        return max(0, self.logical - self.unique)

    @property
    def compression_ratio(self) -> float:
        return self.unique / self.stored if self.stored else 0.0

    def line(self) -> str:
        if not self.unique:  # rclone: a plain copy, no dedupe or compression to speak of
            return (f"space: {_mb(self.added)} added; {_mb(self.stored)} stored in "
                    f"{self.files} files")
        return (f"space: {_mb(self.added)} added; {_mb(self.stored)} stored for "
                f"{_mb(self.logical)} of snapshots; deduplication saved {_mb(self.dedupe_saved)}"
                f", compression ratio {self.compression_ratio:.2f}")

    def fields(self) -> dict[str, int | str]:
        return {"added": self.added, "stored": self.stored, "logical": self.logical,
                "unique": self.unique, "dedupe_saved": self.dedupe_saved,
                "compression_ratio": f"{self.compression_ratio:.3f}"}


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


class BackupRepository(Protocol):
    """A restic repository or an rclone remote, as seen by one mirror (`label`)."""

    name: str  # the [targets.NAME]
    label: str  # the [mirrors.NAME] writing to it
    whole_tree: bool  # each backup holds the whole tree (restic): files in sync are given too

    def list_files(self) -> Iterator[RemoteEntry]:
        """The files of the last backup (restic: the mirror's latest snapshot)."""

    def sha256(self, rel_path: str) -> str | None:
        """None: renames are not matched by content (restic deduplicates a moved file anyway;
        rclone copies it again)."""

    def backup(self, root: Path, files: list[str], deletes: list[str],
               progress: ProgressHook | None = None) -> BackupResult:
        """Carry `files` (relative to root) and drop `deletes`, which already passed the guard;
        then verify what was carried."""

    def restore(self, paths: list[str], to: Path, snapshot: str | None = None) -> list[str]:
        """Restore `paths` (all when empty) under `to`; the relative paths restored."""

    def space(self, added: int) -> SpaceReport:
        """The space report after a run that added `added` bytes."""

    def maintain(self) -> str | None:
        """Retention when it is due (restic: forget --prune, then check); a line, or None."""

    def close(self) -> None: ...
