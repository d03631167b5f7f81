"""The `mediacourier watch` process: file-system events in, settled files out to the queue.

Each source gets its own watchdog observer (inotify, or polling on network shares where inotify
misses remote writes) and its own stability tracker. Events only mark files as "changed";
`run_once` hands a file to the enqueuer once it has settled. A source's catch-up scan runs on a
thread of its own (workers/scans.py), so live files are handed over while it queues a backlog.
Nothing here may stop the watcher: event errors are logged, and a failed hand-over or scan is
retried with backoff until it succeeds.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers.api import BaseObserver

from shared.config import Settings, SourceConfig
from shared.media import IgnoreRules
from shared.source import StabilityTracker, backoff_delay, should_poll, walk_source
from workers.nextcloud_watch import UserFollower
from workers.observers import (
    default_observer,
    healthy,
    listen_for_overflow,
    real_folder,
    release_freed_memory,
    stop_quietly,
)
from workers.scans import ScanThreads

log = logging.getLogger(__name__)

IDLE_TICK = 0.25  # longest sleep, so a new event's deadline is never missed by more than this
ObserverFactory = Callable[[bool], BaseObserver]  # poll? -> a new, unstarted observer


class Enqueuer(Protocol):
    def enqueue_file(self, source: str, rel_path: str, size: int, mtime_ns: int) -> bool:
        """Queue one settled file version; True if newly queued, False if already in flight."""

    def enqueue_scan(self, source: str) -> int:
        """Queue everything already in the source (start-up catch-up); returns the count.
        Called on a scan's own thread while `enqueue_file` may be called on the loop's."""


@dataclass
class _Watch:
    """Everything the watcher keeps for one source."""

    source: SourceConfig
    root: str
    rules: IgnoreRules
    tracker: StabilityTracker
    poll: bool
    observer: BaseObserver | None = None
    scan_needed: bool = True
    failures: int = 0  # consecutive failed attach / scan attempts
    retry_at: float = 0.0
    # A nextcloud source has one watch of its data directory alone (`top`: new users, and the
    # source's catch-up scan) and one watch per user folder (`folder`, relative to the root;
    # its catch-up is a walk of that folder, as for a folder that just appeared).
    top: bool = False
    folder: str = ""

    @property
    def observed(self) -> str:
        return os.path.join(self.root, *self.folder.split("/")) if self.folder else self.root

    def relative(self, path: str) -> str | None:
        prefix = self.root.rstrip(os.sep) + os.sep
        if not path.startswith(prefix) or path == prefix:
            return None
        return path[len(prefix) :].replace(os.sep, "/")


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: Watcher, watch: _Watch) -> None:
        self._watcher, self._watch = watcher, watch

    def dispatch(self, event: FileSystemEvent) -> None:
        # An exception here would kill watchdog's dispatcher thread and blind the source.
        try:
            self._watcher._on_event(self._watch, event)
        except Exception:
            log.exception("source %s: cannot handle %r", self._watch.source.name, event)


class Watcher:
    """Watches every configured source and enqueues files once they have settled.

    Use: `start()`, then `run_forever(stop_event)` (or `run_once()` in a loop), then `stop()`.
    """

    def __init__(
        self,
        settings: Settings,
        enqueuer: Enqueuer,
        clock: Callable[[], float] = time.monotonic,
        observer_factory: ObserverFactory | None = None,
        *,
        poll_interval: float = 1.0,
    ) -> None:
        self._enqueuer = enqueuer
        self._clock = clock
        self._factory = observer_factory or (lambda poll: default_observer(poll, poll_interval))
        self._lock = threading.Lock()
        self._scans = ScanThreads()
        self._started = False
        self._stop_listening: Callable[[], None] | None = None
        # A source a [flows.NAME] takes is the flow's alone: watching it too would send its
        # files to the source's library instead of through the flow's steps.
        sources = settings.ingested_sources
        self._left_to_flows = {name: flow.name for name in settings.sources
                               if name not in sources
                               and (flow := settings.flow_fed_by(name)) is not None}
        self._watches = {name: self._new_watch(source, top=source.nextcloud is not None)
                         for name, source in sources.items()}
        self._followers = {name: UserFollower(source, clock)
                           for name, source in sources.items() if source.nextcloud}

    def _new_watch(self, source: SourceConfig, top: bool = False, folder: str = "") -> _Watch:
        return _Watch(
            source=source,
            root=os.fspath(source.path),
            rules=IgnoreRules(source.include, source.exclude),
            # lstat: symlinks and FIFOs are handed over too, and the pipeline says why not.
            tracker=StabilityTracker(source.stability_seconds, self._clock, os.lstat),
            poll=should_poll(source.path, source.polling),
            top=top, folder=folder,
        )

    def watching(self) -> dict[str, str]:
        """Source name (`name:user/folder` for a Nextcloud user's folder) -> 'polling',
        'events' or 'detached' (waiting to re-attach)."""
        return {
            name: "detached" if w.observer is None else "polling" if w.poll else "events"
            for name, w in self._watches.items()
        }

    def start(self) -> None:
        """Attach an observer to every source, then enqueue what is already there."""
        for name, flow in self._left_to_flows.items():
            log.info("source %s is fed to flow %s; the watcher leaves it to the flow", name, flow)
        for follower in self._followers.values():
            self._follow(follower)  # not started yet: the loop below attaches its watches
        self._started = True
        self._stop_listening = listen_for_overflow(self._events_lost)
        attached = [watch for watch in list(self._watches.values()) if self._attach(watch)]
        # Every watch is attached before any catch-up scan walks: a file written after the walk
        # passed its folder then has an event. (A user folder attached after its source's scan
        # was blind to a photo written in between, until the hourly reconcile.)
        for watch in attached:
            if watch.folder:  # the catch-up scan of its source (its `top`) covers it
                watch.scan_needed = False
            else:
                self._scan(watch)

    def _follow(self, follower: UserFollower) -> None:
        """Start watching a nextcloud source's new user folders, stop watching those gone."""
        added, removed = follower.refresh()
        name = follower.source.name
        for folder, user in removed.items():
            watch = self._watches.pop(f"{name}:{folder}", None)
            if watch is not None:
                stop_quietly(watch.observer)
                watch.observer = None
            log.info("source %s: stopped watching user %s (%s is gone or left out)", name, user,
                     folder)
        for folder, user in added.items():
            watch = self._new_watch(follower.source, folder=folder)
            self._watches[f"{name}:{folder}"] = watch
            log.info("source %s: found Nextcloud user %s", name, user)
            if self._started and self._attach(watch):
                self._scan(watch)

    def stop(self, scan_timeout: float | None = None) -> None:
        """Stop watching; a catch-up scan still queueing is waited for (up to `scan_timeout`):
        the files it marked in flight are then all queued, not left for the in-flight sweeper."""
        self._started = False
        if self._stop_listening is not None:
            self._stop_listening()
            self._stop_listening = None
        for watch in list(self._watches.values()):
            stop_quietly(watch.observer)
            watch.observer = None
        self._scans.join(scan_timeout)

    def scans_done(self, timeout: float | None = None) -> bool:
        """Wait for the catch-up scans running now; False if one still runs after `timeout`."""
        return self._scans.join(timeout)

    def run_forever(self, stop_event: threading.Event) -> None:
        while not stop_event.is_set():
            try:
                self.run_once()
            except Exception:
                log.exception("watcher loop failed; carrying on")
            stop_event.wait(self._sleep_seconds())

    def run_once(self) -> int:
        """Re-attach or re-scan sources that need it, and hand settled files over."""
        handed = 0
        for follower in self._followers.values():
            if self._started and follower.due():
                self._follow(follower)
        for watch in list(self._watches.values()):
            if watch.folder and not real_folder(watch.observed):
                # A user's folder removed: the follower stops its watch (no error, no retry).
                self._followers[watch.source.name].wake()
            elif self._started and self._clock() >= watch.retry_at:
                if not healthy(watch.observer):
                    stop_quietly(watch.observer)
                    self._attach(watch)
                if watch.scan_needed and watch.observer is not None:
                    self._scan(watch)
            with self._lock:
                ready = watch.tracker.due()
            for path, info in ready:
                handed += self._hand_over(watch, path, info)
        return handed

    def _sleep_seconds(self) -> float:
        now = self._clock()
        wake = now + IDLE_TICK
        for follower in self._followers.values():
            wake = min(wake, follower.next_at)
        with self._lock:
            for watch in list(self._watches.values()):
                deadline = watch.tracker.next_deadline()
                if deadline is not None:
                    wake = min(wake, deadline)
                scan_waits = watch.scan_needed and not self._scans.running(watch.source.name)
                if self._started and (scan_waits or watch.observer is None):
                    wake = min(wake, watch.retry_at)
        return min(IDLE_TICK, max(0.005, wake - now))

    def _hand_over(self, watch: _Watch, path: str, info: os.stat_result) -> int:
        rel, name = watch.relative(path), watch.source.name
        if rel is None or not watch.rules.accepts(rel):
            return 0
        try:
            queued = self._enqueuer.enqueue_file(name, rel, info.st_size, info.st_mtime_ns)
        except Exception as exc:
            with self._lock:
                delay = watch.tracker.retry_later(path, info)
            log.warning("source %s: cannot enqueue %r, retry in %.0f s: %s", name, rel, delay, exc)
            return 0
        with self._lock:
            watch.tracker.handed_over(path)
        # DEBUG: at INFO a file's one line is its outcome, logged by the worker that records it.
        log.debug("source %s: %s %r", name, "queued" if queued else "in flight", rel)
        return 1

    def _attach(self, watch: _Watch) -> bool:
        observer: BaseObserver | None = None
        watch.observer = None
        try:
            if not os.path.isdir(watch.observed):
                raise FileNotFoundError(f"folder {watch.observed!r} does not exist")
            observer = self._factory(watch.poll)
            # A data directory alone: its users' folders have watches of their own, and
            # appdata_* (previews by the hundred thousand) must not cost an inotify watch each.
            observer.schedule(_Handler(self, watch), watch.observed, recursive=not watch.top)
            observer.start()
        except Exception as exc:
            stop_quietly(observer)
            if not watch.poll and isinstance(exc, OSError) and os.path.isdir(watch.observed):
                # Typically the inotify watch limit: polling is slower but sees everything.
                log.warning("source %s: cannot use events (%s); polling", watch.source.name, exc)
                watch.poll = True
                return self._attach(watch)
            self._failed(watch, f"cannot watch: {exc}")
            return False
        watch.observer, watch.scan_needed = observer, True
        how = "polling" if watch.poll else "file-system events"
        log.info("source %s: watching %r by %s", watch.source.name, watch.observed, how)
        return True

    def _scan(self, watch: _Watch) -> None:
        if watch.folder:  # a Nextcloud user's folder: files may be there before its watch
            self._walk_into(watch, watch.folder)
            watch.scan_needed, watch.failures = False, 0
            return
        # One scan of a source at a time: one asked for while it runs (inotify lost events,
        # the watch re-attached) keeps `scan_needed` and starts once it has ended. Cleared
        # before the thread starts, so a request made during the scan is not lost.
        with self._lock:
            if self._scans.running(watch.source.name):
                return
            watch.scan_needed = False
        self._scans.start(watch.source.name, lambda: self._scan_source(watch))

    def _scan_source(self, watch: _Watch) -> None:
        """A source's catch-up scan, on its own thread."""
        name = watch.source.name
        try:
            count = self._enqueuer.enqueue_scan(name)
        except Exception as exc:
            with self._lock:
                watch.scan_needed = True
                self._failed(watch, f"catch-up scan failed: {exc}")
            return
        with self._lock:
            watch.failures = 0
        log.info("source %s: catch-up scan queued %d files", name, count)
        release_freed_memory()

    def _events_lost(self) -> None:
        """inotify's queue overflowed (watchdog's thread calls this): which watch lost events
        is not said, so every watch by events walks again at the next turn of the loop (a
        Nextcloud data directory's own watch only finds users: the follower's timer does too)."""
        log.warning("file-system events were lost (inotify's queue overflowed): walking the "
                    "watched folders again")
        for watch in list(self._watches.values()):
            if not watch.poll and not watch.top:
                watch.scan_needed = True

    def _failed(self, watch: _Watch, why: str) -> None:
        watch.failures += 1
        delay = backoff_delay(watch.failures)
        watch.retry_at = self._clock() + delay
        log.error("source %s: %s; retrying in %.0f s", watch.source.name, why, delay)

    def _on_event(self, watch: _Watch, event: FileSystemEvent) -> None:
        kind, is_dir = event.event_type, event.is_directory
        if watch.top:  # a folder come or gone at the top of a data directory: a user, maybe
            if is_dir and kind in ("created", "deleted", "moved"):
                self._followers[watch.source.name].wake()
            return
        src = os.fsdecode(event.src_path)
        if kind == "moved":
            self._gone(watch, src, is_dir)
            self._arrived(watch, os.fsdecode(event.dest_path), is_dir)
        elif kind == "deleted":
            self._gone(watch, src, is_dir)
        elif kind == "created" or (kind in ("modified", "closed") and not is_dir):
            # A folder's "modified" only says its listing changed; its files send their own.
            self._arrived(watch, src, is_dir)

    def _arrived(self, watch: _Watch, path: str, is_dir: bool) -> None:
        rel = watch.relative(path)
        if rel is None:
            return
        if not is_dir and watch.rules.accepts(rel):
            with self._lock:
                watch.tracker.touch(path)
        if not is_dir or watch.rules.prunes_path(rel):
            return
        if not real_folder(path):
            # A link to a folder (reported as a folder by an observer that follows links): its
            # files live outside the root, so never walk it.
            return
        # Files may have landed before the observer attached to this new folder: walk it.
        self._walk_into(watch, rel)

    def _walk_into(self, watch: _Watch, rel: str) -> None:
        for entry in walk_source(watch.root, watch.rules, start=rel):
            with self._lock:
                watch.tracker.touch(os.path.join(watch.root, *entry.rel_path.split("/")))

    def _gone(self, watch: _Watch, path: str, is_dir: bool) -> None:
        # If the root itself went, its emitter stops too, and `run_once` re-attaches later.
        with self._lock:
            if is_dir:
                watch.tracker.forget_tree(path)
            else:
                watch.tracker.forget(path)
