"""A mirror whose target is a backup repository (restic, rclone): the same plan and guard as
any mirror, carried out in one `backup()` call instead of file by file.

restic makes a snapshot of every file the source holds now (the plan's transfers plus the
files it found in sync, which restic does not read again); rclone copies only the transfers.
A plan whose deletes trip the guard is refused before anything runs, as for any mirror: a
snapshot missing half the library (a disk not mounted) would otherwise become the latest.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from shared.backup import BackupRepository, is_backup, open_repository
from shared.config import MirrorConfig, Settings
from shared.errors import MirrorRefused
from shared.mirror.plan import MirrorPlan, MirrorRules, plan_mirror
from shared.mirror.run import FileError, MirrorSummary, Progress
from shared.remote import open_destination
from shared.state import RedisStateStore
from shared.transfer import Destination


def state_dir(settings: Settings) -> Path:
    return Path(settings.data_dir) / "backup"


def open_mirror_target(settings: Settings, mirror: MirrorConfig,
                       store: RedisStateStore | None = None) -> Destination | BackupRepository:
    """What a mirror plans against: a backup repository, or the target's Destination."""
    target = settings.targets.get(mirror.target)
    if target is not None and is_backup(target):
        return open_repository(target, mirror.name, state_dir(settings))
    return open_destination(settings, mirror.target, store)


def run_backup_mirror(settings: Settings, mirror: MirrorConfig, force: bool = False,
                      progress: Callable[[Progress], None] | None = None,
                      on_plan: Callable[[MirrorPlan], None] | None = None,
                      summary: MirrorSummary | None = None,
                      store: RedisStateStore | None = None) -> MirrorSummary:
    """Plan against the repository's last backup, check the guard, back up, report space."""
    repository = open_repository(settings.targets[mirror.target], mirror.name,
                                 state_dir(settings))
    summary = summary if summary is not None else MirrorSummary()
    started = time.perf_counter()
    root = settings.mirror_root(mirror)
    rules = MirrorRules(mirror.exclude)
    try:
        plan = plan_mirror(root, repository, rules, modify_window=mirror.modify_window,
                           max_delete=mirror.max_delete, max_delete_share=mirror.max_delete_share)
        if on_plan is not None:
            on_plan(plan)
        if plan.guard and not force:
            raise MirrorRefused(f"mirror refused: {plan.guard}")
        added = _carry(repository, plan, root, rules, summary, progress, started)
        _report(repository, mirror, summary, added, store)
    finally:
        summary.failed = len(summary.errors)
        summary.seconds = time.perf_counter() - started
        repository.close()
    return summary


def _carry(repository: BackupRepository, plan: MirrorPlan, root: Path, rules: MirrorRules,
           summary: MirrorSummary, progress: Callable[[Progress], None] | None,
           started: float) -> int:
    """Back up what the plan names; the bytes the repository grew by."""
    summary.skipped, summary.unchanged = len(plan.skipped), plan.unchanged
    summary.kept_unknown = plan.kept_unknown
    for part in plan.unknown:
        summary.unreadable.append(part.line())
        summary.errors.append(FileError(part.rel_path or ".", "read", part.line(where=False),
                                        retryable=part.transient))
    deletes = {a.rel_path for a in plan.deletes}
    transfers = {a.rel_path: a for a in plan.transfers}
    files = sorted(transfers)
    if repository.whole_tree:  # restic: the files in sync go into the snapshot too (unread)
        files = sorted({*files, *(e.rel_path for e in repository.list_files()
                                  if e.rel_path not in deletes
                                  and not rules.excludes_path(e.rel_path)
                                  and not any(u.covers(e.rel_path) for u in plan.unknown))})

    planned = plan.transfer_bytes

    def hook(done: int, total: int, nbytes: int, total_bytes: int) -> None:
        # restic counts the files in sync too (read quickly, or not at all): its share done,
        # in the plan's bytes, so the bar (sized by the plan) ends at 100%, not beyond.
        shown = round(nbytes * planned / total_bytes) if total_bytes > 0 else planned
        if progress is not None:
            progress(Progress(done, total, min(shown, planned), planned,
                              time.perf_counter() - started))

    result = repository.backup(root, files, sorted(deletes), hook)
    failed = {rel for rel, _ in result.errors}
    for rel, reason in result.errors:
        action = transfers.get(rel)
        summary.errors.append(FileError(rel, action.kind if action else "backup", reason,
                                        retryable=True))
    for rel, action in transfers.items():
        if rel not in failed:
            summary.bytes += action.size
            if action.kind == "copy":
                summary.copied += 1
            else:
                summary.updated += 1
    summary.deleted = result.deleted
    return result.added


def _report(repository: BackupRepository, mirror: MirrorConfig, summary: MirrorSummary,
            added: int, store: RedisStateStore | None) -> None:
    """The space report (journaled as `backup_space`), then retention when it is due."""
    space = repository.space(added)
    summary.space = space.line()
    if store is not None:
        store.journal("backup_space", source=mirror.name, dest=mirror.target,
                      reason=space.line(), **space.fields())
    retention = repository.maintain()
    if retention:
        summary.space += f"; {retention}"
        if store is not None:
            store.journal("backup_retention", source=mirror.name, dest=mirror.target,
                          reason=retention)
