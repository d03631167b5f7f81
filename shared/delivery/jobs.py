"""Which library file a finished job put where Syncthing shares it, and its journal entry."""

from __future__ import annotations

import os
from pathlib import Path

from shared.config import LibraryConfig, Settings, SyncthingConfig
from shared.delivery.check import DeliveryReport, folder_relative
from shared.errors import PathRefused, UnknownSource
from shared.jobs import FileJob, Outcome
from shared.state import RedisStateStore


def delivery_target(settings: Settings, job: FileJob
                    ) -> tuple[LibraryConfig, SyncthingConfig, list[str]] | None:
    """The library, its Syncthing config and the folder-relative name of the job's new file;
    None when there is nothing to confirm (no Syncthing, or the job put no new file there).

    The destination comes from a task argument: it must stay inside the library root.
    """
    source = settings.sources.get(job.source)
    if source is None:
        raise UnknownSource(f"no source named {job.source!r} is configured")
    library = settings.library_of(source)
    if not library.syncthing or job.outcome != Outcome.INGESTED or not job.dest_path:
        return None
    dest = Path(os.path.abspath(library.path / job.dest_path))
    if os.path.isabs(job.dest_path) or library.path not in dest.parents:
        raise PathRefused(f"{job.dest_path!r}: outside library {library.name!r} "
                          f"({library.path}); refusing to check its delivery")
    config = settings.syncthing[library.syncthing]
    return library, config, [folder_relative(config, dest)]


def record_delivery(store: RedisStateStore, job: FileJob, library: LibraryConfig,
                    config: SyncthingConfig, report: DeliveryReport | None, seconds: float,
                    reason: str = "") -> str:
    """Journal `delivered` or `delivery-pending` (with why) for `mediacourier history`."""
    event = "delivered" if report is not None and report.delivered else "delivery-pending"
    store.journal(event, source=job.source, path=job.rel_path, library=library.name,
                  dest=job.dest_path, syncthing=config.name,
                  devices=",".join(d[:7] for d in config.devices),
                  reason=reason or (report.summary() if report else ""),
                  seconds=f"{seconds:.3f}")
    return event
