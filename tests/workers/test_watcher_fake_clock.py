"""The watcher on a fake clock: start-up scan retries, and events delivered by hand by a
stand-in observer, so the window passes exactly when the test says."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    FileCreatedEvent,
    FileMovedEvent,
    FileSystemEventHandler,
)

from tests.doubles import RecordingEnqueuer
from tests.workers.watcher_helpers import WINDOW
from tests.workers.watcher_helpers import paths as _paths
from tests.workers.watcher_helpers import settings as _settings
from workers.watcher import Watcher

# watchdog's inotify emitter warns when a fast-growing folder tree gets a watch added twice;
# harmless, and not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:Callback with id:RuntimeWarning")


class _FailingScan(RecordingEnqueuer):
    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    def enqueue_scan(self, source: str) -> int:
        if self.failures:
            self.failures -= 1
            raise redis.ConnectionError("Connection refused")
        return super().enqueue_scan(source)


def test_failed_start_up_scan_is_retried_with_backoff(tmp_path: Path) -> None:
    # Given a fake clock and an enqueuer that cannot scan the first time
    now = [100.0]
    enqueuer = _FailingScan(failures=1)
    watcher = Watcher(_settings(tmp_path), enqueuer, clock=lambda: now[0])
    try:
        # When the watcher starts, then runs before and after the 1 s backoff
        watcher.start()
        assert watcher.scans_done(timeout=5)  # the failed scan, on its own thread, has ended
        after_start = list(enqueuer.scans)
        now[0] += 0.9
        watcher.run_once()
        too_early = list(enqueuer.scans)
        now[0] += 0.1
        watcher.run_once()
    finally:
        watcher.stop()
    # Then start-up did not fail, and the scan happened once the backoff elapsed
    assert after_start == [] and too_early == []
    assert enqueuer.scans == ["phone"]


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
def manual(
    tmp_path: Path, enqueuer: RecordingEnqueuer
) -> Iterator[tuple[Watcher, FileSystemEventHandler, list[float]]]:
    """A started watcher on a fake clock whose events are delivered by hand."""
    now = [100.0]
    observer = _ManualObserver()
    watcher = Watcher(
        _settings(tmp_path), enqueuer, clock=lambda: now[0], observer_factory=lambda _: observer
    )
    watcher.start()
    assert observer.handler is not None
    yield watcher, observer.handler, now
    watcher.stop()


def test_new_folder_contents_are_walked_even_without_file_events(
    manual: tuple[Watcher, FileSystemEventHandler, list[float]],
    enqueuer: RecordingEnqueuer,
    source: Path,
) -> None:
    # Given a folder that filled up before any watch could attach to it
    watcher, handler, now = manual
    (source / "new" / "deeper").mkdir(parents=True)
    (source / "new" / "@eaDir").mkdir()
    (source / "new" / "a.jpg").write_bytes(b"a")
    (source / "new" / "deeper" / "b.mov").write_bytes(b"b")
    (source / "new" / "@eaDir" / "thumb.jpg").write_bytes(b"t")
    # When only the folder's own creation event arrives, and the window passes
    handler.dispatch(DirCreatedEvent(str(source / "new")))
    now[0] += WINDOW
    watcher.run_once()
    # Then the files inside are enqueued, except those in pruned folders
    assert _paths(enqueuer) == ["new/a.jpg", "new/deeper/b.mov"]


def test_rename_tracks_the_new_name_and_forgets_the_old(
    manual: tuple[Watcher, FileSystemEventHandler, list[float]],
    enqueuer: RecordingEnqueuer,
    source: Path,
) -> None:
    # Given a photo that got an event, then was renamed within the window
    watcher, handler, now = manual
    (source / "a.jpg").write_bytes(b"a")
    handler.dispatch(FileCreatedEvent(str(source / "a.jpg")))
    os.rename(source / "a.jpg", source / "b.jpg")
    handler.dispatch(FileMovedEvent(str(source / "a.jpg"), str(source / "b.jpg")))
    # When the window passes
    now[0] += WINDOW
    watcher.run_once()
    # Then only the new name is enqueued
    assert _paths(enqueuer) == ["b.jpg"]
    assert [rel for _, rel in enqueuer.attempts] == ["b.jpg"]


def test_deleted_folder_is_forgotten(
    manual: tuple[Watcher, FileSystemEventHandler, list[float]],
    enqueuer: RecordingEnqueuer,
    source: Path,
) -> None:
    # Given files tracked in a folder and beside it
    watcher, handler, now = manual
    (source / "dir").mkdir()
    for rel in ("dir/a.jpg", "dir.jpg"):
        (source / rel).write_bytes(b"x")
        handler.dispatch(FileCreatedEvent(str(source / rel)))
    # When the folder's deletion is reported (its files still on disk, as with a slow rm)
    handler.dispatch(DirDeletedEvent(str(source / "dir")))
    now[0] += WINDOW
    watcher.run_once()
    # Then only the file outside it is enqueued
    assert _paths(enqueuer) == ["dir.jpg"]


def test_a_failing_event_does_not_stop_later_events(
    manual: tuple[Watcher, FileSystemEventHandler, list[float]],
    enqueuer: RecordingEnqueuer,
    source: Path,
) -> None:
    # Given a malformed event, then a normal one
    watcher, handler, now = manual
    (source / "ok.jpg").write_bytes(b"x")
    handler.dispatch(FileCreatedEvent(None))  # type: ignore[arg-type]
    handler.dispatch(FileCreatedEvent(str(source / "ok.jpg")))
    # When the window passes
    now[0] += WINDOW
    watcher.run_once()
    # Then the good event was still handled
    assert _paths(enqueuer) == ["ok.jpg"]
