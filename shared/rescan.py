"""Coalesced rescans: one command per folder per debounce window, for the fewest folders."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from shared.config import RescanTarget
from shared.errors import CommandFailed
from shared.executors import CommandExecutor
from shared.store import RedisStateStore


@dataclass(frozen=True)
class RescanReport:
    target: str
    folders: tuple[str, ...]
    failed: tuple[str, ...]
    seconds: float


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


def render(command: tuple[str, ...], folder: str, library_root: str) -> tuple[str, ...]:
    rel = os.path.relpath(folder, library_root) if library_root else folder
    rel = "" if rel == "." else rel
    return tuple(part.replace("{folder}", folder).replace("{rel_folder}", rel)
                 for part in command)


def flush_rescans(
    target: RescanTarget,
    store: RedisStateStore,
    executor: CommandExecutor,
    library_roots: list[str],
) -> RescanReport:
    """Run the target's command for the minimal set of dirty folders, under a per-target lock.

    `library_roots` lets the {rel_folder} placeholder be relative to the folder's library.
    Folders whose command failed stay dirty, and CommandFailed is raised so the caller retries.
    """
    started = time.perf_counter()
    with store.lock(f"rescan:{target.name}", ttl=target.timeout_seconds + 60,
                    wait=target.timeout_seconds + 5):
        seen = store.dirty_folders(target.name)
        folders = minimal_folders(list(seen), target.max_folders, library_roots)
        failed: list[str] = []
        done: dict[str, float] = {}
        for folder in folders:
            root = next((r for r in library_roots if _within(folder, r)), "")
            result = executor.run(render(target.command, folder, root), target.timeout_seconds)
            covered = {f: s for f, s in seen.items() if _within(f, folder)}
            if result.ok:
                done.update(covered)
            else:
                failed.append(folder)
                store.journal("rescan-failed", target=target.name, folder=folder,
                              exit_code=result.exit_code, reason=result.stderr.strip()[-500:])
        store.clear_dirty(target.name, done)
    report = RescanReport(target.name, tuple(folders), tuple(failed),
                          time.perf_counter() - started)
    if folders:
        store.journal("rescanned", target=target.name, folders="\n".join(folders),
                      failed=len(failed), seconds=f"{report.seconds:.3f}")
    if failed:
        raise CommandFailed(f"rescan {target.name}: command failed for {', '.join(failed)}")
    return report


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")
