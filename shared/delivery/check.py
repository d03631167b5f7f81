"""Syncthing delivery check: has each new library file reached the configured devices?

Syncthing is asked to scan the files' folders now (not at its next watch/rescan), then the
folder index is polled, bounded by a timeout, until every file is available on every device and
each device's folder completion is 100 %. A file counts as delivered to a device when Syncthing
lists that device in the file's `availability` (connected devices holding the current version);
once seen, a delivery stays counted even if the device disconnects before the wait ends.
"""

from __future__ import annotations

import enum
import os
import posixpath
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from shared.config import SyncthingConfig
from shared.delivery.syncthing import Completion, SyncthingClient
from shared.errors import PathRefused


class DeliveryState(enum.StrEnum):
    DELIVERED = "delivered"
    SYNCING = "still syncing"
    DISCONNECTED = "device disconnected"
    NOT_IN_FOLDER = "not in folder"
    UNKNOWN_DEVICE = "unknown device"


@dataclass(frozen=True)
class DeviceDelivery:
    """One file on one device."""

    file: str  # relative to the Syncthing folder, '/'-separated
    device: str
    state: DeliveryState
    need_items: int = 0
    completion: float = 0.0

    def describe(self) -> str:
        device = self.device[:7]
        if self.state == DeliveryState.SYNCING:
            return (f"{self.file} on {device}: still syncing ({self.need_items} items to go, "
                    f"{self.completion:.0f}% complete)")
        if self.state == DeliveryState.NOT_IN_FOLDER:
            return f"{self.file}: not in the Syncthing folder's index (ignored, or not scanned)"
        if self.state == DeliveryState.UNKNOWN_DEVICE:
            return f"{self.file} on {device}: that device is not known to this Syncthing"
        return f"{self.file} on {device}: {self.state}"


@dataclass(frozen=True)
class DeliveryReport:
    items: tuple[DeviceDelivery, ...]
    completions: dict[str, Completion]
    seconds: float = 0.0

    @property
    def delivered(self) -> bool:
        return all(item.state == DeliveryState.DELIVERED for item in self.items)

    @property
    def complete(self) -> bool:
        """Delivered, and every device has caught up with the whole folder."""
        return self.delivered and all(c.completion >= 100 for c in self.completions.values())

    def pending(self) -> list[DeviceDelivery]:
        return [item for item in self.items if item.state != DeliveryState.DELIVERED]

    def summary(self) -> str:
        pending = self.pending()
        if not pending:
            devices = ", ".join(sorted(d[:7] for d in self.completions))
            return f"{len({i.file for i in self.items})} file(s) on {devices}"
        more = f" (+{len(pending) - 3} more)" if len(pending) > 3 else ""
        return "; ".join(item.describe() for item in pending[:3]) + more


def folder_relative(config: SyncthingConfig, path: Path | str) -> str:
    """The path as Syncthing names it inside the folder; refuses anything outside the folder."""
    absolute = Path(os.path.abspath(path))
    try:
        rel = absolute.relative_to(config.folder_path)
    except ValueError:
        raise PathRefused(f"{absolute}: outside Syncthing folder {config.folder_id!r} "
                          f"({config.folder_path})") from None
    if not rel.parts:
        raise PathRefused(f"{absolute}: is the Syncthing folder itself, not a file in it")
    return rel.as_posix()


def request_scans(client: SyncthingClient, config: SyncthingConfig, names: Iterable[str]) -> None:
    """One scan per distinct parent folder, so Syncthing indexes the new files right away."""
    for sub in sorted({posixpath.dirname(name) for name in names}):
        client.scan(config.folder_id, sub)


def check_once(client: SyncthingClient, config: SyncthingConfig, names: list[str],
               already: set[tuple[str, str]] | None = None) -> DeliveryReport:
    """One look at the folder index: the state of every file on every configured device."""
    already = already or set()
    connections = client.connections()
    completions = {d: client.completion(config.folder_id, d) for d in config.devices
                   if d in connections}
    items: list[DeviceDelivery] = []
    for name in names:
        info = client.file(config.folder_id, name)
        for device in config.devices:
            done = completions.get(device, Completion(0, 0, 0))
            if (name, device) in already or (info is not None and device in info.available_on):
                state = DeliveryState.DELIVERED
            elif info is None:
                state = DeliveryState.NOT_IN_FOLDER
            elif device not in connections:
                state = DeliveryState.UNKNOWN_DEVICE
            elif not connections[device].get("connected"):
                state = DeliveryState.DISCONNECTED
            else:
                state = DeliveryState.SYNCING
            items.append(DeviceDelivery(name, device, state, done.need_items, done.completion))
    return DeliveryReport(tuple(items), completions)


def wait_for_delivery(
    client: SyncthingClient,
    config: SyncthingConfig,
    names: list[str],
    timeout: float,
    scan: bool = True,
    poll: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryReport:
    """Scan, then poll until every file is on every device and completion is 100 %, or until
    `timeout` seconds have passed; the last report says what is still missing and why."""
    started = clock()
    if scan:
        request_scans(client, config, names)
    seen: set[tuple[str, str]] = set()
    while True:
        report = check_once(client, config, names, seen)
        seen.update((i.file, i.device) for i in report.items
                    if i.state == DeliveryState.DELIVERED)
        elapsed = clock() - started
        if report.complete or elapsed >= timeout:
            return DeliveryReport(report.items, report.completions, round(elapsed, 3))
        sleep(min(poll or config.poll_seconds, max(0.0, timeout - elapsed)))
