"""`[targets.NAME]` tables: where libraries and mirrors can live besides the local disk.

```toml
[targets.nas]
kind = "sftp"                       # "local" | "sftp" | "rsync" | "robocopy"
host = "nas.lan"
port = 22
user = "photos"
key_file = "~/.ssh/id_ed25519"      # a file: secrets never sit in the configuration itself
known_hosts = "~/.ssh/known_hosts"  # the host key must be in it: never accepted blindly
root = "/volume1/photo"
parallel = 4
bandwidth_limit = "20MB/s"          # the whole target: every worker process and host
```
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.config.backups import BACKUP_KINDS, backup_root, parse_backup
from shared.config.tables import Table, key_at, table_at, toml_text
from shared.errors import ConfigError
from shared.robocopy import parse_robocopy_target

KINDS = ("local", "sftp", "rsync", "robocopy", *BACKUP_KINDS)
SSH_KINDS = ("sftp", "rsync")
_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1024, "m": 1000**2, "mb": 1000**2,
          "mib": 1024**2, "g": 1000**3, "gb": 1000**3, "gib": 1024**3}


@dataclass(frozen=True)
class TargetConfig:
    """One named destination. `root` is a path on the target (a local path for kind local)."""

    name: str
    kind: str
    root: str
    host: str = ""
    port: int = 22
    user: str = ""
    key_file: Path | None = None
    known_hosts: Path | None = None
    parallel: int = 4
    bandwidth_limit: int = 0  # bytes per second; 0: unlimited
    timeout: float = 15.0
    robocopy: Any = None  # kind "robocopy": its RobocopyTarget (shared/robocopy/target.py)
    backup: Any = None  # kind "restic" / "rclone": its settings (shared/config/backups.py)

    @property
    def over_ssh(self) -> bool:
        return self.kind in SSH_KINDS and bool(self.host)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def __repr__(self) -> str:  # no secrets in it, but keep logs short and stable
        return f"TargetConfig({self.name!r}, {self.kind}, {self.user}@{self.address}:{self.root})"


def parse_rate(value: Any, where: str) -> int:
    """Bytes per second from 2000000, "20MB/s", "500 KiB/s", "1.5M"; 0 means unlimited."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*(?:/s)?\s*", str(value))
    unit = match.group(2).lower() if match else ""
    if not match or unit not in _UNITS:
        raise ConfigError(f"{where}: {toml_text(value)} is not a rate "
                          '(use e.g. "20MB/s", "500KiB/s", or 0)')
    return int(float(match.group(1)) * _UNITS[unit])


def _file(value: str | None, base: Path) -> Path | None:
    if not value:
        return None
    return Path(os.path.abspath(base / os.path.expanduser(value)))


def check_file(path: Path, where: str) -> None:
    """ConfigError unless `path` is a file: a folder there is named as such, not as missing."""
    if path.is_file():
        return
    if path.is_dir():
        raise ConfigError(f"{where}: {str(path)!r} is a folder, not a file")
    raise ConfigError(f"{where}: file {str(path)!r} does not exist")


def check_target_files(target: TargetConfig, name: str) -> None:
    """The SSH key and known_hosts of a target exist: checked only on a machine that uses
    the target (a NAS worker needs no key for the NAS itself)."""
    where = table_at(name, f"targets.{target.name}")
    for key in ("key_file", "known_hosts"):
        path = getattr(target, key)
        if path is not None:
            check_file(path, key_at(where, key))


def parse_target(key: str, data: Any, base: Path, name: str) -> TargetConfig:
    where = table_at(name, f"targets.{key}")
    table = Table(data, where)
    kind = table.get("kind", None, str)
    if kind is None:
        raise ConfigError(f"{where}: 'kind' is required (one of {', '.join(KINDS)})")
    kind = table.choice("kind", kind, KINDS)
    if kind == "robocopy":  # its own keys: robocopy runs on a Windows worker, not over SSH

        robocopy = parse_robocopy_target(key, data, name)
        return TargetConfig(name=key, kind=kind, root=robocopy.root, parallel=1,
                            robocopy=robocopy)
    if kind in BACKUP_KINDS:  # a backup repository: its own keys, written to by restic/rclone
        backup = parse_backup(key, kind, data, where, base)
        return TargetConfig(name=key, kind=kind, root=backup_root(backup), parallel=1,
                            backup=backup)
    root = table.get("root", None, str)
    if not root:
        raise ConfigError(f"{where}: 'root' is required")
    host = table.get("host", "", str)
    port = table.get("port", 22, int, 1, 65535)
    timeout = table.get("timeout", 15, (int, float))
    if timeout <= 0:
        raise ConfigError(f"{table.at('timeout')}: {toml_text(timeout)} must be above 0 "
                          "(seconds)")
    target = TargetConfig(
        name=key, kind=kind, host=host, port=port, user=table.get("user", "", str),
        key_file=_file(table.get("key_file", None, str), base),
        known_hosts=_file(table.get("known_hosts", "~/.ssh/known_hosts" if host else None,
                                    str), base),
        root=root if host or kind == "robocopy" else os.path.abspath(base / root),
        parallel=table.get("parallel", 4, int, 1, 64),
        bandwidth_limit=parse_rate(table.get("bandwidth_limit", 0, (int, str)),
                                   table.at("bandwidth_limit")),
        timeout=float(timeout),
    )
    table.finish()
    _check(target, where)
    return target


def _check(target: TargetConfig, where: str) -> None:
    if target.kind == "sftp" and not target.host:
        raise ConfigError(f"{where}: kind 'sftp' needs 'host'")
    if target.over_ssh:
        if not target.user:
            raise ConfigError(f"{where}: 'user' is required for kind {target.kind!r}")
        if target.key_file is None:
            raise ConfigError(f"{where}: 'key_file' is required for kind {target.kind!r} "
                              "(the private key; passwords are not supported)")
        if not posixpath.isabs(target.root):
            raise ConfigError(f"{key_at(where, 'root')}: {target.root!r} must be an absolute "
                              "path")
    elif target.kind in ("local", "rsync"):
        for key in ("user", "key_file"):
            if getattr(target, key):
                raise ConfigError(f"{key_at(where, key)}: only for targets with a 'host'")


def parse_targets(raw: Mapping[str, Any], base: Path, name: str) -> dict[str, TargetConfig]:
    return {key: parse_target(key, value, base, name) for key, value in raw.items()}


def library_path_on_target(target: TargetConfig, path: str) -> Path:
    """A library's `path` on its target: absolute as written, else under the target's root."""
    return Path(posixpath.normpath(posixpath.join(target.root, path)))
