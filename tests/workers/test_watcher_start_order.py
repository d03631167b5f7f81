"""The watcher's start on a fake clock, with stand-in observers that hear only what happens
after they start (as inotify does): no photo lands unseen between a source's catch-up scan and
the watches of its Nextcloud users' folders, nor when inotify drops events."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from watchdog.events import FileCreatedEvent, FileSystemEventHandler

from shared.config import NextcloudOptions, Settings, SourceConfig
from tests.doubles import RecordingEnqueuer
from tests.shared.source.nextcloud_helpers import make_data_dir
from tests.workers.watcher_helpers import WINDOW, paths
from workers.watcher import Watcher

UPLOADS = "files/InstantUpload"


class _Disk:
    """Writes files and tells the observers watching them, if they are started yet."""

    def __init__(self) -> None:
        self.observers: list[_Observer] = []

    def write(self, path: Path, data: bytes) -> None:
        path.write_bytes(data)
        for observer in self.observers:
            observer.heard(FileCreatedEvent(str(path)))


class _Observer:
    def __init__(self, disk: _Disk) -> None:
        self.handler: FileSystemEventHandler | None = None
        self.folder, self.recursive, self.alive = "", False, False
        self.emitters: set[object] = set()
        disk.observers.append(self)

    def schedule(self, handler: FileSystemEventHandler, path: str, recursive: bool) -> None:
        self.handler, self.folder, self.recursive = handler, path, recursive

    def heard(self, event: FileCreatedEvent) -> None:
        parent = os.path.dirname(event.src_path)
        inside = parent == self.folder or (self.recursive and parent.startswith(self.folder))
        if self.alive and inside and self.handler is not None:  # not started: nothing heard
            self.handler.dispatch(event)

    def start(self) -> None:
        self.alive = True

    def stop(self) -> None:
        self.alive = False

    def join(self, timeout: float | None = None) -> None:
        pass

    def is_alive(self) -> bool:
        return self.alive


class _PhotoDuringScan(RecordingEnqueuer):
    """A catch-up scan that has walked every folder when bob's next photo lands."""

    def __init__(self, disk: _Disk, photo: Path) -> None:
        super().__init__()
        self.disk, self.photo = disk, photo

    def enqueue_scan(self, source: str) -> int:
        count = super().enqueue_scan(source)
        self.disk.write(self.photo, b"bob's photo, just after the walk")
        return count


def test_a_photo_landing_right_after_the_start_up_scan_is_heard_by_its_users_watch(
        tmp_path: Path) -> None:
    # Given a Nextcloud data directory with alice and bob, and a catch-up scan during which
    # (after its walk of bob's folder) bob's phone uploads a photo
    data = make_data_dir(tmp_path, {"alice": [UPLOADS], "bob": [UPLOADS]})
    source = SourceConfig(name="nc", path=data, library="lib", stability_seconds=WINDOW,
                          kind="nextcloud", nextcloud=NextcloudOptions())
    settings = Settings(data_dir=tmp_path / "state", sources={"nc": source})
    disk, now = _Disk(), [100.0]
    photo = data / "bob" / UPLOADS / "IMG_2.jpg"
    enqueuer = _PhotoDuringScan(disk, photo)
    watcher = Watcher(settings, enqueuer, clock=lambda: now[0],
                      observer_factory=lambda _: _Observer(disk))
    try:
        # When the watcher starts, and its stability window passes
        watcher.start()
        assert watcher.scans_done(timeout=5)  # the scan (and the photo) on its own thread
        now[0] += WINDOW
        watcher.run_once()
    finally:
        watcher.stop()
    # Then the one scan ran, and bob's photo was handed over live: his folder's watch was
    # already listening when the scan ran
    assert enqueuer.scans == ["nc"]
    assert paths(enqueuer) == [f"bob/{UPLOADS}/IMG_2.jpg"]


def test_after_inotify_lost_events_the_users_folders_are_walked_again(tmp_path: Path) -> None:
    # Given a started watcher on alice's Nextcloud folder, and a photo whose events the
    # kernel dropped (its inotify queue overflowed: watchdog logs it and tells no handler)
    data = make_data_dir(tmp_path, {"alice": [UPLOADS]})
    source = SourceConfig(name="nc", path=data, library="lib", stability_seconds=WINDOW,
                          kind="nextcloud", nextcloud=NextcloudOptions())
    settings = Settings(data_dir=tmp_path / "state", sources={"nc": source})
    disk, now, enqueuer = _Disk(), [100.0], RecordingEnqueuer()
    watcher = Watcher(settings, enqueuer, clock=lambda: now[0],
                      observer_factory=lambda _: _Observer(disk))
    try:
        watcher.start()
        assert watcher.scans_done(timeout=5)
        (data / "alice" / UPLOADS / "IMG_1.jpg").write_bytes(b"no event for this one")
        # When watchdog says so, and the loop turns twice, the window apart
        logging.getLogger("watchdog.observers.inotify_c").warning(
            "Inotify queue overflowed; filesystem events were lost")
        watcher.run_once()
        now[0] += WINDOW
        watcher.run_once()
    finally:
        watcher.stop()
    # Then the photo was found by a walk of alice's folder and handed over, and the data
    # directory was not reconciled a second time for it
    assert paths(enqueuer) == [f"alice/{UPLOADS}/IMG_1.jpg"]
    assert enqueuer.scans == ["nc"]
