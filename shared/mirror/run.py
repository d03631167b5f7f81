"""Carrying out a `MirrorPlan` on a `Destination`: renames, deletes, then parallel transfers.

One bad file never stops the rest: each failure is collected with its reason, and the run ends
with a summary (copied, updated, renamed, deleted, skipped, failed, bytes, duration, MB/s).
A part of the source that could not be read is a failure too ("read"): the run carried out
everything else, but it did not make an exact replica.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from shared.errors import DestinationFull, MirrorRefused, RetryableError
from shared.mirror.plan import COPY, Action, MirrorPlan
from shared.transfer import Destination

PutHook = Callable[[str, str, int, int], None]


@dataclass(frozen=True)
class FileError:
    rel_path: str
    action: str
    reason: str
    retryable: bool = False
    full: bool = False  # DestinationFull: the mirror's target is held until space returns


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    bytes: int
    total_bytes: int
    seconds: float

    @property
    def mb_s(self) -> float:
        return self.bytes / self.seconds / 1e6 if self.seconds > 0 else 0.0

    @property
    def eta(self) -> float | None:
        rate = self.bytes / self.seconds if self.seconds > 0 else 0.0
        return (self.total_bytes - self.bytes) / rate if rate > 0 else None

    def meta(self) -> dict[str, Any]:
        eta = self.eta
        return {"done": self.done, "total": self.total, "bytes": self.bytes,
                "total_bytes": self.total_bytes, "mb_s": round(self.mb_s, 2),
                "eta": None if eta is None else round(eta, 1)}


@dataclass
class MirrorSummary:
    copied: int = 0
    updated: int = 0
    renamed: int = 0
    deleted: int = 0
    skipped: int = 0
    failed: int = 0
    unchanged: int = 0
    bytes: int = 0
    seconds: float = 0.0
    errors: list[FileError] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # source parts that could not be read
    kept_unknown: int = 0  # destination files under them, kept rather than deleted
    space: str = ""  # a backup target's space report (shared/backup/space.py)

    @property
    def mb_s(self) -> float:
        return self.bytes / self.seconds / 1e6 if self.seconds > 0 else 0.0

    def line(self) -> str:
        return (f"copied {self.copied}, updated {self.updated}, renamed {self.renamed}, "
                f"deleted {self.deleted}, skipped {self.skipped}, failed {self.failed}, "
                f"unchanged {self.unchanged}; {self.bytes / 1e6:.1f} MB in {self.seconds:.2f} s "
                f"({self.mb_s:.1f} MB/s)" + (
                    f"; {len(self.unreadable)} source parts unreadable, {self.kept_unknown} "
                    "destination files under them kept" if self.unreadable else "") + (
                    f"; {self.space}" if self.space else ""))

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["mb_s"] = round(self.mb_s, 2)
        data["seconds"] = round(self.seconds, 3)
        return data


class _Tracker:
    """Counts finished files and bytes from several transfer threads."""

    def __init__(self, total: int, total_bytes: int, report: Callable[[Progress], None] | None):
        self.lock = threading.Lock()
        self.done = self.bytes = 0
        self.total, self.total_bytes, self.report = total, total_bytes, report
        self.started = time.perf_counter()

    def add(self, nbytes: int = 0, files: int = 0) -> None:
        with self.lock:
            self.bytes += nbytes
            self.done += files
            snapshot = Progress(self.done, self.total, self.bytes, self.total_bytes,
                                time.perf_counter() - self.started)
        if self.report is not None:
            self.report(snapshot)


def run_mirror(plan: MirrorPlan, source_root: Path, destination: Destination, parallel: int = 4,
               force: bool = False, progress: Callable[[Progress], None] | None = None,
               summary: MirrorSummary | None = None,
               on_put: PutHook | None = None) -> MirrorSummary:
    """Apply the plan. MirrorRefused (nothing changed) when its deletes trip the guard.
    `on_put(rel_path, sha256, size, mtime_ns)` hears of each file written, as it landed.

    `summary`, when given, is filled in as the run goes: a caller interrupted by an exception
    (a soft time limit) still knows what was done. Interrupted, no further transfer starts.
    """
    if plan.guard and not force:
        raise MirrorRefused(f"mirror refused: {plan.guard}")
    started = time.perf_counter()
    summary = summary if summary is not None else MirrorSummary()
    summary.skipped, summary.unchanged = len(plan.skipped), plan.unchanged
    summary.kept_unknown = plan.kept_unknown
    for part in plan.unknown:
        summary.unreadable.append(part.line())
        summary.errors.append(FileError(part.rel_path or ".", "read", part.line(where=False),
                                        retryable=part.transient))
    try:
        _apply(plan, source_root, destination, parallel, summary, progress, on_put)
    finally:
        summary.failed = len(summary.errors)
        summary.seconds = time.perf_counter() - started
    return summary


def _apply(plan: MirrorPlan, source_root: Path, destination: Destination, parallel: int,
           summary: MirrorSummary, progress: Callable[[Progress], None] | None,
           on_put: PutHook | None = None) -> None:
    transfers = plan.transfers
    tracker = _Tracker(len(plan.renames) + len(plan.deletes) + len(transfers),
                       plan.transfer_bytes, progress)
    # Renames first: they need the extras that the deletes would remove.
    for action in plan.renames:
        if _attempt(summary, action, lambda a=action: destination.rename(a.old_path, a.rel_path)):
            summary.renamed += 1
        tracker.add(files=1)
    for action in plan.deletes:
        if _attempt(summary, action, lambda a=action: destination.delete(a.rel_path)):
            summary.deleted += 1
        tracker.add(files=1)
    lock = threading.Lock()
    stop = threading.Event()

    def transfer(action: Action) -> None:
        if stop.is_set():
            return
        ok = _attempt(summary, action, lambda: _put(source_root, destination, action, tracker,
                                                         on_put))
        with lock:
            if ok and action.kind == COPY:
                summary.copied += 1
            elif ok:
                summary.updated += 1
            if ok:
                summary.bytes += action.size
        tracker.add(files=1)

    pool = ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="mirror")
    try:
        list(pool.map(transfer, transfers))
    except BaseException:
        stop.set()  # let running transfers finish (their temp files are removed), start no more
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _put(source_root: Path, destination: Destination, action: Action, tracker: _Tracker,
         on_put: PutHook | None = None) -> None:
    src = Path(source_root, *action.rel_path.split("/"))
    # The current mtime, not the planned one: a file changed since planning is carried as it is
    # now (its destination copy then carries the matching time).
    info = os.stat(src, follow_symlinks=False)
    sha = destination.put(src, action.rel_path, info.st_mtime_ns, replace=action.kind != COPY,
                          progress=lambda n: tracker.add(nbytes=n))
    if on_put is not None:
        on_put(action.rel_path, sha, info.st_size, info.st_mtime_ns)


def _attempt(summary: MirrorSummary, action: Action, work: Callable[[], None]) -> bool:
    try:
        work()
        return True
    except Exception as exc:  # noqa: BLE001 - one bad file never stops the rest
        reason = str(exc) or type(exc).__name__
        if isinstance(exc, FileNotFoundError):
            reason = f"{action.rel_path}: vanished from the source"
        summary.errors.append(FileError(action.rel_path, action.kind, reason,
                                        isinstance(exc, RetryableError),
                                        isinstance(exc, DestinationFull)))
        return False
