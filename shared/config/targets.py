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

from shared.config.tables import Table
from shared.errors import ConfigError
from shared.robocopy import parse_robocopy_target

KINDS = ("local", "sftp", "rsync", "robocopy")
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
        raise ConfigError(f"{where}: {value!r} is not a rate (e.g. '20MB/s', '500KiB/s', 0)")
    return int(float(match.group(1)) * _UNITS[unit])


def _file(value: str | None, base: Path, where: str) -> Path | None:
    if not value:
        return None
    path = Path(os.path.abspath(base / os.path.expanduser(value)))
    if not path.is_file():
        raise ConfigError(f"{where}: file {str(path)!r} does not exist")
    return path


def parse_target(key: str, data: Any, base: Path, name: str) -> TargetConfig:
    where = f"{name}: targets.{key}"
    table = Table(data, where)
    kind = table.get("kind", None, str)
    if kind is None:
        raise ConfigError(f"{where}: 'kind' is required (one of {', '.join(KINDS)})")
    kind = table.choice("kind", kind, KINDS)
    if kind == "robocopy":  # its own keys: robocopy runs on a Windows worker, not over SSH

        robocopy = parse_robocopy_target(key, data, name)
        return TargetConfig(name=key, kind=kind, root=robocopy.root, parallel=1,
                            robocopy=robocopy)
    root = table.get("root", None, str)
    if not root:
        raise ConfigError(f"{where}: 'root' is required")
    host = table.get("host", "", str)
    port = table.get("port", 22, int)
    target = TargetConfig(
        name=key, kind=kind, host=host, port=port, user=table.get("user", "", str),
        key_file=_file(table.get("key_file", None, str), base, f"{where}.key_file"),
        known_hosts=_file(table.get("known_hosts", "~/.ssh/known_hosts" if host else None,
                                    str), base, f"{where}.known_hosts"),
        root=root if host or kind == "robocopy" else os.path.abspath(base / root),
        parallel=table.get("parallel", 4, int),
        bandwidth_limit=parse_rate(table.get("bandwidth_limit", 0, (int, str)),
                                   f"{where}.bandwidth_limit"),
        timeout=float(table.get("timeout", 15, (int, float))),
    )
    table.finish()
    _check(target, where)
    return target


def _check(target: TargetConfig, where: str) -> None:
    if not 0 < target.port < 65536:
        raise ConfigError(f"{where}.port: {target.port} is not a TCP port")
    if not 1 <= target.parallel <= 64:
        raise ConfigError(f"{where}.parallel: {target.parallel} is not between 1 and 64")
    if target.timeout <= 0:
        raise ConfigError(f"{where}.timeout: must be above 0")
    if target.kind == "sftp" and not target.host:
        raise ConfigError(f"{where}: kind 'sftp' needs 'host'")
    if target.over_ssh:
        if not target.user:
            raise ConfigError(f"{where}: 'user' is required for kind {target.kind!r}")
        if target.key_file is None:
            raise ConfigError(f"{where}: 'key_file' is required for kind {target.kind!r} "
                              "(the private key; passwords are not supported)")
        if not posixpath.isabs(target.root):
            raise ConfigError(f"{where}.root: {target.root!r} must be an absolute path")
    elif target.kind in ("local", "rsync"):
        for key in ("user", "key_file"):
            if getattr(target, key):
                raise ConfigError(f"{where}.{key}: only for targets with a 'host'")


def parse_targets(raw: Mapping[str, Any], base: Path, name: str) -> dict[str, TargetConfig]:
    return {key: parse_target(key, value, base, name) for key, value in raw.items()}


def library_path_on_target(target: TargetConfig, path: str) -> Path:
    """A library's `path` on its target: absolute as written, else under the target's root."""
    return Path(posixpath.normpath(posixpath.join(target.root, path)))
