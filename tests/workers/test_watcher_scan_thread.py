"""The watcher's catch-up scan on a thread of its own, on a fake clock with a stand-in observer:
the loop hands live files over while a scan still queues its backlog, and a second scan of the
same source waits for the first."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from watchdog.events import FileCreatedEvent, FileSystemEventHandler

from tests.doubles import RecordingEnqueuer
from tests.workers.watcher_helpers import WINDOW, paths
from tests.workers.watcher_helpers import settings as _settings
from workers.observers import INOTIFY_LOGGER
from workers.watcher import Watcher

WAIT = 10.0  # only for a thread that is stuck: each step here takes milliseconds


class _HeldScan(RecordingEnqueuer):
    """A catch-up scan that queues until the test lets it finish (as a 20,000-file backlog
    keeps one queueing for minutes)."""

    def __init__(self) -> None:
        super().__init__()
        self.started = threading.Semaphore(0)
        self.release = threading.Event()
        self.running = self.most_at_once = 0
        self._count_lock = threading.Lock()

    def enqueue_scan(self, source: str) -> int:
        with self._count_lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        self.started.release()
        try:
            assert self.release.wait(WAIT), "the test never let the scan finish"
            return super().enqueue_scan(source)
        finally:
            with self._count_lock:
                self.running -= 1


class _ManualObserver:
    """Stands in for a watchdog observer: the test delivers the events itself."""

    def __init__(self) -> None:
        self.handler: FileSystemEventHandler | None = None
        self.alive = False
        self.emitters: set[object] = set()

    def schedule(self, handler: FileSystemEventHandler, path: str, recursive: bool) -> None:
        self.handler = handler

    def start(self) -> None:
        self.alive = True

    def stop(self) -> None:
        self.alive = False

    def join(self, timeout: float | None = None) -> None:
        pass

    def is_alive(self) -> bool:
        return self.alive


@pytest.fixture
def held(tmp_path: Path) -> Iterator[tuple[Watcher, _HeldScan, FileSystemEventHandler,
                                           list[float]]]:
    """A started watcher whose start-up scan is under way and held."""
    now, observer, enqueuer = [100.0], _ManualObserver(), _HeldScan()
    watcher = Watcher(_settings(tmp_path), enqueuer, clock=lambda: now[0],
                      observer_factory=lambda _: observer)
    watcher.start()
    try:
        assert enqueuer.started.acquire(timeout=WAIT), "the start-up scan never began"
        assert observer.handler is not None
        yield watcher, enqueuer, observer.handler, now
    finally:
        enqueuer.release.set()
        watcher.stop(scan_timeout=WAIT)


def test_a_photo_written_during_the_start_up_scan_is_handed_over_before_the_scan_ends(
        held: tuple[Watcher, _HeldScan, FileSystemEventHandler, list[float]],
        tmp_path: Path) -> None:
    # Given a watcher whose start-up scan is still queueing its backlog
    watcher, enqueuer, handler, now = held
    # When a photo is written (its event arrives) and its stability window passes
    photo = tmp_path / "phone" / "IMG_1.jpg"
    photo.write_bytes(b"\xff\xd8 just taken")
    handler.dispatch(FileCreatedEvent(str(photo)))
    now[0] += WINDOW
    handed = watcher.run_once()
    # Then the loop handed it over, and the scan has not finished yet
    assert handed == 1
    assert paths(enqueuer) == ["IMG_1.jpg"]
    assert enqueuer.scans == [] and not watcher.scans_done(timeout=0)
    # And once let go, the scan finishes and is counted once
    enqueuer.release.set()
    assert watcher.scans_done(timeout=WAIT)
    assert enqueuer.scans == ["phone"]


def test_a_scan_asked_for_during_a_scan_runs_after_it_not_beside_it(
        held: tuple[Watcher, _HeldScan, FileSystemEventHandler, list[float]]) -> None:
    # Given a watcher whose start-up scan is still queueing its backlog
    watcher, enqueuer, _, now = held
    # When inotify loses events (a walk again is asked for), and the loop turns meanwhile
    logging.getLogger(INOTIFY_LOGGER).warning("Inotify queue overflowed; events were lost")
    now[0] += 5.0
    watcher.run_once()
    watcher.run_once()
    # Then no second scan started while the first runs
    assert not enqueuer.started.acquire(timeout=0.2)
    # When the first scan ends and the loop turns again
    enqueuer.release.set()
    assert watcher.scans_done(timeout=WAIT)
    watcher.run_once()
    # Then the second scan runs, never beside the first
    assert enqueuer.started.acquire(timeout=WAIT), "the asked-for scan never ran"
    assert watcher.scans_done(timeout=WAIT)
    assert enqueuer.scans == ["phone", "phone"]
    assert enqueuer.most_at_once == 1
