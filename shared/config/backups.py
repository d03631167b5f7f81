"""`[targets.NAME]` of kind "restic" or "rclone": backup repositories a mirror can write to.

```toml
[targets.vault]
kind = "restic"
repository = "/mnt/usb/restic"     # a local path, "sftp:/path" (through host/user/key_file/
                                    # known_hosts below), or any restic backend URL ("s3:...")
password_file = "~/.config/mediacourier/restic-password"   # or password_env = "VAR"
compression = "auto"                # "auto" | "max" | "off" (repository format 2)
tags = ["photos"]
keep_daily = 7                      # retention, applied by `forget --prune` on `prune_every`
keep_weekly = 5
keep_monthly = 12
prune_every = "7d"

[targets.cloud]
kind = "rclone"
remote = "b2crypt:"                 # a remote of the rclone config ("name:"), crypt or not
path = "photos"
config_file = "~/.config/rclone/rclone.conf"
```

Passwords are never read into the settings: restic gets `RESTIC_PASSWORD_FILE` or the
variable's value in its environment, when it runs (never on a command line, never logged).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.config.tables import Table, parse_duration, toml_text
from shared.errors import ConfigError

BACKUP_KINDS = ("restic", "rclone")
COMPRESSIONS = ("auto", "max", "off")
KEEPS = ("keep_last", "keep_hourly", "keep_daily", "keep_weekly", "keep_monthly", "keep_yearly")


@dataclass(frozen=True)
class ResticTarget:
    name: str
    repository: str  # as restic takes it: a path, "sftp:user@host:/path", "s3:..."
    password_file: Path | None = None
    password_env: str = ""
    compression: str = "auto"
    tags: tuple[str, ...] = ()
    keep: tuple[tuple[str, int], ...] = ()  # (("keep_daily", 7), ...): forget's policy
    prune_every: float | None = None  # seconds between `forget --prune` runs
    # sftp: the SSH settings restic's `ssh` uses, with the host key checked
    host: str = ""
    port: int = 22
    user: str = ""
    key_file: Path | None = None
    known_hosts: Path | None = None
    timeout: float = 15.0

    @property
    def local(self) -> bool:
        return self.repository.startswith("/")

    def __repr__(self) -> str:  # the password's source only, never a secret
        return f"ResticTarget({self.name!r}, {self.repository!r})"


@dataclass(frozen=True)
class RcloneTarget:
    name: str
    remote: str  # "name:" of the rclone config, or a path rclone reads as a local remote
    path: str = ""
    config_file: Path | None = None

    @property
    def location(self) -> str:
        return f"{self.remote}{self.path}" if self.remote.endswith(":") else \
            os.path.join(self.remote, self.path)


def _file(table: Table, key: str, base: Path, default: str | None = None) -> Path | None:
    value = table.get(key, default, str)
    return Path(os.path.abspath(base / os.path.expanduser(value))) if value else None


def parse_restic(key: str, table: Table, base: Path) -> ResticTarget:
    repository = table.get("repository", None, str)
    if not repository:
        raise ConfigError(f"{table.where}: 'repository' is required for kind 'restic' (a "
                          'path, "sftp:/path" or a restic backend URL)')
    password_file = _file(table, "password_file", base)
    password_env = table.get("password_env", "", str)
    if bool(password_file) == bool(password_env):
        raise ConfigError(f"{table.where}: give exactly one of 'password_file' or "
                          "'password_env' (the repository password never sits in this file)")
    keep = tuple((k, table.get(k, None, int, 1)) for k in KEEPS)
    prune = table.get("prune_every", None, (int, float, str))
    host = table.get("host", "", str)
    target = ResticTarget(
        name=key, repository=repository, password_file=password_file, password_env=password_env,
        compression=table.choice("compression", "auto", COMPRESSIONS),
        tags=table.strings("tags"), keep=tuple((k, n) for k, n in keep if n is not None),
        prune_every=None if prune is None else parse_duration(prune, table.at("prune_every"),
                                                              positive=True),
        host=host, port=table.get("port", 22, int, 1, 65535), user=table.get("user", "", str),
        key_file=_file(table, "key_file", base),
        known_hosts=_file(table, "known_hosts", base, "~/.ssh/known_hosts" if host else None),
        timeout=float(table.get("timeout", 15, (int, float), 1)),
    )
    if "," in "".join(target.tags) or any(not t.strip() for t in target.tags):
        raise ConfigError(f"{table.at('tags')}: {toml_text(list(target.tags))}: a tag is "
                          "not empty and has no comma")
    if target.prune_every is not None and not target.keep:
        raise ConfigError(f"{table.at('prune_every')}: needs a retention policy "
                          f"({', '.join(KEEPS)})")
    return _where(target, table, base)


def _where(target: ResticTarget, table: Table, base: Path) -> ResticTarget:
    """The repository as restic takes it: sftp through the target's SSH settings."""
    repo = target.repository
    if repo.startswith("sftp:"):
        path = repo[len("sftp:"):]
        if not (target.host and target.user and target.key_file):
            raise ConfigError(f"{table.at('repository')}: an sftp repository needs 'host', "
                              "'user' and 'key_file' (the host key is checked in "
                              "'known_hosts')")
        if not path.startswith("/"):
            raise ConfigError(f"{table.at('repository')}: {toml_text(repo)}: give "
                              '"sftp:/absolute/path" (the host comes from \'host\')')
        repo = f"sftp:{target.user}@{target.host}:{path}"
    elif target.host:
        raise ConfigError(f"{table.at('host')}: only for an sftp repository")
    elif ":" not in repo.split("/")[0]:
        repo = os.path.abspath(base / os.path.expanduser(repo))  # a local path
    return ResticTarget(**{**target.__dict__, "repository": repo})


def parse_rclone(key: str, table: Table, base: Path) -> RcloneTarget:
    remote = table.get("remote", None, str)
    if not remote:
        raise ConfigError(f"{table.where}: 'remote' is required for kind 'rclone' (a remote "
                          'of the rclone config, e.g. "b2crypt:")')
    path = table.get("path", "", str)
    if ".." in path.split("/"):
        raise ConfigError(f"{table.at('path')}: {toml_text(path)}: a path inside the remote")
    # Kept absolute when given so: on a local remote ("disk:") that is a folder on the disk.
    return RcloneTarget(name=key, remote=remote, path=path.rstrip("/") or path,
                        config_file=_file(table, "config_file", base))


def parse_backup(key: str, kind: str, data: Any, where: str,
                 base: Path) -> ResticTarget | RcloneTarget:
    """The keys of a restic or rclone target (kind already read by the caller)."""
    table = Table(data, where)
    table.get("kind")
    target = parse_restic(key, table, base) if kind == "restic" else \
        parse_rclone(key, table, base)
    table.finish()
    return target


def backup_root(target: ResticTarget | RcloneTarget) -> str:
    """What stands for the target's `root` in the checks across tables: a local repository's
    folder (so it never overlaps a library), else the URL."""
    return target.repository if isinstance(target, ResticTarget) else target.location
