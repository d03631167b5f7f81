"""A mirror run's part in the conflict check: before the plan is applied, take out what is in
conflict (and what a scrub found damaged), act on it by the mirror's policy, record the rest;
after it, note every file that is now in sync as synced (see conflicts.py)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from shared.config import MirrorConfig
from shared.errors import MediacourierError
from shared.mirror.conflicts import (
    DELETED_BACKUP,
    Conflict,
    ConflictBook,
    Synced,
    classify,
    hold_back,
    policy_keep,
    resolve,
)
from shared.mirror.plan import MirrorPlan
from shared.mirror.run import MirrorSummary
from shared.scrub import ScrubLedger
from shared.state import RedisStateStore
from shared.transfer import Destination

DAMAGED = "damaged on the master's disk (scrub): not mirrored over the backup's copy"
HELD = "in conflict: kept on both sides (`mediacourier conflicts`, `resolve`)"


@dataclass
class ConflictRun:
    book: ConflictBook
    synced: dict[str, Synced]
    index: dict[str, str]  # the library's rel_path -> sha256, to name what is in sync
    found: list[Conflict] = field(default_factory=list)
    resolved: list[tuple[Conflict, str]] = field(default_factory=list)
    puts: dict[str, Synced] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on_put(self, rel: str, sha: str, size: int, mtime_ns: int) -> None:
        with self.lock:
            self.puts[rel] = Synced(sha, size, mtime_ns)


def prepare_run(store: RedisStateStore, mirror: MirrorConfig, plan: MirrorPlan, root: Path,
                destination: Destination, host: str = "") -> ConflictRun:
    book = ConflictBook(store, mirror.name, mirror.target)
    index = store.library_files(mirror.library) if mirror.library else {}
    run = ConflictRun(book, book.synced(), index)
    if mirror.library:
        damaged = ScrubLedger(store, mirror.library).damaged_paths()
        hold_back(plan, damaged & {a.rel_path for a in plan.transfers}, DAMAGED)
    run.found = classify(plan, run.synced, int(mirror.modify_window * 1e9))
    known = book.conflicts()
    conflicts = [c for c in run.found if c.kind != DELETED_BACKUP]
    hold_back(plan, {c.rel_path for c in conflicts}, HELD)
    keep, still = policy_keep(mirror), []
    for conflict in conflicts:
        outcome = "reported: both sides kept"
        if keep is not None:
            try:
                outcome = resolve(book, conflict, keep, root, destination)
                run.resolved.append((conflict, outcome))
            except (MediacourierError, OSError) as exc:
                outcome = f"{mirror.conflicts} failed, both sides kept: {exc}"
                still.append(conflict)
        else:
            still.append(conflict)
        if conflict.rel_path not in known or keep is not None:
            store.journal("mirror_conflict", source=mirror.name, dest=mirror.target,
                          path=conflict.rel_path, kind=conflict.kind, policy=mirror.conflicts,
                          reason=f"{conflict.kind}: {outcome}", host=host)
    for conflict in run.found:
        if conflict.kind == DELETED_BACKUP:
            store.journal("mirror_conflict", source=mirror.name, dest=mirror.target,
                          path=conflict.rel_path, kind=conflict.kind, policy=mirror.conflicts,
                          reason="deleted_backup: gone from the backup, copied again", host=host)
    book.open_conflicts([c for c in still if c.rel_path not in known])
    return run


def finish_run(run: ConflictRun, plan: MirrorPlan, summary: MirrorSummary) -> None:
    """Everything now the same on both sides is noted as synced; conflicts it settles close."""
    failed = {e.rel_path for e in summary.errors}
    updates: dict[str, Synced] = {}
    for rel, entry in plan.unchanged_files.items():
        state = run.synced.get(rel)
        sha = run.index.get(rel) or (state.sha256 if state else "")
        if state is None or (state.size, state.mtime_ns, state.sha256) != (
                entry.size, entry.mtime_ns, sha):
            updates[rel] = Synced(sha, entry.size, entry.mtime_ns)
    for action in plan.renames:
        if action.rel_path not in failed:
            old = run.synced.get(action.old_path)
            updates[action.rel_path] = Synced(old.sha256 if old else "", action.size,
                                              action.mtime_ns)
    with run.lock:
        updates.update(run.puts)
    gone = [a.rel_path for a in plan.deletes if a.rel_path not in failed]
    gone += [a.old_path for a in plan.renames if a.rel_path not in failed]
    run.book.forget_synced(gone)
    run.book.set_synced(updates)
    run.book.close_conflicts(set(updates) & set(run.book.conflicts()))
