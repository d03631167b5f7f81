"""The `mediacourier watch` process: file-system events in, settled files out to the queue.

Each source gets its own watchdog observer (inotify, or polling on network shares where inotify
misses remote writes) and its own stability tracker. Events only mark files as "changed";
`run_once` hands a file to the enqueuer once it has settled. Nothing here may stop the watcher:
event errors are logged, and a failed hand-over is retried with backoff until it succeeds.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import os
import stat as stat_module
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserverVFS

from shared.config import Settings, SourceConfig
from shared.media import IgnoreRules
from shared.source import StabilityTracker, backoff_delay, should_poll, walk_source

log = logging.getLogger(__name__)

IDLE_TICK = 0.25  # longest sleep, so a new event's deadline is never missed by more than this
ObserverFactory = Callable[[bool], BaseObserver]  # poll? -> a new, unstarted observer


class Enqueuer(Protocol):
    def enqueue_file(self, source: str, rel_path: str, size: int, mtime_ns: int) -> bool:
        """Queue one settled file version; True if newly queued, False if already in flight."""

    def enqueue_scan(self, source: str) -> int:
        """Queue everything already in the source (start-up catch-up); returns the count."""


def default_observer(poll: bool, poll_interval: float = 1.0) -> BaseObserver:
    if not poll:
        return Observer()
    # lstat, never os.stat: a symlinked folder must look like a link, not a folder to descend
    # into, or files outside every root are snapshotted, reported and moved (as inotify never
    # does). scandir lists without following links.
    return PollingObserverVFS(os.lstat, os.scandir, polling_interval=poll_interval)


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
        self._started = False
        self._watches = {
            name: _Watch(
                source=source,
                root=os.fspath(source.path),
                rules=IgnoreRules(source.include, source.exclude),
                # lstat: symlinks and FIFOs are handed over too, and the pipeline says why not.
                tracker=StabilityTracker(source.stability_seconds, clock, os.lstat),
                poll=should_poll(source.path, source.polling),
            )
            for name, source in settings.sources.items()
        }

    def watching(self) -> dict[str, str]:
        """Source name -> 'polling', 'events' or 'detached' (waiting to re-attach)."""
        return {
            name: "detached" if w.observer is None else "polling" if w.poll else "events"
            for name, w in self._watches.items()
        }

    def start(self) -> None:
        """Attach an observer to every source, then enqueue what is already there."""
        self._started = True
        for watch in self._watches.values():
            if self._attach(watch):
                self._scan(watch)

    def stop(self) -> None:
        self._started = False
        for watch in self._watches.values():
            _stop_quietly(watch.observer)
            watch.observer = None

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
        for watch in self._watches.values():
            if self._started and self._clock() >= watch.retry_at:
                if not _healthy(watch.observer):
                    _stop_quietly(watch.observer)
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
        with self._lock:
            for watch in self._watches.values():
                deadline = watch.tracker.next_deadline()
                if deadline is not None:
                    wake = min(wake, deadline)
                if self._started and (watch.scan_needed or watch.observer is None):
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
            if not os.path.isdir(watch.root):
                raise FileNotFoundError(f"folder {watch.root!r} does not exist")
            observer = self._factory(watch.poll)
            observer.schedule(_Handler(self, watch), watch.root, recursive=True)
            observer.start()
        except Exception as exc:
            _stop_quietly(observer)
            if not watch.poll and isinstance(exc, OSError) and os.path.isdir(watch.root):
                # Typically the inotify watch limit: polling is slower but sees everything.
                log.warning("source %s: cannot use events (%s); polling", watch.source.name, exc)
                watch.poll = True
                return self._attach(watch)
            self._failed(watch, f"cannot watch: {exc}")
            return False
        watch.observer, watch.scan_needed = observer, True
        how = "polling" if watch.poll else "file-system events"
        log.info("source %s: watching %r by %s", watch.source.name, watch.root, how)
        return True

    def _scan(self, watch: _Watch) -> None:
        try:
            count = self._enqueuer.enqueue_scan(watch.source.name)
        except Exception as exc:
            self._failed(watch, f"catch-up scan failed: {exc}")
            return
        watch.scan_needed, watch.failures = False, 0
        log.info("source %s: catch-up scan queued %d files", watch.source.name, count)
        release_freed_memory()

    def _failed(self, watch: _Watch, why: str) -> None:
        watch.failures += 1
        delay = backoff_delay(watch.failures)
        watch.retry_at = self._clock() + delay
        log.error("source %s: %s; retrying in %.0f s", watch.source.name, why, delay)

    def _on_event(self, watch: _Watch, event: FileSystemEvent) -> None:
        kind, is_dir = event.event_type, event.is_directory
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
        if not _real_folder(path):
            # A link to a folder (reported as a folder by an observer that follows links): its
            # files live outside the root, so never walk it.
            return
        # Files may have landed before the observer attached to this new folder: walk it.
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


def release_freed_memory() -> None:
    """Hand the heap a catch-up scan used (the records and the walk of a whole source, tens of
    MB for 100,000 files) back to the system: glibc keeps freed memory for reuse, and a
    watcher that is idle for hours would sit on it."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc (musl, macOS): no need
        ctypes.CDLL(None).malloc_trim(0)


def _real_folder(path: str) -> bool:
    try:
        return stat_module.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _healthy(observer: BaseObserver | None) -> bool:
    if observer is None or not observer.is_alive():
        return False
    # An emitter dies alone when its folder vanishes: the observer lives on, blind.
    return all(emitter.is_alive() for emitter in observer.emitters)


def _stop_quietly(observer: BaseObserver | None) -> None:
    try:
        if observer is not None:
            observer.stop()
            observer.join(timeout=5)
    except Exception:  # never started, or already dead: nothing left to stop
        log.debug("error while stopping an observer", exc_info=True)
