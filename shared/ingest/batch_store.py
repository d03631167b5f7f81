"""The store as a batch sees it: a few round trips for the whole batch instead of several per
file.

Per file the chain reads its record, claims its content, and writes its outcome, journal entry
and stage timings, each a round trip of its own. In a batch the records (and the outcomes
journaled lately) are read in one round trip once the batch holds its leases (`read_records`:
read before, they could miss what a delivery that held a lease just finished) and kept
current, the free content hashes are claimed in one pipeline before the claim stage,
and the outcomes, journal entries and timings of the whole record stage go to Redis in one
MULTI at its end (`flush_outcomes`); the leases checked before each source is released are
renewed together (`confirm_lease`). Everything else passes through to the real store.
"""

from __future__ import annotations

import time
from typing import Any

from shared.state import FileRecord, Leases, RedisStateStore

OutcomeWrite = tuple[str, str, dict[str, Any]]


class BatchStore:
    """`RedisStateStore` with the batch's records prefetched, claims made up front and outcome
    writes deferred to one transaction."""

    def __init__(self, store: RedisStateStore, source: str, rels: list[str]) -> None:
        self._store = store
        self._source = source
        self._rels = rels
        self._records: dict[str, FileRecord | None] = {}  # rel -> record, once read
        self._journaled: dict[str, str] = {}  # rel -> its outcome mark (recording.py)
        self._claimed: set[tuple[str, str]] = set()
        self._outcomes: list[OutcomeWrite] | None = None
        self._histogram: dict[str, int | float] = {}
        self.leases: Leases | None = None  # the batch's file leases, once taken
        self._confirmed_at: float | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    # records -----------------------------------------------------------------------------
    def read_records(self) -> None:
        """The batch's records and outcome marks, in one round trip: call it once the batch's
        leases are held, so no other delivery of these files writes them meanwhile."""
        self._records, self._journaled = self._store.records_and_outcomes(self._source,
                                                                           self._rels)

    def get_record(self, source: str, rel: str) -> FileRecord | None:
        if source == self._source and rel in self._records:
            return self._records[rel]
        return self._store.get_record(source, rel)

    def record_and_outcome(self, source: str, rel: str) -> tuple[FileRecord | None, str]:
        if source == self._source and rel in self._records:
            return self._records[rel], self._journaled.get(rel, "")
        return self._store.record_and_outcome(source, rel)

    def put_record(self, source: str, rel: str, record: FileRecord) -> None:
        self._store.put_record(source, rel, record)
        self._remember(source, rel, record)

    def forget_records(self, source: str, rels: list[str]) -> None:
        self._store.forget_records(source, rels)
        for rel in rels:
            self._remember(source, rel, None)

    def settle_verified(self, source: str, rel: str, record: FileRecord,
                        library: str | None) -> None:
        self._store.settle_verified(source, rel, record, library)
        self._remember(source, rel, record)

    def settle_verified_many(self, items: list[tuple[str, str, FileRecord, str | None]]) -> None:
        self._store.settle_verified_many(items)
        for source, rel, record, _ in items:
            self._remember(source, rel, record)

    def _remember(self, source: str, rel: str, record: FileRecord | None) -> None:
        if source == self._source and rel in self._records:
            self._records[rel] = record

    # leases ------------------------------------------------------------------------------
    def confirm_lease(self, name: str) -> None:
        """Before a verified copy is settled and its source released: the lease is ours, as
        Redis said less than a third of a TTL ago (the heartbeat's own period), so at least
        two thirds of a TTL are left for the release. One round trip renews every lease of the
        batch; the files after it in the same window reuse that answer. Elapsed time is
        measured on the monotonic clock, so a process frozen past the window asks again."""
        leases = self.leases
        if leases is None or not leases.holds(name):
            self._store.confirm_lease(name)
            return
        now = time.monotonic()
        if self._confirmed_at is None or now - self._confirmed_at >= leases.ttl / 3:
            leases.renew()  # marks the ones found gone as lost
            self._confirmed_at = now
        leases.check(name)

    # content claims ----------------------------------------------------------------------
    def prefetch_claims(self, wanted: list[tuple[str, str]], lease: float) -> None:
        """Claim the free ones among (sha256, owner) in one pipeline; `claim_content` of such
        a pair then answers "ours" without a round trip, once."""
        self._claimed |= self._store.claim_many(wanted, lease)

    def claim_content(self, sha256: str, owner: str, lease: float) -> Any:
        if (sha256, owner) in self._claimed:
            self._claimed.discard((sha256, owner))
            return None
        return self._store.claim_content(sha256, owner, lease)

    def unused_claims(self) -> set[tuple[str, str]]:
        """Claims made up front that no claim stage took (its file was found already recorded,
        or stopped before the stage): the caller releases those of files it still holds."""
        unused, self._claimed = self._claimed, set()
        return unused

    # outcomes ----------------------------------------------------------------------------
    def defer_outcomes(self) -> None:
        """From here until `flush_outcomes`, `finish` and `add_histogram` are collected. The
        outcome marks are read again first: a delivery whose lease ran out unnoticed may have
        been overtaken by one that journaled its files meanwhile (recording.py)."""
        self._outcomes = []
        self._journaled = self._store.outcome_marks(self._source, self._rels)

    def finish(self, source: str, rel: str, record: FileRecord | None = None,
               **rest: Any) -> None:
        if self._outcomes is None:
            self._store.finish(source, rel, record=record, **rest)
        else:
            self._outcomes.append((source, rel, {"record": record, **rest}))
        if record is not None:
            self._remember(source, rel, record)

    def add_histogram(self, fields: dict[str, int | float]) -> None:
        if self._outcomes is None:
            self._store.add_histogram(fields)
            return
        for name, amount in fields.items():
            self._histogram[name] = self._histogram.get(name, 0) + amount

    def flush_outcomes(self) -> int:
        """Write the collected outcomes in one transaction; how many files it recorded."""
        outcomes, self._outcomes = self._outcomes or [], None
        histogram, self._histogram = self._histogram, {}
        if outcomes or histogram:
            self._store.finish_many(outcomes, histogram)
        return len(outcomes)
