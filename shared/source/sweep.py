"""The in-flight sweeper: files that were queued and whose message is gone, found within minutes.

An in-flight marker (`P:inflight`, set before a file is sent) is the durable truth that a file
version is on its way. Its message can still be lost: a whole worker killed (its delivered
messages come back only after the visibility timeout), a message kombu had popped but not yet
recorded as delivered, a second delivery that ended quietly because the first holder was alive
and then died, a message sent to a Redis that restarted and lost the last second of its
append-only file. So a marker older than `inflight_timeout` whose file shows no sign of life —
no lease held on it, no live message naming it (`shared.state.files_in_messages`) — is sent
again. A marker whose file version is gone (deleted, changed: the new version has a marker of
its own) is dropped, unless a 'verified' record says the job stopped between releasing the source
and recording its outcome, or a 'duplicate' record with no journal entry marked says it stopped
between recording the duplicate and journaling it (outcomes.py): that one is sent again to
finish, its source gone or not, and journals its outcome then.

A second copy of a file that was not lost after all is harmless: every stage runs under the
file's lease, and a message whose file is done is recorded as such.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

from shared.config import Settings
from shared.source.outcomes import duplicate_unjournaled
from shared.source.walk import Entry
from shared.state import RedisStateStore, file_lease_name

Files = set[tuple[str, str]]
FINISHED = ("ingested", "duplicate", "skipped", "failed", "empty")
BrokerReader = Callable[[], Files | None]


@dataclass
class SweepPlan:
    resend: dict[str, list[Entry]] = field(default_factory=dict)  # source -> file versions
    dropped: dict[str, str] = field(default_factory=dict)  # marker field -> why
    ages: dict[str, float] = field(default_factory=dict)  # marker field -> seconds since set
    markers: int = 0
    alive: int = 0  # old markers whose file has a lease or a live message
    deferred: str = ""  # why nothing was decided this time

    @property
    def resent(self) -> int:
        return sum(len(entries) for entries in self.resend.values())


def plan_sweep(store: RedisStateStore, settings: Settings, now: float,
               read_broker: BrokerReader) -> SweepPlan:
    """What to send again and what to forget, of the markers older than `inflight_timeout`."""
    markers = store.inflight()
    plan = SweepPlan(markers=len(markers))
    old: dict[str, tuple[str, str, int, int]] = {}
    for key, at in markers.items():
        if at > now - settings.inflight_timeout:
            continue
        parts = key.split("\0")
        if len(parts) != 4 or not parts[2].lstrip("-").isdigit() or not parts[3].isdigit():
            plan.dropped[key] = "not a marker mediacourier writes"
        elif parts[0] not in settings.sources:
            plan.dropped[key] = f"source {parts[0]!r} is no longer configured"
        else:
            old[key] = (parts[0], parts[1], int(parts[2]), int(parts[3]))
            plan.ages[key] = now - at
    if not old:
        return plan
    leased = store.leased([file_lease_name(s, r) for s, r, _, _ in old.values()])
    quiet = {k: v for k, v in old.items() if file_lease_name(v[0], v[1]) not in leased}
    if not quiet:
        plan.alive = len(old)
        return plan
    live = read_broker()
    if live is None:
        plan.deferred = "too many messages waiting to read them all: a backlog, still coming"
        return plan
    for key, (source, rel, size, mtime_ns) in quiet.items():
        if (source, rel) in live:
            continue
        why = _version_gone(store, settings, source, rel, size, mtime_ns)
        if why:
            plan.dropped[key] = why
        else:
            plan.resend.setdefault(source, []).append(Entry(rel, size, mtime_ns, 0, True))
    plan.alive = len(old) - plan.resent - sum(1 for k in old if k in plan.dropped)
    return plan


def _version_gone(store: RedisStateStore, settings: Settings, source: str, rel: str,
                  size: int, mtime_ns: int) -> str:
    """Why nothing is left to do for this version ("" when it is to be sent again)."""
    record, mark = store.record_and_outcome(source, rel)
    unjournaled = duplicate_unjournaled(record, mark, size, mtime_ns)
    if record is not None and record.state in FINISHED and not unjournaled and (
            record.size, record.mtime_ns) == (size, mtime_ns):
        return f"already recorded {record.state}"
    if not settings.hosts.must_exist_here("sources", source):
        return ""  # another host's folder: its worker will look
    try:
        info = os.lstat(os.path.join(settings.sources[source].path, rel))
    except FileNotFoundError:
        info = None
    except OSError:
        return ""  # cannot look (a share away): the stages will tell
    if info is not None and (info.st_size, info.st_mtime_ns) == (size, mtime_ns):
        return ""
    if record is not None and record.state == "verified" and (
            record.size, record.mtime_ns) == (size, mtime_ns):
        return ""  # verified, then stopped before its outcome was recorded: finish it
    if unjournaled and info is None:
        return ""  # recorded a duplicate, deleted its source, stopped before journaling it
    return "this version left the source" if info is None else \
        "the file changed since it was queued (the new version is queued on its own)"
