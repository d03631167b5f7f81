"""One scrub pass over a library: re-read the files that did not change, compare with the index.

A file whose size and modification time are what they were when its sha256 was indexed (the
ingest record) or last verified (the scrub's own note) should still hash to that sha256; one
that does not has rotted on the disk. A file whose size or time changed was edited or replaced
on purpose and is left alone. Reads go around the page cache and are paced to `rate` bytes a
second, so a scrub finds what the disk holds and leaves the disk to live ingests. The pass
walks the index in path order and keeps a cursor in Redis: an interrupted pass resumes there.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from shared.config import Settings
from shared.errors import ConfigError
from shared.scrub.ledger import ScrubLedger
from shared.state import FileRecord, RedisStateStore
from shared.transfer import CHUNK

CURSOR_EVERY = 1.0  # seconds between cursor saves: a resumed pass re-reads at most this much


@dataclass
class ScrubSummary:
    library: str
    checked: int = 0
    ok: int = 0
    damaged: int = 0
    changed: int = 0  # size or mtime differ from the indexed version: edited, not rotted
    missing: int = 0
    unknown: int = 0  # differs, with no indexed size and mtime to tell an edit from rot
    repaired: int = 0
    bytes: int = 0
    seconds: float = 0.0
    resumed_from: str = ""
    complete: bool = False
    damaged_paths: list[str] = field(default_factory=list)
    repair_errors: list[str] = field(default_factory=list)

    @property
    def files_s(self) -> float:
        return self.checked / self.seconds if self.seconds > 0 else 0.0

    @property
    def mb_s(self) -> float:
        return self.bytes / self.seconds / 1e6 if self.seconds > 0 else 0.0

    def line(self) -> str:
        return (f"scrub {self.library}: checked {self.checked}, ok {self.ok}, damaged "
                f"{self.damaged}, repaired {self.repaired}, changed {self.changed}, missing "
                f"{self.missing}, not judged {self.unknown}; {self.bytes / 1e6:.1f} MB in "
                f"{self.seconds:.2f} s ({self.files_s:.1f} files/s, {self.mb_s:.1f} MB/s)"
                + ("" if self.complete else "; interrupted, the next pass resumes"))

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(files_s=round(self.files_s, 2), mb_s=round(self.mb_s, 2))
        return data


class Pace:
    """Keeps reads under `rate` bytes a second over the pass (0: unlimited)."""

    def __init__(self, rate: int) -> None:
        self.rate, self.spent, self.started = rate, 0, time.monotonic()

    def spend(self, nbytes: int) -> None:
        self.spent += nbytes
        if self.rate > 0:
            ahead = self.spent / self.rate - (time.monotonic() - self.started)
            if ahead > 0:
                time.sleep(ahead)


def disk_sha256(path: Path, pace: Pace) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        # Drop cached pages first: a copy cached since ingest would hide the rot on the disk.
        os.posix_fadvise(handle.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            pace.spend(len(chunk))
    return digest.hexdigest()


def indexed_versions(settings: Settings, store: RedisStateStore, library: str,
                     index: dict[str, str]) -> dict[str, tuple[int, int]]:
    """rel_path -> (size, mtime_ns) of the version whose sha256 the index holds: the ingest
    records (a library copy keeps its source's mtime), overlaid by what the scrub verified."""
    found: dict[str, tuple[int, int]] = {}
    for name, source in settings.sources.items():
        if source.library != library:
            continue
        for raw in store.all_records(name).values():
            record = FileRecord.decode(raw)
            if record.dest and record.sha256 and index.get(record.dest) == record.sha256:
                found[record.dest] = (record.size, record.mtime_ns)
    found.update(ScrubLedger(store, library).seen())
    return found


def library_root(settings: Settings, library: str) -> Path:
    if library not in settings.libraries:
        known = ", ".join(settings.libraries) or "none"
        raise ConfigError(f"no library named {library!r}; configured: {known}")
    config = settings.libraries[library]
    if config.target:
        raise ConfigError(f"library {library} lives on target {config.target}: scrub it on "
                          "the machine that holds its disk")
    return Path(config.path)


Repairer = Callable[[str, str, int], str]  # (rel_path, expected sha256, mtime_ns) -> mirror


def scrub_library(settings: Settings, store: RedisStateStore, library: str, rate: int,
                  repair: Repairer | None = None, host: str = "",
                  summary: ScrubSummary | None = None,
                  progress: Callable[[ScrubSummary], None] | None = None) -> ScrubSummary:
    """One pass (or the rest of an interrupted one). `summary` is filled as it goes, so a
    caller interrupted by an exception still knows what was done."""
    root = library_root(settings, library)
    ledger = ScrubLedger(store, library)
    summary = summary if summary is not None else ScrubSummary(library)
    index = store.library_files(library)
    versions = indexed_versions(settings, store, library, index)
    summary.resumed_from = ledger.cursor()
    todo = sorted(rel for rel in index if rel > summary.resumed_from)
    pace, started, saved = Pace(rate), time.perf_counter(), time.monotonic()
    verified: dict[str, tuple[int, int]] = {}
    try:
        for rel in todo:
            _check(root / rel, rel, index[rel], versions.get(rel), pace, summary, verified,
                   ledger, store, repair, host)
            if time.monotonic() - saved >= CURSOR_EVERY:
                ledger.remember(verified)
                verified.clear()
                ledger.set_cursor(rel)
                saved = time.monotonic()
            if progress is not None:
                progress(summary)
            summary.seconds = time.perf_counter() - started
        summary.complete = True
        ledger.set_cursor("")
    finally:
        ledger.remember(verified)
        summary.seconds = time.perf_counter() - started
        if not summary.complete and summary.checked:
            ledger.set_cursor(rel)
    store.journal("scrub", source=library, bytes=summary.bytes, reason=summary.line(),
                  host=host, checked=summary.checked, damaged=summary.damaged,
                  repaired=summary.repaired)
    return summary


def _check(path: Path, rel: str, expected: str, version: tuple[int, int] | None, pace: Pace,
           summary: ScrubSummary, verified: dict[str, tuple[int, int]], ledger: ScrubLedger,
           store: RedisStateStore, repair: Repairer | None, host: str) -> None:
    summary.checked += 1
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        summary.missing += 1  # gone: reconcile's business, not rot
        return
    now = (info.st_size, info.st_mtime_ns)
    if version is not None and now != version:
        summary.changed += 1
        return
    actual = disk_sha256(path, pace)
    summary.bytes += info.st_size
    if actual == expected:
        summary.ok += 1
        verified[rel] = now  # the version later passes compare with
        return
    if version is None:
        # No size and time from when it was indexed: an edit and rot look alike. Not judged.
        summary.unknown += 1
        return
    summary.damaged += 1
    summary.damaged_paths.append(rel)
    ledger.mark_damaged(rel, expected, actual, info.st_size, info.st_mtime_ns)
    store.journal("scrub_mismatch", source=ledger.library, path=rel, sha256=expected,
                  reason=f"reads as sha256 {actual[:12]}, indexed {expected[:12]}: damaged on "
                  "the disk (size and time unchanged)", host=host)
    if repair is not None:
        try:
            mirror = repair(rel, expected, info.st_mtime_ns)
        except Exception as exc:  # noqa: BLE001 - one file's repair never stops the pass
            summary.repair_errors.append(f"{rel}: {exc}")
            return
        summary.repaired += 1
        store.journal("scrub_repaired", source=ledger.library, path=rel, sha256=expected,
                      reason=f"restored from mirror {mirror}", host=host)
