"""One runner per kind of step, each over a batch of the flow's files.

A runner returns what became of each file: reached the step (with where it is now), or failed
with a reason (it stays where it was, the others go on). A runner raises only for what stops
the whole step: a destination that is not there, Syncthing not answering, a full disk; the
flow is then held with that reason.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from shared.compress import TEMP_MARK, CompressOptions, Compressor, MediaCompressor
from shared.config import FlowConfig, FlowStep, Settings, SyncthingConfig
from shared.delivery import SyncthingClient, wait_for_delivery
from shared.errors import DestinationFull, PermanentError, RetryableError, TargetUnreachable
from shared.flow.files import (
    check_folder,
    check_remote_folder,
    copy_verified,
    move_verified,
    sweep_stale,
)
from shared.flow.ledger import FlowFile, FlowLedger
from shared.remote import transfer_backend
from shared.state import RedisStateStore
from shared.transfer import TMP_PREFIX, TransferBackend

ClientFactory = Callable[[SyncthingConfig], SyncthingClient]
# Errors that say nothing about the one file but everything about where it goes.
STEP_STOPPERS = (TargetUnreachable, DestinationFull)


def syncthing_client(config: SyncthingConfig) -> SyncthingClient:
    return SyncthingClient(config.url, config.api_key())


@dataclass
class StepRun:
    """What one step needs: where it writes, the records, and the parts tests replace."""

    settings: Settings
    store: RedisStateStore
    flow: FlowConfig
    step: FlowStep
    compressor: Compressor = field(default_factory=MediaCompressor)
    client_for: ClientFactory = syncthing_client

    @property
    def ledger(self) -> FlowLedger:
        return FlowLedger(self.store, self.flow.name)


@dataclass
class StepReport:
    reached: list[FlowFile] = field(default_factory=list)
    failed: list[tuple[FlowFile, str]] = field(default_factory=list)
    note: str = ""  # a line about the whole step (a cleanup's count, a delivery's wait)


def destination(run: StepRun) -> Path:
    """The folder a step writes into: its library's or its `to`."""
    step = run.step
    if step.library:
        return Path(run.settings.libraries[step.library].path)
    assert step.to is not None
    return step.to


def _per_file(run: StepRun, items: list[FlowFile],
              one: Callable[[FlowFile], FlowFile]) -> StepReport:
    report = StepReport()
    for item in items:
        try:
            report.reached.append(one(item))
        except STEP_STOPPERS:
            raise
        except (PermanentError, RetryableError) as exc:
            report.failed.append((item, str(exc)))
    return report


def run_archive(run: StepRun, items: list[FlowFile]) -> StepReport:
    """A verified copy of each file in a folder here, or in a library on an SSH target."""
    root = destination(run)
    target = ssh_target_of(run)
    if target is None:
        check_folder(root, "archive folder")
        return _per_file(run, items, lambda item: _archived(run, item, root))
    backend = transfer_backend(run.settings, target, run.store)
    try:
        check_remote_folder(backend, root, f"archive folder {target}:{root}")
        return _per_file(run, items, lambda item: _archived(run, item, root, backend,
                                                            f"{target}:"))
    finally:
        backend.destination.close()


def ssh_target_of(run: StepRun) -> str | None:
    """The SSH target the step's library lives on, None for a folder of this machine."""
    library = run.settings.libraries.get(run.step.library) if run.step.library else None
    target = run.settings.targets.get(library.target) if library and library.target else None
    return target.name if target is not None and target.over_ssh else None


def _archived(run: StepRun, item: FlowFile, root: Path, backend: TransferBackend | None = None,
              shown_as: str = "") -> FlowFile:
    copy, _ = copy_verified(item, root, backend, shown_as)
    return item.evolve(copies={**item.copies, run.step.label: copy})


def run_move(run: StepRun, items: list[FlowFile]) -> StepReport:
    root = destination(run)
    check_folder(root, f"{run.step.kind} folder")
    return _per_file(run, items, lambda item: item.evolve(at=move_verified(item, root)))


def run_compress(run: StepRun, items: list[FlowFile]) -> StepReport:
    root = destination(run)
    check_folder(root, "compress folder")
    step = run.step
    options = CompressOptions(image_quality=step.image_quality, image_format=step.image_format,
                              video_crf=step.video_crf, video_codec=step.video_codec)

    def one(item: FlowFile) -> FlowFile:
        earlier = item.copies.get(step.label)
        if earlier and os.path.isfile(earlier):
            return item  # compressed by an earlier run of this step
        dest_dir = root / os.path.dirname(item.rel)
        result = run.compressor.compress(Path(item.at), dest_dir, options)
        if result.kind == "skipped":
            return item.evolve(copies={**item.copies, step.label: ""})
        return item.evolve(copies={**item.copies, step.label: str(result.path)})

    return _per_file(run, items, one)


def run_cleanup(run: StepRun, items: list[FlowFile]) -> StepReport:
    step = run.step
    assert step.folder is not None
    # What a killed copy or compression left: ours, whatever the patterns say.
    ours = (f"{TMP_PREFIX}*", f"*{TEMP_MARK}*")
    removed = sweep_stale(step.folder, step.patterns, step.older_than_seconds, ours)
    for rel in removed:
        run.store.journal("flow-cleanup", flow=run.flow.name, step=step.label,
                          path=os.path.join(step.folder, rel))
    return StepReport(reached=list(items),
                      note=f"removed {len(removed)} stale file(s) from {step.folder}")


def run_deliver(run: StepRun, items: list[FlowFile]) -> StepReport:
    """Move the batch into the library, then wait until Syncthing says every configured
    device has each file; a file not seen there in time fails (it stays in the library)."""
    moved = run_move(run, items)
    library = run.settings.libraries[run.step.library]
    if not library.syncthing or not moved.reached:
        return moved
    for item in moved.reached:  # where they are now, before the wait can fail
        run.ledger.put(item)
    run.store.journal("flow-delivering", flow=run.flow.name, step=run.step.label,
                      library=library.name, files=len(moved.reached),
                      paths=",".join(sorted(item.rel for item in moved.reached)))
    config = run.settings.syncthing[library.syncthing]
    names = {item.rel: _folder_name(config, item.at) for item in moved.reached}
    timeout = run.step.timeout_seconds or config.timeout_seconds
    delivery = wait_for_delivery(run.client_for(config), config, sorted(names.values()),
                                 timeout=timeout)
    missing = {i.file: i.describe() for i in delivery.pending()}
    report = StepReport(failed=moved.failed, note=f"delivery: {delivery.summary()} in "
                                                  f"{delivery.seconds:.1f} s")
    for item in moved.reached:
        why = missing.get(names[item.rel])
        if why:
            report.failed.append((item, f"not confirmed on the device within {timeout:g} s: "
                                        f"{why}"))
        else:
            report.reached.append(item)
    return report


def _folder_name(config: SyncthingConfig, path: str) -> str:
    return Path(os.path.abspath(path)).relative_to(config.folder_path).as_posix()


RUNNERS: dict[str, Callable[[StepRun, list[FlowFile]], StepReport]] = {
    "deliver": run_deliver, "archive": run_archive, "move": run_move, "release": run_move,
    "compress": run_compress, "cleanup": run_cleanup,
}
