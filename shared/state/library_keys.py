"""The library keys of RedisStateStore: the index of files mediacourier did not place, and the
hold on a library that is not there (a mixin: it needs `client` and `key`).

Keys (P = prefix):
  P:libstat:<library>        hash  rel_path -> "size:mtime_ns:inode:sha256", every indexed file
                                   (the cache that spares re-hashing an unchanged file)
  P:libindex                 hash  library -> JSON {complete, cursor, files, bytes, at}
  P:libindex-sent:<library>  string an index task is on its way (a TTL; sent once, not per file)
  P:libmounted               hash  library -> st_dev it was seen mounted on (a mount point)
  P:absent                   hash  library -> JSON {since, reason}: held, not there
  P:sets:<source>            hash  Live Photo identifier -> rel_path of its still (sets.py),
                                   "burst:<id>" -> rel_path of the burst's first
  P:burst:<source>:<id>      zset  rel_path -> capture time of each shot of a burst (bursts.py)
"""

from __future__ import annotations

import json
from typing import Any

import redis

STAT_SEP = ":"
BURST_DAYS = 31


def stat_value(size: int, mtime_ns: int, inode: int, sha256: str) -> str:
    return f"{size}{STAT_SEP}{mtime_ns}{STAT_SEP}{inode}{STAT_SEP}{sha256}"


class LibraryKeys:
    client: redis.Redis

    def key(self, *parts: str) -> str:
        raise NotImplementedError

    # the index of what a library already held -------------------------------------------
    def index_state(self, library: str) -> dict[str, Any]:
        raw = self.client.hget(self.key("libindex"), library)
        return json.loads(raw) if raw else {}

    def put_index_state(self, library: str, state: dict[str, Any]) -> None:
        self.client.hset(self.key("libindex"), library, json.dumps(state))

    def index_complete(self, library: str) -> bool:
        return bool(self.index_state(library).get("complete"))

    def index_states(self) -> dict[str, dict[str, Any]]:
        return {name: json.loads(raw)
                for name, raw in self.client.hgetall(self.key("libindex")).items()}

    def note_index_sent(self, library: str, ttl: float) -> bool:
        """True for the one caller that should send the index task now."""
        return bool(self.client.set(self.key("libindex-sent", library), "1", nx=True,
                                    ex=max(1, int(ttl))))

    def forget_index_sent(self, library: str) -> None:
        self.client.delete(self.key("libindex-sent", library))

    def library_stats(self, library: str) -> dict[str, str]:
        return self.client.hgetall(self.key("libstat", library))

    def index_files(self, library: str, entries: list[tuple[str, str]],
                    placed_by_us: dict[str, str]) -> int:
        """Record (rel_path, stat_value) pairs and make each file's hash count for dedupe (a
        claim or another entry of that hash stays: HSETNX). How many hashes were new."""
        if not entries:
            return 0
        pipe = self.client.pipeline(transaction=False)
        for rel, value in entries:
            pipe.hset(self.key("libstat", library), rel, value)
        counted = [(rel, value) for rel, value in entries if rel not in placed_by_us]
        for rel, value in counted:
            pipe.hsetnx(self.key("content"), value.rsplit(STAT_SEP, 1)[1], f"{library}\t{rel}")
        return sum(1 for ok in pipe.execute()[len(entries):] if ok)

    def forget_indexed(self, library: str, gone: dict[str, str]) -> None:
        """Files indexed once that are no longer there: their entries, and their hash's entry
        when it still names them."""
        if not gone:
            return
        pipe = self.client.pipeline()
        pipe.hdel(self.key("libstat", library), *gone)
        for rel, value in gone.items():
            sha = value.rsplit(STAT_SEP, 1)[1]
            if self.client.hget(self.key("content"), sha) == f"{library}\t{rel}":
                pipe.hdel(self.key("content"), sha)
        pipe.execute()

    # a library that is not there -------------------------------------------------------
    def mounted_dev(self, library: str) -> int | None:
        raw = self.client.hget(self.key("libmounted"), library)
        return int(raw) if raw else None

    def note_mounted(self, library: str, dev: int) -> None:
        self.client.hset(self.key("libmounted"), library, str(dev))

    def hold_absent_entry(self, library: str, entry: str) -> bool:
        return bool(self.client.hsetnx(self.key("absent"), library, entry))

    def drop_absent_entry(self, library: str) -> bool:
        return bool(self.client.hdel(self.key("absent"), library))

    def absent_entries(self) -> dict[str, str]:
        return self.client.hgetall(self.key("absent"))

    # sets: which still a Live Photo identifier names ------------------------------------
    def set_leader(self, source: str, set_id: str) -> str | None:
        return self.client.hget(self.key("sets", source), set_id)

    def note_set_leader(self, source: str, set_id: str, rel_path: str) -> None:
        self.client.hset(self.key("sets", source), set_id, rel_path)

    def claim_set_leader(self, source: str, set_id: str, rel_path: str) -> str:
        """The first of the set: `rel_path` if no file was noted first (then it is), else
        that file. Atomic: of two workers asking at once, one is the first for both."""
        key = self.key("sets", source)
        if self.client.hsetnx(key, set_id, rel_path):
            return rel_path
        return self.client.hget(key, set_id) or rel_path

    def note_burst_shot(self, source: str, burst: str, rel_path: str, taken: float) -> None:
        """A shot of `burst` ("burst:<id>") and when it was taken; kept a month after the
        last shot (a burst is seconds long; a late copy of it still finds its first)."""
        key = self.key("burst", source, burst.removeprefix("burst:"))
        with self.client.pipeline(transaction=False) as pipe:
            pipe.zadd(key, {rel_path: taken})
            pipe.expire(key, BURST_DAYS * 86400)
            pipe.execute()

    def earliest_burst_shot(self, source: str, burst: str) -> str | None:
        """The earliest-taken shot noted of `burst` (equal times: the first by name)."""
        first = self.client.zrange(self.key("burst", source, burst.removeprefix("burst:")), 0, 0)
        return first[0] if first else None
