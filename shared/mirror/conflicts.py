"""Conflicts: what changed on both sides of a mirror since the last sync is found, not overwritten.

Per mirror and target the state of each file as last synced is kept in Redis (P = prefix):
  P:mirror-synced:<mirror>:<target>  hash  rel_path -> "<sha256>\\t<size>\\t<mtime_ns>"
  P:mirror-conflicts:<mirror>        hash  rel_path -> JSON {kind, master, backup, at}
A run compares the master (the local tree), the backup (the target's listing) and that state:
  modified_both   both sides changed since the sync (and differ from each other)
  size_mismatch   the backup has the synced mtime but another size (truncated, damaged)
  deleted_master  gone from the master while the backup's copy was edited: deleting it would
                  lose that edit (a backup copy left as synced is a normal delete)
  deleted_backup  gone from the backup: it is copied again (restored), whatever the policy
The mirror's `conflicts` policy then acts: `report` leaves both sides as they are and lists the
conflict for `mediacourier conflicts` / `resolve`; `keep_master` makes the backup the master's;
`keep_backup` brings the backup's version into the master; `keep_both` keeps the backup's
version beside the master's as `NAME (backup YYYY-MM-DD).ext` on both sides.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import posixpath
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.config import MirrorConfig
from shared.errors import UnknownConflict
from shared.mirror.plan import NEWER, Action, MirrorPlan
from shared.scrub import fetch_backup
from shared.state import SEP, RedisStateStore
from shared.transfer import Destination, RemoteEntry

MODIFIED_BOTH, SIZE_MISMATCH = "modified_both", "size_mismatch"
DELETED_MASTER, DELETED_BACKUP = "deleted_master", "deleted_backup"
CONFLICT_KINDS = (MODIFIED_BOTH, SIZE_MISMATCH, DELETED_MASTER, DELETED_BACKUP)
KEEPS = {"keep_master": "master", "keep_backup": "backup", "keep_both": "both"}


@dataclass(frozen=True)
class Synced:
    sha256: str  # "" when the file was seen in sync before its sha256 was known
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Conflict:
    kind: str
    rel_path: str
    master: RemoteEntry | None
    backup: RemoteEntry | None
    at: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        def side(entry: RemoteEntry | None) -> dict[str, int] | None:
            return None if entry is None else {"size": entry.size, "mtime_ns": entry.mtime_ns}
        return {"kind": self.kind, "path": self.rel_path, "master": side(self.master),
                "backup": side(self.backup), "at": self.at}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Conflict:
        def side(item: dict[str, int] | None) -> RemoteEntry | None:
            return None if item is None else RemoteEntry(data["path"], item["size"],
                                                         item["mtime_ns"])
        return cls(data["kind"], data["path"], side(data["master"]), side(data["backup"]),
                   float(data["at"]))


class ConflictBook:
    """The synced state and the open conflicts of one mirror, in Redis."""

    def __init__(self, store: RedisStateStore, mirror: str, target: str) -> None:
        self.store, self.mirror = store, mirror
        self.synced_key = store.key("mirror-synced", mirror, target)
        self.conflicts_key = store.key("mirror-conflicts", mirror)

    def synced(self) -> dict[str, Synced]:
        found = {}
        for rel, raw in self.store.client.hgetall(self.synced_key).items():
            sha, size, mtime = raw.split(SEP)
            found[rel] = Synced(sha, int(size), int(mtime))
        return found

    def set_synced(self, entries: dict[str, Synced]) -> None:
        if entries:
            self.store.client.hset(self.synced_key, mapping={
                rel: f"{s.sha256}{SEP}{s.size}{SEP}{s.mtime_ns}" for rel, s in entries.items()})

    def forget_synced(self, rels: Iterable[str]) -> None:
        rels = list(rels)
        if rels:
            self.store.client.hdel(self.synced_key, *rels)

    def conflicts(self) -> dict[str, Conflict]:
        return {rel: Conflict.from_dict(json.loads(raw))
                for rel, raw in self.store.client.hgetall(self.conflicts_key).items()}

    def open_conflicts(self, found: list[Conflict]) -> None:
        if found:
            self.store.client.hset(self.conflicts_key, mapping={
                c.rel_path: json.dumps(c.as_dict()) for c in found})

    def close_conflicts(self, rels: Iterable[str]) -> None:
        rels = list(rels)
        if rels:
            self.store.client.hdel(self.conflicts_key, *rels)


def classify(plan: MirrorPlan, synced: dict[str, Synced], window_ns: int) -> list[Conflict]:
    """The conflicts among the plan's actions, given the state as last synced."""
    def same(entry: RemoteEntry, state: Synced) -> bool:
        return entry.size == state.size and abs(entry.mtime_ns - state.mtime_ns) <= window_ns

    now, found = time.time(), []
    both = plan.updates + [a for a in plan.skipped if a.reason == NEWER]
    for action in both:
        state, backup = synced.get(action.rel_path), plan.listing.get(action.rel_path)
        if state is None or backup is None:
            continue  # never synced by us: the plain mirror rules apply
        master = RemoteEntry(action.rel_path, action.size, action.mtime_ns)
        if abs(backup.mtime_ns - state.mtime_ns) <= window_ns and backup.size != state.size:
            found.append(Conflict(SIZE_MISMATCH, action.rel_path, master, backup, now))
        elif not same(master, state) and not same(backup, state):
            found.append(Conflict(MODIFIED_BOTH, action.rel_path, master, backup, now))
    for action in plan.deletes:
        state, backup = synced.get(action.rel_path), plan.listing.get(action.rel_path)
        if state is not None and backup is not None and not same(backup, state):
            found.append(Conflict(DELETED_MASTER, action.rel_path, None, backup, now))
    for action in plan.copies:
        if action.rel_path in synced:
            master = RemoteEntry(action.rel_path, action.size, action.mtime_ns)
            found.append(Conflict(DELETED_BACKUP, action.rel_path, master, None, now))
    return found


