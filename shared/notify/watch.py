"""What is worth a message, found by looking at the state, so nothing else has to call us.

Each `[notify.NAME]` keeps in Redis (P = prefix):
  P:notify:<name>:cursor    string the last journal entry read
  P:notify:<name>:pending   hash   kind -> JSON {count, examples}: events not yet sent
  P:notify:<name>:sent      hash   kind -> when its last message went out
  P:notify:<name>:episodes  hash   hold -> since when it is reported (ended holds are dropped)
  P:notify:<name>:summary   string the day of the last daily summary
Journal events (failures, conflicts, scrub mismatches) are gathered and sent at most once per
`min_interval` per kind; a hold (a library or target full, a target unreachable, a source or
target paused longer than `paused_after`, a source's fetching held for a new login) is one
message when it starts, however long it lasts.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from shared.config import NotifyConfig
from shared.state import RedisStateStore

# journal event -> the `events` kind it belongs to
KIND_OF = {"failed": "failures", "mirror_failed": "failures", "mirror_refused": "failures",
           "mirror_conflict": "conflicts", "scrub_mismatch": "scrub", "fetch_failed": "failures"}
TITLES = {"failures": "failures", "conflicts": "mirror conflicts",
          "scrub": "damaged library files (scrub)"}
EXAMPLES = 5


@dataclass(frozen=True)
class Message:
    kind: str
    title: str
    body: str


class NotifyState:
    def __init__(self, store: RedisStateStore, name: str) -> None:
        self.store, self.client = store, store.client
        self.key = lambda part: store.key("notify", name, part)

    def read_journal(self) -> None:
        """Move new journal events into `pending`; the first look starts at the end."""
        journal, cursor = self.store.key("journal"), self.client.get(self.key("cursor"))
        if cursor is None:
            last = self.client.xrevrange(journal, count=1)
            self.client.set(self.key("cursor"), last[0][0] if last else "0-0")
            return
        entries = self.client.xrange(journal, min=f"({cursor}", count=10_000)
        pending = {k: json.loads(v) for k, v in self.client.hgetall(self.key("pending")).items()}
        for _entry_id, fields in entries:
            kind = KIND_OF.get(fields.get("event", ""))
            if kind is None:
                continue
            item = pending.setdefault(kind, {"count": 0, "examples": []})
            item["count"] += 1
            if len(item["examples"]) < EXAMPLES:
                item["examples"].append(_example(fields))
        pipe = self.client.pipeline()
        if pending:
            pipe.hset(self.key("pending"), mapping={k: json.dumps(v) for k, v in pending.items()})
        if entries:
            pipe.set(self.key("cursor"), entries[-1][0])
        pipe.execute()

    def due_events(self, config: NotifyConfig, now: float) -> list[Message]:
        sent = {k: float(v) for k, v in self.client.hgetall(self.key("sent")).items()}
        found = []
        for kind, raw in sorted(self.client.hgetall(self.key("pending")).items()):
            if kind not in config.events or now - sent.get(kind, 0.0) < config.min_interval:
                continue
            item = json.loads(raw)
            more = item["count"] - len(item["examples"])
            body = "\n".join(item["examples"]) + (f"\n… and {more} more" if more > 0 else "")
            found.append(Message(kind, f"mediacourier: {item['count']} {TITLES[kind]}", body))
        return found

    def sent_events(self, kind: str, now: float) -> None:
        pipe = self.client.pipeline()
        pipe.hdel(self.key("pending"), kind)
        pipe.hset(self.key("sent"), kind, now)
        pipe.execute()

    def holds_now(self, config: NotifyConfig, now: float) -> dict[str, str]:
        """hold -> its line, for every hold in force now."""
        holds = {}
        for name, raw in self.store.full_entries().items():
            holds[f"full:{name}"] = f"{name} is full: {_reason(raw)}"
        for name, raw in self.store.fetch_hold_entries().items():  # an iCloud login to renew
            holds[f"fetch:{name}"] = (f"source {name}: fetching held until someone logs in "
                                      f"again (mediacourier icloud-auth {name}): {_reason(raw)}")
        for name, (healthy, reason, _at) in self.store.target_health().items():
            if not healthy:
                holds[f"unreachable:{name}"] = f"target {name} unreachable: {reason}"
        for what, since in self.store.paused().items():
            if now - since >= config.paused_after:
                days = (now - since) / 86400
                holds[f"paused:{what}"] = f"{what.replace(':', ' ')} paused for {days:.1f} days"
        return holds

    def new_holds(self, config: NotifyConfig, now: float) -> tuple[dict[str, str], list[str]]:
        """(holds that started, reported holds that ended)."""
        current = self.holds_now(config, now)
        reported = set(self.client.hkeys(self.key("episodes")))
        return ({k: v for k, v in current.items() if k not in reported},
                sorted(reported - set(current)))

    def mark_holds(self, started: list[str], ended: list[str], now: float) -> None:
        pipe = self.client.pipeline()
        if started:
            pipe.hset(self.key("episodes"), mapping=dict.fromkeys(started, now))
        if ended:
            pipe.hdel(self.key("episodes"), *ended)
        pipe.execute()

    def summary_due(self, config: NotifyConfig, now: float) -> str | None:
        """Today's date when the daily summary is due and not sent yet."""
        local = dt.datetime.fromtimestamp(now)
        hour, minute = (int(p) for p in config.summary_at.split(":"))
        if (local.hour, local.minute) < (hour, minute):
            return None
        today = local.date().isoformat()
        return None if self.client.get(self.key("summary")) == today else today

    def summary_sent(self, day: str) -> None:
        self.client.set(self.key("summary"), day)


def summary_message(store: RedisStateStore) -> Message:
    counts = store.counters()
    shown = ("ingested", "duplicate", "failed", "mirror", "mirror_conflict", "scrub",
             "scrub_mismatch", "scrub_repaired")
    body = ", ".join(f"{k.replace('_', ' ')} {counts.get(k, 0)}" for k in shown)
    return Message("summary", "mediacourier: daily summary (totals)", body)


def _example(fields: dict[str, str]) -> str:
    where = ":".join(p for p in (fields.get("source", ""), fields.get("path", "")) if p)
    return f"{where}: {fields.get('reason', fields.get('event', ''))}"[:300]


def _reason(raw: str) -> str:
    try:
        return str(json.loads(raw).get("reason", raw))
    except (ValueError, AttributeError):
        return raw
