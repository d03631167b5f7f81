"""The state store: every key mediacourier keeps in Redis, under one configurable prefix.

Keys (P = prefix):
  P:files:<source>      hash  rel_path -> FileRecord (size, mtime, inode, sha256, state, ...)
  P:content             hash  sha256 -> a claim with its lease ("claim\\t<claimed_at>\\t
                              <lease_until>\\t<owner>") or "<library>\\t<rel_path>" (claims.py)
  P:libfiles:<library>  hash  rel_path -> sha256 (what the library holds, for reconcile)
  P:inflight            hash  "<source>\\0<rel>\\0<size>\\0<mtime_ns>" -> when it was sent (again:
                              shared/source/sweep.py, once its file showed no sign of life)
  P:failed              hash  "<source>\\0<rel>" -> JSON {reason, at, ...}
  P:journal             stream, capped: one entry per operation
  P:outcome:<digest of source\0rel> string a digest of "<size>:<mtime_ns>:<inode>:<sha256>:
                              <state>" (FileRecord.outcome_mark): the outcome journaled for
                              that file version, for a while (recording.py: a message
                              delivered again journals it no second time)
  P:counters            hash  name -> integer
  P:rescan:<target>     zset  library folder -> last time it was marked dirty
  P:paused              hash  "source:<name>" / "target:<name>" -> when it was paused
  P:targets             hash  target name -> JSON {healthy, reason, at}
  P:bandwidth:<target>  hash  {tokens, stamp}: the target's shared bandwidth limit
                              (shared/remote/bandwidth_redis.py)
  P:lock:<name>         string a lease: its holder's token ("<host>|<pid ns>|<pid>|<random>",
                              holders.py) with a TTL its heartbeat renews (leases.py):
                              file:<source>:<rel>, reconcile:<source>, mirror:<name>,
                              rescan:<target>, sweep-inflight; beat's (holds.py) is renewed by
                              its ticks
  P:full                hash  library/target name -> JSON {since, reason}: held full
  P:full-trial:<name>   string the one run per recheck window that tries a full target
  P:deliveries:<unit>   int   deliveries of one piece of work that did not finish (died
                              or still running: poison messages), a day's TTL
  P:deliveries:<unit>:timeouts int  how often that work hit its time limit, a day's TTL
  P:libstat:<library>, P:libindex, P:libindex-sent:<library>, P:libmounted, P:absent
                              the index of what a library held before us and the hold on a
                              library that is not there (library_keys.py)
  P:metrics:stage_seconds hash "<stage>\t<bucket|sum|count>..." -> stage-time histogram
Celery's own keys (queues named after the prefix, results, kombu's unacked sets) are Celery's;
the in-flight sweeper only reads them (messages.py).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable
from typing import Any

import redis
from redis._parsers import Encoder
from redis.connection import HiredisRespSerializer, PythonRespSerializer
from redis.utils import HIREDIS_AVAILABLE

from shared.errors import StoreUnavailable
from shared.state.claims import ContentClaims, ContentEntry
from shared.state.coordination import CoordinationKeys
from shared.state.holds import HoldKeys
from shared.state.journal import log_outcome, pack_entry, unpack_entry
from shared.state.library_keys import LibraryKeys
from shared.state.records import SEP, FileRecord

__all__ = ["ContentEntry", "FileRecord", "RedisStateStore", "SEP"]

JOURNAL_MAXLEN = 100_000
# With hiredis installed, redis-py packs commands with hiredis, which encodes text as strict
# UTF-8 and ignores `encoding_errors`: a file name that is not UTF-8 then crashes the command.
# The pure-Python packer uses the client's encoder; `_Packer` falls back to it for such a command
# only (hiredis still parses the replies).
_SURROGATE_PACKER = PythonRespSerializer(
    6000, Encoder("utf-8", "surrogateescape", decode_responses=True).encode)


class _Packer:
    """hiredis's packer where it can encode the command (3.6x faster: 7 against 24 µs for a
    record's HSET, 6% of a batch of small files), the pure-Python one with surrogateescape for
    a command holding a name that is not UTF-8 (hiredis refuses it: UnicodeEncodeError)."""

    def __init__(self) -> None:
        self._fast = HiredisRespSerializer() if HIREDIS_AVAILABLE else None

    def pack(self, *args: Any) -> list[bytes]:
        if self._fast is not None:
            try:
                return self._fast.pack(*args)
            except UnicodeEncodeError:
                pass
        return _SURROGATE_PACKER.pack(*args)


_PACKER = _Packer()
def _key_of(*parts: str | int) -> str:
    return "\0".join(str(p) for p in parts)


class RedisStateStore(ContentClaims, CoordinationKeys, HoldKeys, LibraryKeys):
    """The real store. Works against redis-server, and against fakeredis in unit tests."""

    def __init__(self, client: redis.Redis, prefix: str = "mediacourier") -> None:
        self.client = client
        self.prefix = prefix

    @classmethod
    def from_url(cls, url: str, prefix: str) -> RedisStateStore:
        # surrogateescape: file names that are not UTF-8 round-trip instead of crashing.
        client = redis.Redis.from_url(
            url, decode_responses=True, encoding_errors="surrogateescape", socket_timeout=30,
            health_check_interval=30, command_packer=_PACKER,
        )
        return cls(client, prefix)

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    def ping(self) -> None:
        try:
            self.client.ping()
        except redis.RedisError as exc:
            raise StoreUnavailable(f"Redis unreachable: {exc}") from exc

    # per-source file records -------------------------------------------------------------
    def get_record(self, source: str, rel: str) -> FileRecord | None:
        raw = self.client.hget(self.key("files", source), rel)
        return FileRecord.decode(raw) if raw else None

    def put_record(self, source: str, rel: str, record: FileRecord) -> None:
        self.client.hset(self.key("files", source), rel, record.encode())

    def all_records(self, source: str) -> dict[str, str]:
        """Raw encoded records; reconcile compares prefixes of these strings, so keep them raw."""
        return self.client.hgetall(self.key("files", source))

    def record_and_outcome(self, source: str, rel: str) -> tuple[FileRecord | None, str]:
        """The file's record and the outcome journaled for it lately ("" if none), in one
        round trip."""
        pipe = self.client.pipeline(transaction=False)
        pipe.hget(self.key("files", source), rel)
        pipe.get(self._outcome_key(source, rel))
        raw, mark = pipe.execute()
        return (FileRecord.decode(raw) if raw else None), mark or ""

    def records_and_outcomes(self, source: str, rels: list[str]) -> tuple[
            dict[str, FileRecord | None], dict[str, str]]:
        """`record_and_outcome` of many files in one round trip."""
        if not rels:
            return {}, {}
        pipe = self.client.pipeline(transaction=False)
        pipe.hmget(self.key("files", source), rels)
        pipe.mget([self._outcome_key(source, rel) for rel in rels])
        raws, marks = pipe.execute()
        return ({rel: FileRecord.decode(raw) if raw else None
                 for rel, raw in zip(rels, raws, strict=True)},
                {rel: mark or "" for rel, mark in zip(rels, marks, strict=True)})

    def outcome_marks(self, source: str, rels: list[str]) -> dict[str, str]:
        """The outcomes journaled lately of many files ("" if none), in one round trip."""
        if not rels:
            return {}
        marks = self.client.mget([self._outcome_key(source, rel) for rel in rels])
        return {rel: mark or "" for rel, mark in zip(rels, marks, strict=True)}

    def _outcome_key(self, source: str, rel: str) -> str:
        # A digest, not the name: a key is listed (SCAN) as text, and a file name may not be
        # UTF-8; these keys are only ever read by name.
        name = f"{source}\0{rel}".encode("utf-8", "surrogateescape")
        return self.key("outcome", hashlib.blake2b(name, digest_size=12).hexdigest())

    def forget_records(self, source: str, rels: Iterable[str]) -> None:
        rels = list(rels)
        for start in range(0, len(rels), 10_000):
            self.client.hdel(self.key("files", source), *rels[start : start + 10_000])

    # content index (claims, leases and take-overs: claims.py) -----------------------------
    def settle_verified(self, source: str, rel: str, record: FileRecord,
                        library: str | None) -> None:
        """Record a verified copy and (unless a sidecar) index its content, atomically."""
        self.settle_verified_many([(source, rel, record, library)])

    def settle_verified_many(self, items: list[tuple[str, str, FileRecord, str | None]]) -> None:
        """`settle_verified` of many copies (source, rel, record, library) in one transaction."""
        pipe = self.client.pipeline(transaction=True)
        for source, rel, record, library in items:
            pipe.hset(self.key("files", source), rel, record.encode())
            if library is not None:
                pipe.hset(self.key("content"), record.sha256, f"{library}{SEP}{record.dest}")
                pipe.hset(self.key("libfiles", library), record.dest, record.sha256)
        pipe.execute()

    def library_files(self, library: str) -> dict[str, str]:
        return self.client.hgetall(self.key("libfiles", library))

    def forget_library_files(self, library: str, entries: dict[str, str]) -> None:
        if not entries:
            return
        pipe = self.client.pipeline()
        pipe.hdel(self.key("libfiles", library), *entries)
        for rel, sha in entries.items():
            if self.client.hget(self.key("content"), sha) == f"{library}{SEP}{rel}":
                pipe.hdel(self.key("content"), sha)
        pipe.execute()

    # failures, journal, counters ---------------------------------------------------------
    def record_failure(self, source: str, rel: str, reason: str, **extra: Any) -> None:
        value = json.dumps({"source": source, "path": rel, "reason": reason, "at": time.time(),
                            **extra})
        self.client.hset(self.key("failed"), _key_of(source, rel), value)

    def clear_failures(self, source: str, rels: Iterable[str]) -> None:
        fields = [_key_of(source, rel) for rel in rels]
        for start in range(0, len(fields), 10_000):
            self.client.hdel(self.key("failed"), *fields[start : start + 10_000])

    def clear_failure(self, source: str, rel: str) -> None:
        self.client.hdel(self.key("failed"), _key_of(source, rel))

    def failures(self) -> list[dict[str, Any]]:
        items = [json.loads(v) for v in self.client.hvals(self.key("failed"))]
        return sorted(items, key=lambda item: item["at"], reverse=True)

    def journal(self, event: str, **fields: Any) -> None:
        pipe = self.client.pipeline()
        self._journal(pipe, event, fields)
        pipe.execute()

    def _journal(self, pipe: redis.client.Pipeline, event: str, fields: dict[str, Any]) -> None:
        # The entry's time is its stream ID's (Redis's clock, in milliseconds).
        entry = pack_entry(event, fields)
        pipe.xadd(self.key("journal"), entry, maxlen=JOURNAL_MAXLEN, approximate=True)
        pipe.hincrby(self.key("counters"), event, 1)
        if "bytes" in fields and event == "ingested":
            pipe.hincrby(self.key("counters"), "bytes_ingested", int(fields["bytes"]))
        log_outcome(event, fields)  # a file's outcome: its one line in the log at INFO

    def finish(
        self,
        source: str,
        rel: str,
        record: FileRecord | None = None,
        failure: str | None = None,
        failure_path: str = "",
        inflight: tuple[int, int] | None = None,
        event: str | None = None,
        journal: dict[str, Any] | None = None,
        outcome: tuple[str, int] | None = None,
    ) -> None:
        """Everything recorded at the end of a file's job, in one transaction."""
        self.finish_many([(source, rel, {"record": record, "failure": failure,
                                         "failure_path": failure_path, "inflight": inflight,
                                         "event": event, "journal": journal,
                                         "outcome": outcome})])

    def finish_many(self, items: list[tuple[str, str, dict[str, Any]]],
                    histogram: dict[str, int | float] | None = None) -> None:
        """The ends of many jobs (each: source, rel and the keywords of `finish`), and the
        stage-time histogram's additions, in one transaction: one round trip for a batch."""
        pipe = self.client.pipeline(transaction=True)
        for source, rel, end in items:
            self._finish_into(pipe, source, rel, **end)
        if histogram:
            self.add_histogram_into(pipe, histogram)
        pipe.execute()

    def _finish_into(self, pipe: redis.client.Pipeline, source: str, rel: str,
                     record: FileRecord | None = None, failure: str | None = None,
                     failure_path: str = "", inflight: tuple[int, int] | None = None,
                     event: str | None = None, journal: dict[str, Any] | None = None,
                     outcome: tuple[str, int] | None = None) -> None:
        if record is not None:
            pipe.hset(self.key("files", source), rel, record.encode())
        if outcome is not None:  # (mark, seconds): with its journal entry, in one transaction
            pipe.set(self._outcome_key(source, rel), outcome[0], ex=max(1, outcome[1]))
        if event is not None:
            if failure is not None:
                value = {"source": source, "path": rel, "reason": failure, "at": time.time(),
                         "path_abs": failure_path}
                pipe.hset(self.key("failed"), _key_of(source, rel), json.dumps(value))
            else:
                pipe.hdel(self.key("failed"), _key_of(source, rel))
            self._journal(pipe, event, journal or {})
        if inflight is not None:
            pipe.hdel(self.key("inflight"), _key_of(source, rel, *inflight))

    def read_journal(self, count: int = 1000) -> list[dict[str, str]]:
        entries = self.client.xrevrange(self.key("journal"), count=count)
        return [unpack_entry(entry_id, fields) for entry_id, fields in reversed(entries)]

    def counters(self) -> dict[str, int]:
        return {k: int(v) for k, v in self.client.hgetall(self.key("counters")).items()}

    # rescan requests ---------------------------------------------------------------------
    def mark_dirty(self, target: str, folder: str, debounce: float) -> bool:
        """Mark a folder dirty; True when the caller must schedule the flush for this window."""
        pipe = self.client.pipeline()
        pipe.zadd(self.key("rescan", target), {folder: time.time()})
        pipe.set(self.key("rescan-window", target), "1", nx=True, px=max(1, int(debounce * 1000)))
        return bool(pipe.execute()[1])

    def dirty_folders(self, target: str) -> dict[str, float]:
        return dict(self.client.zrange(self.key("rescan", target), 0, -1, withscores=True))

    def clear_dirty(self, target: str, seen: dict[str, float]) -> None:
        """Remove folders that were not marked again since `seen` was read."""
        key = self.key("rescan", target)
        with self.client.pipeline() as pipe:
            try:
                pipe.watch(key)
                current = dict(pipe.zrange(key, 0, -1, withscores=True))
                done = [f for f, score in seen.items() if current.get(f) == score]
                pipe.multi()
                if done:
                    pipe.zrem(key, *done)
                pipe.execute()
            except redis.WatchError:
                self.clear_dirty(target, seen)

    def get_records(self, source: str, rels: list[str]) -> dict[str, FileRecord | None]:
        """Many records in one round trip."""
        if not rels:
            return {}
        raws = self.client.hmget(self.key("files", source), rels)
        return {rel: FileRecord.decode(raw) if raw else None for rel, raw in zip(rels, raws,
                                                                                  strict=True)}
