"""The soak's sampler: every second, which sources are gone and whether each gone one's content
was in the library already (a source must never leave before its copy); when everything was
done; how much Redis still has in flight."""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path

import redis

from bench.soak_files import Arrivals, LibraryIndex, source_present
from shared.config import RUNTIME_URL_FILE
from shared.state import RedisStateStore

SAMPLE_EVERY = 1.0


class Sampler:
    """Every second: which sources are gone, and whether each gone one's content was already
    in the library; when everything was done; how much is in flight."""

    def __init__(self, work: Path, arrivals: Arrivals, total: int, source: str, library: str,
                 prefix: str) -> None:
        self.work, self.arrivals, self.total = work, arrivals, total
        self.source, self.prefix = source, prefix
        self.library = LibraryIndex(work / library)
        self.gone: dict[str, float] = {}
        self.early: list[str] = []
        self.complete_at: float | None = None
        self.quiet_at: float | None = None  # complete and nothing in flight
        self.inflight: int | None = None
        # The longest time files waited in the source while none left it: (seconds, since).
        self.longest_stall: tuple[float, float] = (0.0, 0.0)
        self._progress_at = 0.0
        self._url, self._store = "", None

    @property
    def progress(self) -> float:
        return len(self.gone) / max(1, self.total)

    def store(self) -> RedisStateStore | None:
        """A store on the running Redis (its URL changes with every start of `up`)."""
        with contextlib.suppress(OSError):
            url = (self.work / "data" / RUNTIME_URL_FILE).read_text().strip()
            if url != self._url:
                client = redis.Redis.from_url(url, decode_responses=True, socket_timeout=3,
                                              socket_connect_timeout=2)
                self._url, self._store = url, RedisStateStore(client, self.prefix)
        return self._store

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(SAMPLE_EVERY):
            self.sample()

    def sample(self) -> None:
        arrived = self.arrivals.snapshot()  # before the listing: only what was surely there
        present = source_present(self.work / self.source)
        contents, _, _ = self.library.scan()  # after the listing: a copy made before it counts
        now = time.time()
        before = len(self.gone)
        for rel, sha in arrived.items():
            if rel not in present and rel not in self.gone:
                self.gone[rel] = now
                if contents[sha] == 0:
                    self.early.append(f"{rel}: gone from the source at {now:.1f}, its content "
                                      "not in the library")
        self._note_stall(now, progressed=len(self.gone) > before,
                         pending=len(arrived) > len(self.gone))
        self.inflight = self._count_inflight()
        done = (self.arrivals.done.is_set() and len(arrived) == self.total
                and len(self.gone) == self.total and all(contents[s] for s in arrived.values()))
        if done and self.complete_at is None:
            self.complete_at = now
        if done and self.inflight == 0 and self.quiet_at is None:
            self.quiet_at = now

    def _note_stall(self, now: float, progressed: bool, pending: bool) -> None:
        if progressed or not pending or not self._progress_at:
            self._progress_at = now
            return
        stalled = now - self._progress_at
        if stalled > self.longest_stall[0]:
            self.longest_stall = (stalled, self._progress_at)

    def slowest(self, count: int = 3) -> list[tuple[float, str]]:
        """The files that took longest from arriving to leaving the source (seconds, rel)."""
        arrived_at = self.arrivals.arrived_at
        waits = [(gone - arrived_at[rel], rel) for rel, gone in self.gone.items()]
        return sorted(waits, reverse=True)[:count]

    def _count_inflight(self) -> int | None:
        store = self.store()
        if store is None:
            return None
        try:
            return len(store.inflight())
        except redis.RedisError:
            return None
