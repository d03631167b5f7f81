"""Coalesced rescans: one command per folder per debounce window, for the fewest folders."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

from shared.config import RescanTarget
from shared.errors import CommandFailed, MediacourierError, RescanRefused
from shared.executors import CommandExecutor
from shared.rescan.apps import scan_folder
from shared.rescan.output import PERMANENT, RETRY
from shared.state import DEFAULT_LEASE_SECONDS, RedisStateStore


@dataclass(frozen=True)
class RescanReport:
    target: str
    folders: tuple[str, ...]
    failed: tuple[str, ...]
    seconds: float
    counts: dict[str, int] = field(default_factory=dict)


def minimal_folders(folders: list[str], max_folders: int, roots: list[str] = ()) -> list[str]:
    """Drop folders inside another listed folder; above the limit, scan their common parent.

    The collapse happens per library root, so folders of two libraries never become '/'.
    """
    kept: list[str] = []
    for folder in sorted(set(folders)):
        if not any(_within(folder, k) for k in kept):
            kept.append(folder)
    if len(kept) <= max_folders:
        return kept
    groups: dict[str, list[str]] = {}
    for folder in kept:
        root = max((r for r in roots if _within(folder, r)), key=len, default="")
        groups.setdefault(root, []).append(folder)
    return sorted(os.path.commonpath(group) for group in groups.values())


def flush_rescans(
    target: RescanTarget,
    store: RedisStateStore,
    executor: CommandExecutor,
    library_roots: list[str],
    clients: dict[str, Any] | None = None,
) -> RescanReport:
    """Rescan the minimal set of dirty folders for one target, under a per-target lock.

    `library_roots` lets the {rel_folder} placeholder (and the app paths) be relative to the
    folder's library. A folder whose scan may pass later (a failed command, "already
    scanning", a timeout) stays dirty and CommandFailed is raised so the caller retries; one
    the app refuses for good (unknown user, path not found) is cleared, journaled and
    reported with RescanRefused. When the executor cannot run anything (engine unreachable,
    container missing) every folder stays dirty and that error is raised. Either error says
    why, for each folder; a `rescanned` entry is journaled only for folders that were scanned.
    """

    started = time.perf_counter()
    # A lease: renewed by its heartbeat while the flush runs (and checked before each folder),
    # so a long flush keeps it and a dead worker's expires within DEFAULT_LEASE_SECONDS.
    with store.lock(f"rescan:{target.name}", ttl=DEFAULT_LEASE_SECONDS,
                    wait=target.timeout_seconds * 2 + 5) as held:
        seen = store.dirty_folders(target.name)
        folders = minimal_folders(list(seen), target.max_folders, library_roots)
        if target.kind == "immich" and folders:
            folders = folders[:1]  # Immich scans a whole library: one call covers all
        failed: dict[str, str] = {}  # folder -> the reason, for the task's own error
        refused: dict[str, str] = {}
        done: dict[str, float] = {}
        counts: dict[str, int] = {}
        try:
            for folder in folders:
                held.reacquire()
                root = next((r for r in library_roots if _within(folder, r)), "")
                outcome = scan_folder(target, executor, folder, root, clients)
                covered = seen if target.kind == "immich" else \
                    {f: s for f, s in seen.items() if _within(f, folder)}
                for key, value in outcome.counts.items():
                    counts[key] = counts.get(key, 0) + value
                if outcome.status != RETRY:
                    done.update(covered)
                if not outcome.ok:
                    (refused if outcome.status == PERMANENT else failed)[folder] = \
                        outcome.message.strip() or f"exit code {outcome.exit_code}"
                    store.journal("rescan-failed", target=target.name, folder=folder,
                                  exit_code=outcome.exit_code, reason=outcome.message[-500:],
                                  permanent=int(outcome.status == PERMANENT))
        except MediacourierError as exc:  # nothing more can run: keep what is not done
            # Not permanent, whatever the error: every folder not done stays marked and is
            # scanned by the next flush (a container missing now may be back after a restart).
            store.journal("rescan-failed", target=target.name, folder="\n".join(folders),
                          exit_code=-1, reason=str(exc)[-500:], permanent=0)
            store.clear_dirty(target.name, done)
            raise
        store.clear_dirty(target.name, done)
    report = RescanReport(target.name, tuple(folders), (*failed, *refused),
                          time.perf_counter() - started, counts)
    scanned = [f for f in folders if f not in failed and f not in refused]
    if scanned:  # a busy or failed run scanned nothing: its rescan-failed entries say so
        store.journal("rescanned", target=target.name, folders="\n".join(scanned),
                      failed=len(failed) + len(refused), seconds=f"{report.seconds:.3f}",
                      counts=" ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    if failed:
        raise CommandFailed(f"rescan {target.name}: will retry {', '.join(failed)}: "
                            f"{_reasons(failed)}")
    if refused:
        raise RescanRefused(f"rescan {target.name}: refused for {', '.join(refused)}: "
                            f"{_reasons(refused)}")
    return report


def _reasons(reasons: dict[str, str]) -> str:
    """The distinct reasons, in order, on one line: one when every folder failed alike."""
    distinct = list(dict.fromkeys(" ".join(reason[-300:].split()) for reason in reasons.values()))
    return "; ".join(distinct)


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")
