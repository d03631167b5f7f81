"""What waits in the broker's queues, by lane, and dropping one source's waiting work.

The queues are kombu's Redis lists (messages.py): one list per queue and priority step. They are
read with LRANGE, never popped: reading takes nothing from a worker. A message that a worker took
(kombu's `unacked` hash: running, or waiting for its ETA) is only counted, never touched.

Dropping is for the work a person typed `mediacourier queue --clear SOURCE` about: it stops now
and comes back at the next reconcile. Only messages from before a file's copy is made are
dropped (a batch, which hashes, copies and verifies inside one task, or a chain's hash_file or
claim_content): nothing of such a file has been written anywhere yet and its source is untouched.
Each message goes in one Lua script, atomic against the workers: it is kept when a worker holds
a lease on one of its files (that file is being carried by another message), or when a file's
record says `verified` (copied and checked, its outcome not recorded yet: the sweeper finishes
it); else it is removed together with its files' in-flight markers. Without a marker the sweeper
has nothing to send again, and the next reconcile finds the files new and queues them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import redis

from shared.state.coordination import file_lease_name, inflight_field
from shared.state.messages import (
    PAGE,
    PRIORITY_STEPS,
    UNACKED,
    _body,
    _loads,
    priority_lists,
)
from shared.state.store import RedisStateStore

LANES = {0: "manual", 3: "live", 6: "reconcile", 9: "bulk"}
BATCH = "mediacourier.ingest_batch"
# A waiting reconcile of the source is dropped too: run now, it would queue again at once what
# was just dropped. Nothing is written before it runs; beat sends the next one on schedule.
RECONCILE = "mediacourier.reconcile"
# The tasks whose files have nothing written anywhere yet (see the module docstring).
BEFORE_COPY = frozenset({BATCH, "mediacourier.hash_file", "mediacourier.claim_content"})
Version = tuple[str, int, int]  # rel_path, size, mtime_ns: what an in-flight marker names

_DROP = """
-- KEYS: the list, the in-flight hash, the source's records, then the files' lease keys
-- ARGV: the message, then per file its rel_path and its in-flight marker field
for i = 4, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then return -1 end
end
for i = 2, #ARGV, 2 do
  local record = redis.call('HGET', KEYS[3], ARGV[i])
  if record and string.sub(record, 1, 9) == 'verified\\t' then return -2 end
end
local removed = redis.call('LREM', KEYS[1], 1, ARGV[1])
if removed == 1 then
  for i = 3, #ARGV, 2 do redis.call('HDEL', KEYS[2], ARGV[i]) end
