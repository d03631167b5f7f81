"""One mirror run by name, from the settings: plan, apply, record in the journal."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from shared.config import MirrorConfig, Settings
from shared.errors import UnknownMirror
from shared.executors import LocalExecutor
from shared.mirror.backups import open_mirror_target, run_backup_mirror
from shared.mirror.conflict_run import finish_run, prepare_run
from shared.mirror.plan import MirrorPlan, MirrorRules, plan_mirror
from shared.mirror.robocopy import run_robocopy_mirror
from shared.mirror.run import MirrorSummary, Progress, run_mirror
from shared.remote import open_destination, parallel_of
from shared.state import RedisStateStore
from shared.transfer import Destination


def mirror_config(settings: Settings, name: str) -> MirrorConfig:
    if name not in settings.mirrors:
        known = ", ".join(settings.mirrors) or "none"
        raise UnknownMirror(f"no mirror named {name!r}; configured: {known}")
    return settings.mirrors[name]


def plan_for(settings: Settings, mirror: MirrorConfig, destination: Destination) -> MirrorPlan:
    return plan_mirror(settings.mirror_root(mirror), destination, MirrorRules(mirror.exclude),
                       modify_window=mirror.modify_window, max_delete=mirror.max_delete,
                       max_delete_share=mirror.max_delete_share)


def plan_dict(plan: MirrorPlan) -> dict[str, Any]:
    """The plan as JSON-friendly lists (a dry run's task result)."""
    return {
        "copy": [a.rel_path for a in plan.copies],
        "update": [[a.rel_path, a.reason] for a in plan.updates],
        "rename": [[a.old_path, a.rel_path] for a in plan.renames],
        "delete": [a.rel_path for a in plan.deletes],
        "skip": [[a.rel_path, a.reason] for a in plan.skipped],
        "unchanged": plan.unchanged,
        "bytes": plan.transfer_bytes,
        "guard": plan.guard,
        "unreadable": [u.line() for u in plan.unknown],
        "kept_unknown": plan.kept_unknown,
    }


def run_named_mirror(settings: Settings, name: str, force: bool = False,
                     progress: Callable[[Progress], None] | None = None,
                     on_plan: Callable[[MirrorPlan], None] | None = None,
                     summary: MirrorSummary | None = None,
                     store: RedisStateStore | None = None) -> MirrorSummary:
    """Plan and apply the mirror `name` (MirrorRefused when the guard trips without force);
    with a store, the target's bandwidth limit is shared with every other process."""
    mirror = mirror_config(settings, name)
    robocopy = getattr(settings.targets.get(mirror.target), "robocopy", None)
    if robocopy is not None:  # this worker is the Windows machine: one robocopy /MIR run

        return run_robocopy_mirror(str(settings.mirror_root(mirror)), robocopy, LocalExecutor(),
                                   mirror.exclude, mirror.max_delete, mirror.max_delete_share,
                                   force)
    if getattr(settings.targets.get(mirror.target), "backup", None) is not None:  # restic, rclone
        return run_backup_mirror(settings, mirror, force, progress, on_plan, summary, store)
    destination = open_destination(settings, mirror.target, store)
    try:
        plan = plan_for(settings, mirror, destination)
        root = settings.mirror_root(mirror)
        # With the store: conflicts are held back (or settled by the policy) before anything
        # is written, and what ends in sync is noted for the next run's comparison.
        book = None if store is None else prepare_run(store, mirror, plan, root, destination)
        if on_plan is not None:
            on_plan(plan)
        summary = run_mirror(plan, root, destination, parallel_of(settings, mirror.target),
                             force, progress, summary, None if book is None else book.on_put)
        if book is not None:
            finish_run(book, plan, summary)
        return summary
    finally:
        destination.close()


def record_run(store: RedisStateStore, mirror: MirrorConfig, summary: MirrorSummary,
               host: str = "", interrupted: bool = False) -> None:
    """The run's summary and each per-file error, in the journal (`mediacourier history`)."""
    for error in summary.errors:
        store.journal("mirror_failed", source=mirror.name, path=error.rel_path,
                      dest=mirror.target, reason=f"{error.action}: {error.reason}", host=host)
    counts = {k: getattr(summary, k) for k in
              ("copied", "updated", "renamed", "deleted", "skipped", "failed", "unchanged")}
    store.journal("mirror", source=mirror.name, dest=mirror.target, bytes=summary.bytes,
                  seconds=f"{summary.seconds:.3f}", mb_s=f"{summary.mb_s:.2f}",
                  reason=summary.line() + ("; interrupted by the time limit, continuing"
                                           if interrupted else ""), host=host, **counts)


def record_refusal(store: RedisStateStore, mirror: MirrorConfig, message: str,
                   host: str = "") -> None:
    store.journal("mirror_refused", source=mirror.name, dest=mirror.target, reason=message,
                  host=host)


def check_mirror(settings: Settings, mirror: MirrorConfig) -> str:
    """One line for `mediacourier doctor`: the source is readable and the target answers."""
    source = settings.mirror_root(mirror)
    if not os.access(source, os.R_OK | os.X_OK):
        raise PermissionError(f"{source} is not readable")
    destination = open_mirror_target(settings, mirror)
    try:
        next(iter(destination.list_files()), None)
    finally:
        destination.close()
    return f"{source} -> target {mirror.target} answers"
