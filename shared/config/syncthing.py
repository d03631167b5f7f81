"""`[syncthing.X]` tables: which Syncthing shares a library, and which devices must receive it.

```toml
[syncthing.phone]
url = "http://127.0.0.1:8384"      # Syncthing's GUI/REST address
api_key_file = "~/.config/mediacourier/syncthing.key"   # or api_key_env = "SYNCTHING_API_KEY"
folder_id = "photos"               # the folder ID in Syncthing
folder_path = "/srv/photos"        # where that folder is on this machine
devices = ["ABCDEFG-..."]          # device IDs that must have each file
timeout = "10m"                    # how long to wait for delivery before reporting it pending
```
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.config.tables import Table, parse_duration, table_at
from shared.errors import ConfigError
from shared.secrets import read_secret

DEVICE_ID = re.compile(r"^[A-Z2-7]{7}(-[A-Z2-7]{7}){7}$")


@dataclass(frozen=True)
class SyncthingConfig:
    name: str
    url: str
    folder_id: str
    folder_path: Path
    devices: tuple[str, ...]
    api_key_file: str = ""
    api_key_env: str = ""
    timeout_seconds: float = 600.0
    poll_seconds: float = 2.0

    def __repr__(self) -> str:
        return (f"SyncthingConfig(name={self.name!r}, url={self.url!r}, "
                f"folder_id={self.folder_id!r}, devices={self.devices!r})")

    def api_key(self, env: Mapping[str, str] | None = None) -> str:
        """Read at use, never kept in Settings: a rotated key needs no restart, and a key that
        only the workers' hosts hold does not stop other commands (`doctor` reports it)."""
        return read_secret(self.api_key_file or None, self.api_key_env or None,
                           f"syncthing.{self.name}.api_key", env)


def parse_syncthing(raw: Any, base: Path, name: str) -> dict[str, SyncthingConfig]:
    """All `[syncthing.X]` tables of the file `name` (relative paths are relative to `base`)."""
    if raw is None:
        return {}
    top = Table(raw, table_at(name, "syncthing"))
    return {key: _one(key, top.get(key, None, dict), base, name) for key in raw}


def _one(key: str, data: Any, base: Path, name: str) -> SyncthingConfig:
    where = table_at(name, f"syncthing.{key}")
    table = Table(data, where)
    url = table.get("url", "http://127.0.0.1:8384", str)
    if not re.match(r"^https?://[^/\s]+", url):
        raise ConfigError(f"{table.at('url')}: {url!r} is not an http(s) URL")
    folder_id = table.get("folder_id", None, str)
    folder_path = table.get("folder_path", None, str)
    if not folder_id or not folder_path:
        raise ConfigError(f"{where}: 'folder_id' and 'folder_path' are required")
    devices = table.strings("devices")
    if not devices:
        raise ConfigError(f"{table.at('devices')}: list at least one device ID")
    for device in devices:
        if not DEVICE_ID.match(device):
            raise ConfigError(f"{table.at('devices')}: {device!r} is not a Syncthing device ID "
                              "(Actions > Show ID)")
    key_file = table.get("api_key_file", "", str)
    key_env = table.get("api_key_env", "", str)
    if bool(key_file) == bool(key_env):
        raise ConfigError(f"{where}: give exactly one of 'api_key_file' or 'api_key_env'")
    if key_file:
        key_file = str(Path(os.path.abspath(base / os.path.expanduser(key_file))))
    config = SyncthingConfig(
        name=key,
        url=url.rstrip("/"),
        folder_id=folder_id,
        folder_path=Path(os.path.abspath(base / os.path.expanduser(folder_path))),
        devices=tuple(devices),
        api_key_file=key_file,
        api_key_env=key_env,
        timeout_seconds=parse_duration(table.get("timeout", 600), table.at("timeout"),
                                       positive=True),
        poll_seconds=parse_duration(table.get("poll", 2), table.at("poll"), positive=True),
    )
    table.finish()
    return config


def check_library_syncthing(libraries: Mapping[str, Any], syncthing: Mapping[str, Any],
                            name: str) -> None:
    """Every `syncthing = "X"` names a table, and the library lies inside that folder."""
    for library in libraries.values():
        ref = getattr(library, "syncthing", "")
        if not ref:
            continue
        if ref not in syncthing:
            raise ConfigError(f"{name}: [libraries.{library.name}] syncthing: no "
                              f"[syncthing.{ref}] table")
        folder = syncthing[ref].folder_path
        if library.path != folder and folder not in library.path.parents:
            raise ConfigError(f"{name}: [libraries.{library.name}] path: "
                              f"{str(library.path)!r} is not inside [syncthing.{ref}] "
                              f"folder_path {str(folder)!r}")
