"""`mediacourier doctor` lines for each `[syncthing.X]`: API, key, folder, and every device."""

from __future__ import annotations

from collections.abc import Callable

from shared.config import Settings, SyncthingConfig
from shared.delivery import SyncthingClient

Check = tuple[str, Callable[[], str]]


def syncthing_checks(settings: Settings) -> list[Check]:
    checks: list[Check] = []
    for config in settings.syncthing.values():
        name = f"syncthing {config.name}"
        checks += [(f"{name} api", lambda c=config: _reachable(c)),
                   (f"{name} key", lambda c=config: _key(c)),
                   (f"{name} folder", lambda c=config: _folder(c))]
        checks += [(f"{name} device {device[:7]}", lambda c=config, d=device: _device(c, d))
                   for device in config.devices]
    return checks


def _client(config: SyncthingConfig) -> SyncthingClient:
    return SyncthingClient(config.url, config.api_key(), timeout=5)


def _reachable(config: SyncthingConfig) -> str:
    if not SyncthingClient(config.url, "", timeout=5).reachable():
        raise ConnectionError(f"{config.url} does not answer: is Syncthing running, and is this "
                              "its GUI/REST address?")
    return f"{config.url} answers"


def _key(config: SyncthingConfig) -> str:
    _client(config).ping()
    return "API key accepted"


def _folder(config: SyncthingConfig) -> str:
    folder = _client(config).folder_config(config.folder_id)
    if folder is None:
        raise LookupError(f"Syncthing has no folder with ID {config.folder_id!r} (the ID is "
                          "shown under the folder's Edit > General)")
    shared = len(folder.get("devices") or [])
    return (f"folder {config.folder_id!r} known (Syncthing's path {folder.get('path', '?')}, "
            f"{shared} device(s))")


def _device(config: SyncthingConfig, device: str) -> str:
    client = _client(config)
    connection = client.connections().get(device)
    if connection is None:
        raise LookupError(f"{device} is not a device of this Syncthing: add it, or fix the ID")
    folder = client.folder_config(config.folder_id) or {}
    if device not in {d.get("deviceID") for d in folder.get("devices") or []}:
        raise LookupError(f"folder {config.folder_id!r} is not shared with {device[:7]}")
    if connection.get("paused"):
        return "known, PAUSED in Syncthing: deliveries wait until it is resumed"
    if connection.get("connected"):
        return f"known, connected ({connection.get('address', '')})"
    return "known, NOT connected now: deliveries wait until it is back"
