"""A small pool of SFTP sessions to one target, for parallel transfers; it reports the
target's health (reachable or not) to a hook as sessions succeed and fail."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from shared.config import TargetConfig
from shared.errors import TargetRefused, TargetUnreachable
from shared.remote.sftp_session import SftpSession

HealthHook = Callable[[bool, str], None]


class SessionPool:
    """Up to `size` sessions, made on demand and never shared across a fork."""

    def __init__(self, target: TargetConfig, on_health: HealthHook | None = None) -> None:
        self.target = target
        self.on_health = on_health
        self._idle: list[SftpSession] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(target.parallel)
        self._pid = os.getpid()
        self._healthy: bool | None = None

    def _report(self, healthy: bool, reason: str) -> None:
        if self.on_health is not None and healthy != self._healthy:
            with contextlib.suppress(Exception):  # health is advice; never fail a transfer
                self.on_health(healthy, reason)
        self._healthy = healthy

    @contextmanager
    def session(self) -> Iterator[SftpSession]:
        with self._slots:
            with self._lock:
                if self._pid != os.getpid():  # a forked child: the parent's sockets are not ours
                    self._idle, self._pid = [], os.getpid()
                session = self._idle.pop() if self._idle else None
                while session is not None and not session.alive:  # dropped while idle
                    session.close()
                    session = self._idle.pop() if self._idle else None
            try:
                if session is None:
                    session = SftpSession(self.target)
                yield session
            except (TargetUnreachable, TargetRefused) as exc:
                if session is not None:
                    session.close()
                self._report(False, str(exc))
                raise
            except BaseException:
                if session is not None:
                    with self._lock:
                        self._idle.append(session)
                raise
            self._report(True, "")
            with self._lock:
                self._idle.append(session)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for session in idle:
            session.close()
