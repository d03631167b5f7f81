"""What a scrub keeps in Redis, per library (P = prefix):
  P:scrub:<library>:damaged  hash  rel_path -> JSON {expected, actual, size, mtime_ns, at}:
                             files whose bytes no longer hash to the indexed sha256; the
                             mirror plan skips them so they never replace a good backup copy
  P:scrub:<library>:seen     hash  rel_path -> "<size>\\t<mtime_ns>" when it last verified
  P:scrub:<library>:cursor   string the last rel_path checked by a pass still under way
"""

from __future__ import annotations

import json
import time
from typing import Any

from shared.state import SEP, RedisStateStore


class ScrubLedger:
    def __init__(self, store: RedisStateStore, library: str) -> None:
        self.store, self.library = store, library
        self.damaged_key = store.key("scrub", library, "damaged")
        self.seen_key = store.key("scrub", library, "seen")
        self.cursor_key = store.key("scrub", library, "cursor")

    def damaged(self) -> dict[str, dict[str, Any]]:
        return {rel: json.loads(raw)
                for rel, raw in self.store.client.hgetall(self.damaged_key).items()}

    def damaged_paths(self) -> set[str]:
        return set(self.store.client.hkeys(self.damaged_key))

    def mark_damaged(self, rel: str, expected: str, actual: str, size: int,
                     mtime_ns: int) -> None:
        value = {"expected": expected, "actual": actual, "size": size, "mtime_ns": mtime_ns,
                 "at": time.time()}
        self.store.client.hset(self.damaged_key, rel, json.dumps(value))

    def clear_damaged(self, rel: str) -> None:
        self.store.client.hdel(self.damaged_key, rel)

    def seen(self) -> dict[str, tuple[int, int]]:
        found = {}
        for rel, raw in self.store.client.hgetall(self.seen_key).items():
            size, mtime = raw.split(SEP)
            found[rel] = (int(size), int(mtime))
        return found

    def remember(self, entries: dict[str, tuple[int, int]]) -> None:
        if entries:
            self.store.client.hset(self.seen_key, mapping={
                rel: f"{size}{SEP}{mtime}" for rel, (size, mtime) in entries.items()})

    def cursor(self) -> str:
        return self.store.client.get(self.cursor_key) or ""

    def set_cursor(self, rel: str) -> None:
        if rel:
            self.store.client.set(self.cursor_key, rel)
        else:
            self.store.client.delete(self.cursor_key)
