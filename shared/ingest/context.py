"""What every stage needs, passed in explicitly: settings, store, backend, and a scheduler hook."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from shared.config import LibraryConfig, Settings, SourceConfig
from shared.errors import UnknownSource
from shared.jobs import FileJob
from shared.remote import transfer_backend
from shared.state import RedisStateStore
from shared.transfer import LocalTransfer, TransferBackend

FlushScheduler = Callable[[str, float], None]


def _no_scheduler(target: str, countdown: float) -> None:
    """Used where nothing can schedule a later flush: the caller flushes itself."""


@dataclass(frozen=True)
class Context:
    settings: Settings
    store: RedisStateStore
    backend: TransferBackend = field(default_factory=LocalTransfer)
    schedule_flush: FlushScheduler = _no_scheduler
    hostname: str = field(default_factory=socket.gethostname)
    # Backends of libraries on SSH targets, made on first use (per process: after a fork).
    remote_backends: dict[str, TransferBackend] = field(default_factory=dict)

    def backend_for(self, library: LibraryConfig) -> TransferBackend:
        """`backend` for a local library; the target's backend for one on an SSH target."""
        target = self.settings.targets.get(library.target) if library.target else None
        if target is None or not target.over_ssh:
            return self.backend
        if library.target not in self.remote_backends:

            self.remote_backends[library.target] = transfer_backend(
                self.settings, library.target, self.store)
        return self.remote_backends[library.target]

    def source(self, job: FileJob) -> SourceConfig:
        try:
            return self.settings.sources[job.source]
        except KeyError:
            raise UnknownSource(f"no source named {job.source!r} is configured") from None

    def library(self, job: FileJob) -> LibraryConfig:
        return self.settings.library_of(self.source(job))

    def source_path(self, job: FileJob) -> str:
        return os.path.join(self.source(job).path, job.rel_path)

    def library_root(self, job: FileJob) -> Path:
        return self.library(job).path