def hold_back(plan: MirrorPlan, rels: set[str], reason: str) -> None:
    """Take the actions on `rels` out of the plan: nothing there is written or deleted."""
    def keep(actions: list[Action]) -> list[Action]:
        held = [a for a in actions if a.rel_path in rels]
        plan.skipped.extend(Action("skip", a.rel_path, a.size, a.mtime_ns, reason) for a in held)
        return [a for a in actions if a.rel_path not in rels]

    plan.copies, plan.updates, plan.deletes = (keep(plan.copies), keep(plan.updates),
                                               keep(plan.deletes))
    plan.skipped = [a for a in plan.skipped if not (a.rel_path in rels and a.reason == NEWER)]


def backup_name(rel: str, day: dt.date) -> str:
    """`a/IMG_1.jpg` -> `a/IMG_1 (backup 2026-12-02).jpg`."""
    folder, name = posixpath.split(rel)
    stem, ext = os.path.splitext(name)
    return posixpath.join(folder, f"{stem} (backup {day.isoformat()}){ext}")


def resolve(book: ConflictBook, conflict: Conflict, keep: str, root: Path,
            destination: Destination) -> str:
    """Act on one conflict (keep master, backup or both); returns what was done."""
    rel = conflict.rel_path
    local = Path(root, *rel.split("/"))
    if conflict.kind == DELETED_BACKUP:
        raise UnknownConflict(f"{rel}: a file deleted from the backup is restored by the next "
                              "run; there is nothing to choose")
    if keep == "master" and conflict.kind == DELETED_MASTER:
        destination.delete(rel)
        book.forget_synced([rel])
        done = "deleted from the backup, as from the master"
    elif keep == "master":
        book.set_synced({rel: _put(destination, local, rel)})
        done = "the master's version written over the backup's"
    elif keep == "backup" or conflict.kind == DELETED_MASTER:
        assert conflict.backup is not None
        sha, size = fetch_backup(destination, rel, local, conflict.backup.mtime_ns, replace=True)
        book.set_synced({rel: Synced(sha, size, conflict.backup.mtime_ns)})
        done = "the backup's version restored into the master"
    else:
        assert conflict.backup is not None
        dated = backup_name(rel, dt.date.fromtimestamp(conflict.backup.mtime_ns / 1e9))
        at = Path(root, *dated.split("/"))
        sha, size = fetch_backup(destination, rel, at, conflict.backup.mtime_ns, replace=False)
        book.set_synced({dated: _put(destination, at, dated),
                         rel: _put(destination, local, rel)})
        done = f"both kept: the backup's version is now {dated} on both sides"
    book.close_conflicts([rel])
    return done


def _put(destination: Destination, local: Path, rel: str) -> Synced:
    info = os.stat(local)
    sha = destination.put(local, rel, info.st_mtime_ns, replace=True)
    return Synced(sha, info.st_size, info.st_mtime_ns)


def find_conflict(book: ConflictBook, rel: str) -> Conflict:
    conflicts = book.conflicts()
    if rel not in conflicts:
        listed = ", ".join(sorted(conflicts)[:5]) or "none"
        raise UnknownConflict(f"mirror {book.mirror}: {rel!r} is not in conflict (open: {listed})")
    return conflicts[rel]


def policy_keep(mirror: MirrorConfig) -> str | None:
    return KEEPS.get(mirror.conflicts)
