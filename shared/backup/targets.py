"""From a `[targets.NAME]` of kind restic or rclone to its repository, for one mirror."""

from __future__ import annotations

from pathlib import Path

from shared.backup.rclone import RcloneRepository
from shared.backup.repository import BackupRepository
from shared.backup.restic import ResticRepository
from shared.config import RcloneTarget, ResticTarget, TargetConfig


def is_backup(target: TargetConfig | None) -> bool:
    return target is not None and target.backup is not None


def open_repository(target: TargetConfig, label: str,
                    state_dir: Path | None = None) -> BackupRepository:
    """The repository of a restic or rclone target as the mirror `label` sees it; `state_dir`
    keeps when retention last ran on this machine."""
    backup = target.backup
    if isinstance(backup, ResticTarget):
        return ResticRepository(backup, label, state_dir)
    if isinstance(backup, RcloneTarget):
        return RcloneRepository(backup, label)
    raise TypeError(f"targets.{target.name}: kind {target.kind!r} is not a backup repository")