end
return removed
"""
LEASED, VERIFIED = -1, -2


@dataclass(frozen=True)
class Waiting:
    """One waiting message, as read from its list."""

    queue: str
    lane: str
    list_key: str
    raw: str
    task: str
    source: str | None
    files: tuple[Version, ...]


@dataclass
class QueueReport:
    """What waits: per (queue, lane, source, task) the messages and files, the oldest wait."""

    messages: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)
    files: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)
    oldest: dict[tuple[str, str], float] = field(default_factory=dict)  # (queue, lane) -> s
    delivered: int = 0  # taken by a worker, running or waiting for its ETA: not touched

    def to_json(self) -> dict[str, Any]:
        rows = [{"queue": q, "lane": lane, "priority": _priority(lane), "source": s, "task": t,
                 "messages": n, "files": self.files[(q, lane, s, t)]}
                for (q, lane, s, t), n in sorted(self.messages.items(), key=_row_order)]
        oldest = [{"queue": q, "lane": lane, "seconds": round(age, 1)}
                  for (q, lane), age in sorted(self.oldest.items())]
        return {"waiting": rows, "oldest": oldest, "delivered": self.delivered,
                "total_messages": sum(self.messages.values()),
                "total_files": sum(self.files.values())}


@dataclass
class ClearReport:
    dropped_files: int = 0
    dropped_messages: int = 0
    dropped_reconciles: int = 0
    kept: Counter[str] = field(default_factory=Counter)  # why -> files left waiting


def waiting(client: redis.Redis, queues: list[str]) -> Iterator[Waiting]:
    """Every waiting message of `queues`, first consumed first; read, never taken."""
    for queue in queues:
        for step, name in zip(PRIORITY_STEPS, priority_lists(queue), strict=True):
            for start in range(0, int(client.llen(name)), PAGE):
                for raw in client.lrange(name, start, start + PAGE - 1):
                    yield _parse(queue, LANES[step], name, raw)


def read_queues(store: RedisStateStore, queues: list[str], now: float) -> QueueReport:
    """Counts per queue, lane, source and task; the oldest wait per lane from the in-flight
    markers of the files named (set when each was queued: the message itself has no time)."""
    report = QueueReport()
    page: list[tuple[tuple[str, str], str]] = []
    for message in waiting(store.client, queues):
        row = (message.queue, message.lane, message.source or "-", message.task)
        report.messages[row] += 1
        report.files[row] += len(message.files)
        page += [((message.queue, message.lane), inflight_field(message.source or "", *v))
                 for v in message.files]
        if len(page) >= PAGE:
            _oldest_of(store, page, now, report.oldest)
            page = []
    _oldest_of(store, page, now, report.oldest)
    ours = set(queues)
    for _, raw in store.client.hscan_iter(UNACKED, count=PAGE):
        entry = _loads(raw)
        if isinstance(entry, list) and len(entry) == 3 and entry[2] in ours:
            report.delivered += 1
    return report


def clear_source(store: RedisStateStore, queues: list[str], source: str) -> ClearReport:
    """Drop the waiting messages of `source` from before its files' copies (module docstring);
    the others are counted in `kept` with the reason they stay."""
    drop = store.client.register_script(_DROP)
    report = ClearReport()
    batch: list[Waiting] = []
    for message in waiting(store.client, queues):
        if message.source != source:
            continue
        if not message.files and message.task != RECONCILE:
            continue  # not a file's work (a mirror or a scrub named like the source)
        if message.task not in BEFORE_COPY and message.task != RECONCILE:
            report.kept[f"{message.task} (its copy may be under way)"] += len(message.files)
            continue
        batch.append(message)
        if len(batch) >= PAGE:
            _drop(store, drop, batch, report)
            batch = []
    _drop(store, drop, batch, report)
    if report.dropped_messages or report.dropped_reconciles or report.kept:
        store.journal("queue-cleared", source=source, files=report.dropped_files,
                      messages=report.dropped_messages, reconciles=report.dropped_reconciles,
                      kept=sum(report.kept.values()))
    return report


def _drop(store: RedisStateStore, drop: Any, batch: list[Waiting], report: ClearReport) -> None:
    pipe = store.client.pipeline(transaction=False)
    for message in batch:
        source = message.source or ""
        leases = [store.key("lock", file_lease_name(source, rel)) for rel, _, _ in message.files]
        args: list[str] = [message.raw]
        for version in message.files:
            args += [version[0], inflight_field(source, *version)]
        drop(keys=[message.list_key, store.key("inflight"), store.key("files", source), *leases],
             args=args, client=pipe)
    for message, result in zip(batch, pipe.execute(), strict=True):
        if result == 1 and not message.files:
            report.dropped_reconciles += 1
        elif result == 1:
            report.dropped_messages += 1
            report.dropped_files += len(message.files)
        elif result == LEASED:
            report.kept["a worker holds one of its files"] += len(message.files)
        elif result == VERIFIED:
            report.kept["copied and verified, its outcome not recorded yet"] += len(
                message.files)
        # 0: a worker took it between the read and the script: it is running, not waiting.


def _parse(queue: str, lane: str, list_key: str, raw: str) -> Waiting:
    message = _loads(raw)
    if not isinstance(message, dict):
        return Waiting(queue, lane, list_key, raw, "?", None, ())
    task = str((message.get("headers") or {}).get("task") or "?")
    body = _body(message)
    args = body[0] if isinstance(body, list) and body and isinstance(body[0], list) else []
    source, files = _files(task, args)
    return Waiting(queue, lane, list_key, raw, task, source, files)


def _files(task: str, args: list[Any]) -> tuple[str | None, tuple[Version, ...]]:
    """The source and the file versions a message names (a batch's items, a stage's job, the
    source of a reconcile); what does not have that shape names none."""
    if task == BATCH and len(args) == 2 and isinstance(args[0], str) \
            and isinstance(args[1], list):
        return args[0], tuple(v for v in map(_item_version, args[1]) if v is not None)
    job = args[0] if args else None
    if isinstance(job, str):  # mediacourier.reconcile(source), mirror(name)…: no file
        return job, ()
    if not isinstance(job, dict) or not isinstance(job.get("source"), str) \
            or not isinstance(job.get("rel_path"), str):
        return None, ()
    return job["source"], (_job_version(job),)


def _item_version(item: Any) -> Version | None:
    if isinstance(item, list) and len(item) == 3 and isinstance(item[0], str) \
            and all(isinstance(n, int) for n in item[1:]):
        return item[0], item[1], item[2]
    return None


def _job_version(job: dict[str, Any]) -> Version:
    """The version the job was queued as (its marker), which `queued_version` keeps."""
    size, _, mtime = str(job.get("queued_version") or "").partition(":")
    if size.lstrip("-").isdigit() and mtime.isdigit():
        return job["rel_path"], int(size), int(mtime)
    size_n, mtime_n = job.get("size"), job.get("mtime_ns")
    return (job["rel_path"], size_n if isinstance(size_n, int) else -1,
            mtime_n if isinstance(mtime_n, int) else -1)


def _oldest_of(store: RedisStateStore, page: list[tuple[tuple[str, str], str]], now: float,
               oldest: dict[tuple[str, str], float]) -> None:
    if not page:
        return
    stamps = store.client.hmget(store.key("inflight"), [marker for _, marker in page])
    for (where, _), stamp in zip(page, stamps, strict=True):
        try:
            age = now - float(stamp)
        except (TypeError, ValueError):
            continue  # no marker (a message of another kind, or one the sweeper dropped)
        oldest[where] = max(oldest.get(where, 0.0), age)


def _priority(lane: str) -> int:
    return next(step for step, name in LANES.items() if name == lane)


def _row_order(item: tuple[tuple[str, str, str, str], int]) -> tuple[str, int, str, str]:
    (queue, lane, source, task), _ = item
    return queue, _priority(lane), source, task
