"""The watcher with real watchdog observers on a temporary folder and an in-memory enqueuer.

Events delivered by hand on a fake clock are in test_watcher_fake_clock.py.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from tests.doubles import RecordingEnqueuer
from tests.workers.watcher_helpers import WINDOW
from tests.workers.watcher_helpers import paths as _paths
from tests.workers.watcher_helpers import settings as _settings
from workers.watcher import Watcher

# watchdog's inotify emitter warns when a fast-growing folder tree gets a watch added twice;
# harmless, and not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:Callback with id:RuntimeWarning")


def _wait_until(condition: Callable[[], bool], timeout: float = 4.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


@contextmanager
def _running(watcher: Watcher) -> Iterator[threading.Thread]:
    """The watcher started and looping on its own thread, as `mediacourier watch` runs it."""
    stop = threading.Event()
    watcher.start()
    thread = threading.Thread(target=watcher.run_forever, args=(stop,), daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        stop.set()
        thread.join(timeout=5)
        watcher.stop()


@pytest.fixture
def watcher(tmp_path: Path, enqueuer: RecordingEnqueuer) -> Watcher:
    return Watcher(_settings(tmp_path), enqueuer)


def test_file_written_in_one_go_is_enqueued_once_after_the_window(
    watcher: Watcher, enqueuer: RecordingEnqueuer, source: Path
) -> None:
    # Given a running watcher
    with _running(watcher):
        # When a photo is written in one go
        (source / "IMG_0001.jpg").write_bytes(b"jpeg" * 100)
        written = time.monotonic()
        assert _wait_until(lambda: enqueuer.files != [])
        waited = time.monotonic() - written
        time.sleep(WINDOW * 2)
    # Then it is enqueued exactly once, with its size, and not before the window elapsed
    assert [(s, rel, size) for s, rel, size, _ in enqueuer.files] == [
        ("phone", "IMG_0001.jpg", 400)
    ]
    assert waited >= WINDOW * 0.9
    assert len(enqueuer.attempts) == 1


def test_growing_file_is_enqueued_only_when_it_stops_with_its_final_size(
    watcher: Watcher, enqueuer: RecordingEnqueuer, source: Path
) -> None:
    # Given a running watcher
    with _running(watcher):
        # When a video grows by a chunk every 0.1 s for 1.5 s
        enqueued_while_growing = []
        with open(source / "clip.mp4", "wb") as handle:
            for _ in range(15):
                handle.write(b"v" * 1000)
                handle.flush()
                time.sleep(0.1)
                enqueued_while_growing.extend(enqueuer.files)
        assert _wait_until(lambda: enqueuer.files != [])
    # Then nothing was enqueued while it grew, and then once, with the final size
    assert enqueued_while_growing == []
    assert [(rel, size) for _, rel, size, _ in enqueuer.files] == [("clip.mp4", 15_000)]


def test_files_in_a_new_subfolder_are_enqueued(
    watcher: Watcher, enqueuer: RecordingEnqueuer, source: Path
) -> None:
    # Given a running watcher
    with _running(watcher):
        # When nested folders are created and filled at once, faster than watches attach
        deep = source / "2024" / "Trip" / "Day 1"
        deep.mkdir(parents=True)
        expected = ["2024/a.jpg", "2024/Trip/b.heic", "2024/Trip/Day 1/c.mp4"]
        for rel in expected:
            (source / rel).write_bytes(b"data")
        # Then every file is enqueued
        assert _wait_until(lambda: _paths(enqueuer) == sorted(expected))


def test_files_and_folders_moved_in_from_outside_are_enqueued(
    watcher: Watcher, enqueuer: RecordingEnqueuer, source: Path, tmp_path: Path
) -> None:
    # Given a file and a filled folder prepared outside the source
    outside = tmp_path / "outside"
    (outside / "album" / "sub").mkdir(parents=True)
    (outside / "single.jpg").write_bytes(b"one")
    (outside / "album" / "x.jpg").write_bytes(b"two")
    (outside / "album" / "sub" / "y.dng").write_bytes(b"three")
    with _running(watcher):
        # When both are moved into the source
        os.rename(outside / "single.jpg", source / "single.jpg")
        os.rename(outside / "album", source / "album")
        # Then everything in them is enqueued
        assert _wait_until(
            lambda: _paths(enqueuer) == ["album/sub/y.dng", "album/x.jpg", "single.jpg"]
        )


def test_partial_download_renamed_to_its_final_name_is_enqueued_once(
    watcher: Watcher, enqueuer: RecordingEnqueuer, source: Path
) -> None:
    # Given a running watcher
    with _running(watcher):
        # When a download lands as .part and is renamed when complete
        with open(source / "IMG_0002.jpg.part", "wb") as handle:
            for _ in range(3):
                handle.write(b"p" * 100)
                handle.flush()
                time.sleep(0.05)
        os.rename(source / "IMG_0002.jpg.part", source / "IMG_0002.jpg")
        assert _wait_until(lambda: enqueuer.files != [])
        time.sleep(WINDOW * 2)
    # Then only the final name is enqueued, once
    assert [(rel, size) for _, rel, size, _ in enqueuer.files] == [("IMG_0002.jpg", 300)]


def test_ignored_names_are_never_enqueued(
    watcher: Watcher, enqueuer: RecordingEnqueuer, source: Path
) -> None:
    # Given a running watcher
    with _running(watcher):
        # When clutter is written, then one real photo
        (source / "@eaDir" / "IMG.jpg").mkdir(parents=True)
        (source / "@eaDir" / "IMG.jpg" / "SYNOPHOTO_THUMB.jpg").write_bytes(b"t")
        (source / ".hidden.jpg").write_bytes(b"h")
        (source / "Thumbs.db").write_bytes(b"t")
        (source / "notes.txt").write_bytes(b"n")
        (source / "half.mp4.crdownload").write_bytes(b"c")
        (source / "real.jpg").write_bytes(b"r")
        assert _wait_until(lambda: enqueuer.files != [])
        time.sleep(WINDOW * 2)
    # Then only the photo is enqueued
    assert _paths(enqueuer) == ["real.jpg"]


def test_file_deleted_before_it_settles_is_not_enqueued(
    watcher: Watcher, enqueuer: RecordingEnqueuer, source: Path
) -> None:
    # Given a running watcher
    with _running(watcher):
        # When a file appears and is deleted within the window, then another one is written
        (source / "gone.jpg").write_bytes(b"g")
        (source / "gone.jpg").unlink()
        (source / "kept.jpg").write_bytes(b"k")
        assert _wait_until(lambda: enqueuer.files != [])
        time.sleep(WINDOW * 2)
    # Then only the surviving file is enqueued
    assert _paths(enqueuer) == ["kept.jpg"]


def test_start_up_scan_runs_once_per_source(tmp_path: Path, enqueuer: RecordingEnqueuer) -> None:
    # Given two sources, one already holding a file
    settings = _settings(tmp_path, "phone", "camera")
    (tmp_path / "camera" / "old.jpg").write_bytes(b"old")
    watcher = Watcher(settings, enqueuer)
    # When the watcher starts and runs for a while
    with _running(watcher):
        time.sleep(WINDOW * 2)
    # Then each source was scanned once, and the old file was left to that scan
    assert sorted(enqueuer.scans) == ["camera", "phone"]
    assert enqueuer.files == []


def test_enqueuer_failures_are_retried_with_backoff_until_success(
    tmp_path: Path, source: Path
) -> None:
    # Given an enqueuer whose Redis is down for the first two calls
    down = [redis.ConnectionError("Connection refused"), redis.ConnectionError("still down")]
    enqueuer = RecordingEnqueuer(fail_with=down)
    watcher = Watcher(_settings(tmp_path), enqueuer)
    with _running(watcher) as thread:
        # When a photo arrives
        (source / "IMG_0003.jpg").write_bytes(b"x" * 10)
        # Then it is enqueued on the third attempt, after waiting 1 s and then 2 s
        assert _wait_until(lambda: enqueuer.files != [], timeout=6)
        assert thread.is_alive()
    times = [at for at, _ in enqueuer.attempts]
    assert [rel for _, rel, _, _ in enqueuer.files] == ["IMG_0003.jpg"]
    assert len(times) == 3
    assert times[1] - times[0] == pytest.approx(1.0, abs=0.3)
    assert times[2] - times[1] == pytest.approx(2.0, abs=0.3)


def test_polling_mode_sees_new_files(tmp_path: Path, enqueuer: RecordingEnqueuer) -> None:
    # Given a source configured to be polled
    watcher = Watcher(_settings(tmp_path, polling="on"), enqueuer, poll_interval=0.2)
    with _running(watcher):
        # When a photo and a folder of photos arrive
        mode = watcher.watching()
        (tmp_path / "phone" / "sub").mkdir()
        (tmp_path / "phone" / "sub" / "a.jpg").write_bytes(b"a")
        (tmp_path / "phone" / "b.jpg").write_bytes(b"b")
        # Then the polling observer finds them
        assert _wait_until(lambda: _paths(enqueuer) == ["b.jpg", "sub/a.jpg"])
    assert mode == {"phone": "polling"}


def test_polled_source_never_follows_a_symlinked_folder(
    tmp_path: Path, enqueuer: RecordingEnqueuer
) -> None:
    # Given a folder outside every source, linked into a polled source before it is watched
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "before.jpg").write_bytes(b"private")
    watcher = Watcher(_settings(tmp_path, polling="on"), enqueuer, poll_interval=0.1)
    source = tmp_path / "phone"
    (source / "old_link").symlink_to(outside, target_is_directory=True)
    with _running(watcher):
        # When a second link appears, and photos arrive and change in the outside folder
        (source / "new_link").symlink_to(outside, target_is_directory=True)
        (source / "first.jpg").write_bytes(b"first")
        assert _wait_until(lambda: "first.jpg" in _paths(enqueuer))
        (outside / "during.jpg").write_bytes(b"private too")
        (outside / "before.jpg").write_bytes(b"private, edited")
        # (each marker is written after the previous one was handed over, so anything seen
        # with the outside changes has settled before the last marker does)
        for marker in ("second.jpg", "last.jpg"):
            (source / marker).write_bytes(marker.encode())
            assert _wait_until(lambda m=marker: m in _paths(enqueuer))
    # Then only the source's own photos are enqueued: nothing behind either link
    assert _paths(enqueuer) == ["first.jpg", "last.jpg", "second.jpg"]


def test_falls_back_to_polling_when_events_are_unavailable(
    tmp_path: Path, enqueuer: RecordingEnqueuer
) -> None:
    # Given an event observer that fails like an exhausted inotify watch limit
    def factory(poll: bool) -> BaseObserver:
        if not poll:
            raise OSError(28, "inotify watch limit reached")
        return PollingObserver(timeout=0.2)

    watcher = Watcher(_settings(tmp_path), enqueuer, observer_factory=factory)
    with _running(watcher):
        # When a photo arrives
        mode = watcher.watching()
        (tmp_path / "phone" / "a.jpg").write_bytes(b"a")
        # Then the source is polled instead, and the photo still found
        assert _wait_until(lambda: _paths(enqueuer) == ["a.jpg"])
    assert mode == {"phone": "polling"}


def test_source_folder_that_disappears_and_returns_is_watched_again(
    watcher: Watcher, enqueuer: RecordingEnqueuer, source: Path
) -> None:
    # Given a running watcher whose source folder is removed (an unmounted share)
    with _running(watcher):
        shutil.rmtree(source)
        time.sleep(0.3)
        # When the folder comes back
        source.mkdir()
        # Then the watcher re-attaches, catches up with a scan, and sees new files again
        assert _wait_until(lambda: len(enqueuer.scans) == 2, timeout=5)
        (source / "back.jpg").write_bytes(b"b")
        assert _wait_until(lambda: _paths(enqueuer) == ["back.jpg"])
