"""The content index: who holds a content hash, a job importing it or a file in a library.

Key (P = prefix): `P:content`, a hash sha256 -> entry. An entry is either a library file,
"<library>\\t<rel_path>", or a claim of a job still importing that content,
"claim\\t<claimed_at>\\t<lease_until>\\t<owner>" (times from Redis's clock, so the hosts' clocks
do not matter). A claim is a lease: its owner renews it as it works, and a claim whose lease ran
out (or whose owner is known to be gone) may be taken over, atomically, by another job. An old
claim without times ("claim\\t<owner>", written before leases) counts as expired.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import redis

SEP = "\t"
CLAIM = "claim"
DEFAULT_LEASE = 3600.0


@dataclass(frozen=True)
class ContentEntry:
    """Who holds a content hash: a job still importing it (a claim), or a file in a library.

    Equality compares who holds it; the claim's times and the raw value are along for the ride.
    """

    owner: str = ""
    library: str = ""
    rel_path: str = ""
    claimed_at: float = field(default=0.0, compare=False)
    lease_until: float = field(default=0.0, compare=False)
    raw: str = field(default="", compare=False)  # as stored: what a take-over must still find

    @property
    def is_claim(self) -> bool:
        return bool(self.owner)

    def expired(self, now: float) -> bool:
        return self.is_claim and self.lease_until <= now

    @classmethod
    def decode(cls, raw: str) -> ContentEntry:
        first, rest = raw.split(SEP, 1)
        if first != CLAIM:
            return cls("", first, rest, raw=raw)
        parts = rest.split(SEP, 2)
        try:
            claimed_at, lease_until, owner = float(parts[0]), float(parts[1]), parts[2]
        except (ValueError, IndexError):
            # A claim from before leases: its owner is unknown to be alive, so it has expired.
            return cls(rest, raw=raw)
        return cls(owner, claimed_at=claimed_at, lease_until=lease_until, raw=raw)


def claim_value(owner: str, claimed_at: float, lease_until: float) -> str:
    return f"{CLAIM}{SEP}{claimed_at:.6f}{SEP}{lease_until:.6f}{SEP}{owner}"


class ContentClaims:
    """The content-index methods of RedisStateStore (a mixin: it needs `client` and `key`)."""

    client: redis.Redis

    def key(self, *parts: str) -> str:
        raise NotImplementedError

    def server_time(self) -> float:
        """Now, by Redis's clock: the one clock every host's leases are measured with."""
        seconds, micros = self.client.time()
        return float(seconds) + float(micros) / 1e6

    def content(self, sha256: str) -> ContentEntry | None:
        raw = self.client.hget(self.key("content"), sha256)
        return None if raw is None else ContentEntry.decode(raw)

    def claim_content(self, sha256: str, owner: str,
                      lease: float = DEFAULT_LEASE) -> ContentEntry | None:
        """Atomically claim a content hash for `lease` seconds. None: the claim is ours (new,
        or ours from an earlier run, whose lease is then renewed); else who holds it."""
        key = self.key("content")
        now = self.server_time()
        if self.client.hsetnx(key, sha256, claim_value(owner, now, now + lease)):
            return None
        entry = self.content(sha256)
        if entry is None:  # released between our two calls: try once more
            return self.claim_content(sha256, owner, lease)
        if entry.owner == owner:
            return None if self.renew_content(sha256, owner, lease) else self.claim_content(
                sha256, owner, lease)
        return entry

    def claim_many(self, wanted: list[tuple[str, str]],
                   lease: float = DEFAULT_LEASE) -> set[tuple[str, str]]:
        """Claim many (sha256, owner) pairs that are free, in two round trips (the clock, then
        one HSETNX each, in order): the pairs now claimed. A pair not returned is held by
        someone (or by a pair before it in `wanted`): `claim_content` sorts that one out."""
        if not wanted:
            return set()
        key = self.key("content")
        now = self.server_time()
        pipe = self.client.pipeline(transaction=False)
        for sha256, owner in wanted:
            pipe.hsetnx(key, sha256, claim_value(owner, now, now + lease))
        return {pair for pair, ok in zip(wanted, pipe.execute(), strict=True) if ok}

    def renew_content(self, sha256: str, owner: str, lease: float = DEFAULT_LEASE) -> bool:
        """Extend our claim's lease from now; False when the claim is no longer ours."""
        key = self.key("content")
        with self.client.pipeline() as pipe:
            try:
                pipe.watch(key)
                raw = pipe.hget(key, sha256)
                entry = None if raw is None else ContentEntry.decode(raw)
                if entry is None or entry.owner != owner:
                    return False
                now = self.server_time()
                pipe.multi()
                pipe.hset(key, sha256, claim_value(owner, entry.claimed_at or now, now + lease))
                pipe.execute()
                return True
            except redis.WatchError:
                return self.renew_content(sha256, owner, lease)

    def take_over_content(self, sha256: str, stale: ContentEntry, owner: str,
                          lease: float = DEFAULT_LEASE) -> bool:
        """Replace an entry found stale (a library file that vanished, a claim whose lease ran
        out or whose owner is gone) with our claim; False if it changed since it was read."""
        key = self.key("content")
        expected = stale.raw or f"{stale.library}{SEP}{stale.rel_path}"
        with self.client.pipeline() as pipe:
            try:
                pipe.watch(key)
                if pipe.hget(key, sha256) != expected:
                    return False
                now = self.server_time()
                pipe.multi()
                pipe.hset(key, sha256, claim_value(owner, now, now + lease))
                pipe.execute()
                return True
            except redis.WatchError:
                return False

    def release_content(self, sha256: str, owner: str) -> None:
        """Drop our claim (the job failed or was skipped); a library entry or another's claim
        stays."""
        key = self.key("content")
        with self.client.pipeline() as pipe:
            try:
                pipe.watch(key)
                raw = pipe.hget(key, sha256)
                if raw is None or ContentEntry.decode(raw).owner != owner:
                    return
                pipe.multi()
                pipe.hdel(key, sha256)
                pipe.execute()
            except redis.WatchError:
                self.release_content(sha256, owner)

    def settle_content(self, sha256: str, library: str, rel_path: str) -> None:
        pipe = self.client.pipeline()
        pipe.hset(self.key("content"), sha256, f"{library}{SEP}{rel_path}")
        pipe.hset(self.key("libfiles", library), rel_path, sha256)
        pipe.execute()
