"""`mediacourier restore MIRROR [PATH...] --to DIR [--snapshot ID]`: files back from a mirror's
restic repository or rclone remote, each one checked against the library index (sha256).

Exit status: 0 every restored file matches the index (or, for a mirror of a plain folder with
no index, the backup tool's own check passed), 1 a restored file differs from the index or the
restore failed part way, 2 a wrong mirror, snapshot or password, or a `--to` that is not empty,
4 the repository or remote could not be reached.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from shared.backup import (
    RestoreReport,
    check_restore_folder,
    is_backup,
    open_repository,
    restore_files,
)
from shared.config import Settings, broker_url
from shared.errors import BackupFailed, BackupRefused
from shared.mirror import mirror_config
from shared.state import RedisStateStore
from workers.exit_codes import FILES_FAILED, OK


def cmd_restore(settings: Settings, args: argparse.Namespace) -> int:
    mirror = mirror_config(settings, args.mirror)
    target = settings.targets.get(mirror.target)
    if target is None or not is_backup(target):
        kind = target.kind if target is not None else "missing"
        raise BackupRefused(f"mirror {mirror.name!r}: its target {mirror.target!r} ({kind}) is "
                            "not a restic or rclone target: copy the files back from it "
                            "directly")
    to = Path(args.to).absolute()
    check_restore_folder(to)  # before anything is asked of Redis or the repository
    index = None
    if mirror.library is not None:
        store = RedisStateStore.from_url(broker_url(settings), settings.key_prefix)
        store.ping()
        index = store.library_files(mirror.library)
    repository = open_repository(target, mirror.name)
    try:
        report = restore_files(repository, list(args.paths), to, index, args.snapshot)
    except BackupFailed as exc:
        print(f"mediacourier: {exc}", file=sys.stderr, flush=True)
        return FILES_FAILED
    finally:
        repository.close()
    print_report(report, to, index is not None)
    return OK if report.ok else FILES_FAILED


def print_report(report: RestoreReport, to: Path, indexed: bool) -> None:
    for rel, want, got in report.mismatches:
        print(f"DIFFERS {rel}: sha256 {got[:16]}..., the library index holds {want[:16]}...",
              flush=True)
    if not indexed:
        print("no library index for a mirror of a plain folder: files were checked by the "
              "backup tool only", flush=True)
    print(f"{report.line()}; into {to}", flush=True)


def add_restore_parser(command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    restore = command("restore", "restore files from a restic or rclone mirror, verified")
    restore.add_argument("mirror", help="a [mirrors.NAME] whose target is restic or rclone")
    restore.add_argument("paths", nargs="*", metavar="PATH",
                         help="files or folders relative to the mirrored tree (default: all)")
    restore.add_argument("--to", required=True, metavar="DIR",
                         help="an empty or new folder to restore into (nothing is overwritten)")
    restore.add_argument("--snapshot", default=None, metavar="ID",
                         help="a restic snapshot id (default: the mirror's latest)")


RESTORE_COMMANDS = {"restore": cmd_restore}
