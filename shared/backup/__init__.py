"""Backup repositories as mirror targets: restic (snapshots, encrypted, compressed,
deduplicated) and rclone remotes (S3, B2, WebDAV, crypt...). `repository` holds the small
Protocol both implement, `targets` opens one for a `[targets.NAME]`, `restore` brings files
back and checks them against the library index, `space` reads what a repository costs."""

from shared.backup.rclone import RcloneRepository
from shared.backup.repository import BackupRepository, BackupResult, SpaceReport
from shared.backup.restic import ResticRepository
from shared.backup.restore import RestoreReport, check_restore_folder, restore_files
from shared.backup.targets import is_backup, open_repository

__all__ = [
    "BackupRepository",
    "BackupResult",
    "RcloneRepository",
    "ResticRepository",
    "RestoreReport",
    "SpaceReport",
    "check_restore_folder",
    "is_backup",
    "open_repository",
    "restore_files",
]
