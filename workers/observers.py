"""The watcher's watchdog observers: making one, telling a blind one, stopping one quietly,
hearing that inotify lost events, and handing a catch-up scan's memory back (used by
workers/watcher.py)."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import os
import stat as stat_module
from collections.abc import Callable

from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserverVFS

log = logging.getLogger(__name__)

# Where watchdog (7.x) says the kernel's inotify queue overflowed. It rebuilds its watches and
# tells no event handler, so the events lost would be files missed until the next reconcile.
INOTIFY_LOGGER = "watchdog.observers.inotify_c"


class _OverflowListener(logging.Filter):
    def __init__(self, on_overflow: Callable[[], None]) -> None:
        super().__init__()
        self._on_overflow = on_overflow

    def filter(self, record: logging.LogRecord) -> bool:
        if "overflow" in str(record.msg).lower():
            self._on_overflow()
        return True  # the warning itself is still logged


def listen_for_overflow(on_overflow: Callable[[], None]) -> Callable[[], None]:
    """Call `on_overflow` (on watchdog's thread) whenever inotify lost events; returns the
    function that stops listening."""
    listener, logger = _OverflowListener(on_overflow), logging.getLogger(INOTIFY_LOGGER)
    logger.addFilter(listener)
    return lambda: logger.removeFilter(listener)


def default_observer(poll: bool, poll_interval: float = 1.0) -> BaseObserver:
    if not poll:
        return Observer()
    # lstat, never os.stat: a symlinked folder must look like a link, not a folder to descend
    # into, or files outside every root are snapshotted, reported and moved (as inotify never
    # does). scandir lists without following links.
    return PollingObserverVFS(os.lstat, os.scandir, polling_interval=poll_interval)


def release_freed_memory() -> None:
    """Hand the heap a catch-up scan used (the records and the walk of a whole source, tens of
    MB for 100,000 files) back to the system: glibc keeps freed memory for reuse, and a
    watcher that is idle for hours would sit on it."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc (musl, macOS): no need
        ctypes.CDLL(None).malloc_trim(0)


def real_folder(path: str) -> bool:
    try:
        return stat_module.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def healthy(observer: BaseObserver | None) -> bool:
    if observer is None or not observer.is_alive():
        return False
    # An emitter dies alone when its folder vanishes: the observer lives on, blind.
    return all(emitter.is_alive() for emitter in observer.emitters)


def stop_quietly(observer: BaseObserver | None) -> None:
    try:
        if observer is not None:
            observer.stop()
            observer.join(timeout=5)
    except Exception:  # never started, or already dead: nothing left to stop
        log.debug("error while stopping an observer", exc_info=True)
