"""Reconciliation: compare a source (and its library) with the records, plan what to do."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from shared.config import SourceConfig
from shared.media import IgnoreRules
from shared.source.nextcloud import walk_starts
from shared.source.outcomes import duplicate_unjournaled
from shared.source.walk import Entry, walk_versions
from shared.state import SEP, FileRecord, RedisStateStore, file_lease_name
from shared.transfer import TMP_PREFIX, remove_if_stale

DONE_STATES = frozenset({"ingested", "duplicate", "skipped", "failed", "empty"})
# A file that arrived this lately before a reconcile is one a person may be waiting for (just
# uploaded while the watcher restarted, or while its start-up scan walked): it goes in the live
# lane, not behind the bulk batches. Five minutes covers a watcher's restart with backoff and
# the walk and queueing of a 100,000-file source; older files are catch-up work.
FRESH_SECONDS = 300.0
# At most this many (the newest: one batch of the default size) go in the live lane: a big
# import copied in just before is still bulk work, and a live photo queued after the scan
# waits behind one such batch at most, never behind the import.
FRESH_MAX = 64


@dataclass
class ReconcilePlan:
    source: str
    to_ingest: list[Entry] = field(default_factory=list)
    fresh: int = 0  # the first `fresh` of to_ingest arrived lately, newest first: the live lane
    vanished: list[str] = field(default_factory=list)
    unchanged: int = 0
    in_flight: int = 0
    settling: int = 0
    library_vanished: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def scanned(self) -> int:
        return len(self.to_ingest) + self.unchanged + self.in_flight + self.settling

    @property
    def live_lane(self) -> list[Entry]:
        return self.to_ingest[: self.fresh]

    @property
    def bulk_lane(self) -> list[Entry]:
        return self.to_ingest[self.fresh :]


def rules_for(source: SourceConfig) -> IgnoreRules:
    return IgnoreRules(include=source.include, exclude=source.exclude)


def plan_source(
    store: RedisStateStore,
    source: SourceConfig,
    stale_after: float,
    retry_failed: bool = False,
    now: float | None = None,
) -> ReconcilePlan:
    """New or changed files to ingest, and records whose file has vanished.

    A file modified within the source's stability window may still be being written: it is
    counted as settling and left for the watcher or a follow-up pass.

    A file version already queued less than `stale_after` seconds ago is left to its task; an
    older in-flight marker means the message was lost (e.g. Redis restarted without AOF), so the
    file is planned again.

    A file recorded as done with its present size and mtime is unchanged before the ignore
    rules are asked (they accepted it when it was recorded): the hot path of a large source
    that has not changed is one lstat and one dict lookup per file.

    A file to ingest that arrived (its mtime or, for a sync client that keeps the capture
    time as mtime, its ctime: set here when the file is written or renamed in) within
    FRESH_SECONDS before `now` comes first in to_ingest and is counted in `fresh`, up to the
    FRESH_MAX newest.
    """
    started = time.perf_counter()
    plan = ReconcilePlan(source.name)
    # One HGETALL, then the walk, one after the other: a fetch on a thread of its own was
    # slower (measured: its parser holds the GIL while the walk's stat calls wait for it).
    records = store.all_records(source.name)
    done = DONE_STATES - {"failed"} if retry_failed else DONE_STATES
    unchanged = 0
    now = time.time() if now is None else now
    fresh_since_ns = int((now - FRESH_SECONDS) * 1e9)
    arrived_lately: dict[str, int] = {}  # rel_path -> when it arrived (ns), if lately

    def known(rel: str, info: os.stat_result) -> bool:
        """Recorded as done with this size and mtime: counted, its record taken off the list
        (what is left on it at the end has vanished). The hot path of a reconcile."""
        nonlocal unchanged
        raw = records.get(rel)
        if raw is not None:
            state_end = raw.find(SEP)
            if raw[:state_end] in done and raw.startswith(
                f"{SEP}{info.st_size}{SEP}{info.st_mtime_ns}{SEP}", state_end
            ):
                del records[rel]
                unchanged += 1
                return True
        # Not known as it is: note whether it arrived lately (its lstat is at hand only here).
        arrived = max(info.st_mtime_ns, info.st_ctime_ns)
        if arrived >= fresh_since_ns:
            arrived_lately[rel] = arrived
        return False

    rules = rules_for(source)
    # A nextcloud source: its users' folders only, never appdata_* and the like beside them.
    folders = (files for start in walk_starts(source)
               for files in walk_versions(source.path, rules, start, known=known))
    inflight, lost = _inflight_of(store, source.name, time.time() - stale_after)
    settled_before_ns = int((now - source.stability_seconds) * 1e9)
    pop = records.pop
    fresh: list[tuple[int, Entry]] = []
    for files in folders:
        for version in files:
            rel, size, mtime_ns = version[0], version[1], version[2]
            pop(rel, None)  # recorded, but not done or not this version
            if (rel, size, mtime_ns) in inflight:
                plan.in_flight += 1
                continue
            if mtime_ns > settled_before_ns:
                plan.settling += 1
                continue
            arrived = arrived_lately.get(rel)
            if arrived is None:
                plan.to_ingest.append(Entry(*version))
            else:
                fresh.append((arrived, Entry(*version)))
    _put_fresh_first(plan, fresh)
    plan.unchanged = unchanged
    _split_vanished(plan, records, inflight)
    _keep_unjournaled_duplicates(store, plan, records, inflight, lost)
    plan.seconds = time.perf_counter() - started
    return plan


def _put_fresh_first(plan: ReconcilePlan, fresh: list[tuple[int, Entry]]) -> None:
    """The FRESH_MAX newest of the files that arrived lately first in to_ingest (the live
    lane), the others of them with the bulk work."""
    fresh.sort(key=lambda item: item[0], reverse=True)
    plan.fresh = min(len(fresh), FRESH_MAX)
    plan.to_ingest[:0] = [entry for _, entry in fresh]


def _split_vanished(plan: ReconcilePlan, records: dict[str, str], inflight: set[tuple]) -> None:
    """Records whose file is gone: forgotten, except a 'verified' one. That job stopped between
    releasing its source (so the file is gone) and recording its outcome: it is planned again
    to finish (its stages resume from the record), or forgetting it would lose the outcome and
    turn the next delivery of its message into "vanished"."""
    for rel, raw in records.items():
        fields = raw.split(SEP, 3)
        if fields[0] != "verified" or len(fields) < 3 or not fields[2].lstrip("-").isdigit():
            plan.vanished.append(rel)
            continue
        size, mtime_ns = int(fields[1]), int(fields[2])
        if (rel, size, mtime_ns) in inflight:
            plan.in_flight += 1
        else:
            plan.to_ingest.append(Entry(rel, size, mtime_ns, 0, True))


def _keep_unjournaled_duplicates(store: RedisStateStore, plan: ReconcilePlan,
                                 records: dict[str, str], inflight: set[tuple],
                                 lost: set[tuple]) -> None:
    """Vanished 'duplicate' records whose outcome was never journaled: not forgotten. Such a
    job recorded the duplicate, deleted its source and stopped before the journal entry
    (outcomes.py); forgetting the record would lose its outcome for good. Its in-flight marker
    says so, as the mark does not (the marker goes with the journal entry): a live marker
    leaves it to its delivery, a stale one (dropped just now) plans it again, and its next
    delivery journals the duplicate. With neither marker nor mark, it was journaled longer
    ago than a mark lives: forgotten, or it would be journaled twice."""
    candidates = {rel for rel in plan.vanished
                  if records[rel].startswith(f"duplicate{SEP}")}
    if not candidates:
        return
    marks = store.outcome_marks(plan.source, sorted(candidates))
    kept: set[str] = set()
    for rel in sorted(candidates):
        try:
            record = FileRecord.decode(records[rel])
        except ValueError:
            continue  # not a record mediacourier writes: forgotten as before
        version = (rel, record.size, record.mtime_ns)
        if not duplicate_unjournaled(record, marks[rel], record.size, record.mtime_ns):
            continue
        if version in inflight:
            kept.add(rel)
            plan.in_flight += 1
        elif version in lost:
            kept.add(rel)
            plan.to_ingest.append(Entry(rel, record.size, record.mtime_ns, 0, True))
    if kept:
        plan.vanished = [rel for rel in plan.vanished if rel not in kept]


def _inflight_of(store: RedisStateStore, source: str,
                 fresh_since: float) -> tuple[set[tuple], set[tuple]]:
    """The versions of `source` still in flight, and those whose marker was stale: an older
    marker is dropped (its file planned again) unless the file's lease is held: a worker is at
    it, however long ago it was queued. (The in-flight sweeper, sweep.py, finds lost messages
    within minutes; this is the backstop.)
    """
    fresh: set[tuple] = set()
    stale: dict[str, tuple[str, int, int]] = {}
    for key, queued_at in store.inflight().items():
        name, rel, size, mtime = key.split("\0")
        if name != source:
            continue
        if queued_at >= fresh_since:
            fresh.add((rel, int(size), int(mtime)))
        else:
            stale[key] = (rel, int(size), int(mtime))
    leased = store.leased([file_lease_name(source, rel) for rel, _, _ in stale.values()])
    for key, version in list(stale.items()):
        if file_lease_name(source, version[0]) in leased:
            fresh.add(version)
            del stale[key]
    store.drop_inflight(stale)
    return fresh, set(stale.values())


def vanished_library_files(
    store: RedisStateStore, library: str, root: str, stale_tmp_after: float
) -> dict[str, str]:
    """Library files mediacourier put there that are gone now (rel_path -> sha256).

    On the way, temporary files left by a copy that crashed are removed once they are older
    than `stale_tmp_after` seconds (no live copy can still be writing them).
    """
    known = store.library_files(library)
    present: set[str] = set()
    stale_before = time.time() - stale_tmp_after
    stack = [(root, "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.name.startswith(TMP_PREFIX):
                        remove_if_stale(entry, stale_before)
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        stack.append((entry.path, prefix + entry.name + "/"))
                    else:
                        present.add(prefix + entry.name)
        except OSError:
            continue
    return {rel: sha for rel, sha in known.items() if rel not in present}
