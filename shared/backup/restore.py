"""Restoring a mirror's files into an empty folder and proving them: each restored file's
sha256 against the library index (what mediacourier recorded when it placed the file).

The folder must be empty or absent: a restore never overwrites anything. restic verifies
its own restore too (`--verify`), rclone by `check`; the index check on top catches a backup
that faithfully kept a file that was already wrong when it was backed up.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from shared.backup.repository import BackupRepository
from shared.errors import BackupRefused
from shared.transfer import file_sha256


@dataclass
class RestoreReport:
    restored: list[str] = field(default_factory=list)
    verified: int = 0
    unindexed: list[str] = field(default_factory=list)  # no sha256 in the index to compare
    mismatches: list[tuple[str, str, str]] = field(default_factory=list)  # rel, want, got

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def line(self) -> str:
        text = (f"restored {len(self.restored)} files, {self.verified} verified against the "
                "library index")
        if self.unindexed:
            text += f", {len(self.unindexed)} not in the index (checked by the backup tool only)"
        if self.mismatches:
            text += f", {len(self.mismatches)} DIFFER from the index"
        return text


def check_restore_folder(to: Path) -> None:
    """BackupRefused unless `to` is absent or an empty folder."""
    if to.exists() and not to.is_dir():
        raise BackupRefused(f"--to {str(to)!r}: not a folder")
    if to.is_dir() and any(os.scandir(to)):
        raise BackupRefused(f"--to {str(to)!r}: not empty; restore into an empty folder "
                            "(nothing is ever overwritten)")


def restore_files(repository: BackupRepository, paths: list[str], to: Path,
                  index: Mapping[str, str] | None, snapshot: str | None = None) -> RestoreReport:
    """Restore `paths` (relative to the mirror's tree; all when empty) under `to`, then hash
    every restored file and compare it with `index` (rel_path -> sha256; None: a mirror of a
    plain folder, which has no index)."""
    check_restore_folder(to)
    to.mkdir(parents=True, exist_ok=True)
    report = RestoreReport(restored=repository.restore(paths, to, snapshot))
    for rel in report.restored:
        want = (index or {}).get(rel)
        if not want:
            report.unindexed.append(rel)
            continue
        got = file_sha256(str(to / rel))
        if got == want:
            report.verified += 1
        else:
            report.mismatches.append((rel, want, got))
    return report
