"""The `[rescan.X]` tables: which app a target tells, and where its commands run.

`kind = "command"` (the default) is the generic command target parsed by shared.config.settings; the
app kinds (`nextcloud`, `photoprism`, `immich`) build their commands themselves. Any command
kind runs through an executor: `local`, `docker` (a container by name, label or Swarm
service) or `ssh` (`docker exec` on a host named in `[targets.X]`).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from shared.config.tables import Table, parse_duration, table_at
from shared.errors import ConfigError

KINDS = ("command", "nextcloud", "photoprism", "immich")
EXECUTORS = ("local", "docker", "ssh")
PHOTOPRISM_MODES = ("cli", "api")
EXECUTOR_KEYS = ("executor", "container", "container_label", "service", "docker_url",
                 "ssh_target", "docker_command", "user")
# The web server user of the official Nextcloud image: occ must run as it.
NEXTCLOUD_USER = "www-data"
CONTAINER_NAME = re.compile(r"/?[A-Za-z0-9][A-Za-z0-9_.-]*")  # as `docker run --name` accepts


@dataclass(frozen=True)
class ExecutorConfig:
    kind: str = "local"
    container: str = ""
    container_label: str = ""
    service: str = ""
    docker_url: str = ""
    ssh_target: str = ""
    docker_command: tuple[str, ...] = ("docker",)  # on the SSH host
    user: str = ""

    @property
    def in_container(self) -> bool:
        return bool(self.container or self.container_label or self.service)


@dataclass(frozen=True)
class AppConfig:
    """What the app kinds need; unused fields stay empty."""

    nextcloud_user: str = ""
    files_prefix: str = ""  # the folder under the app's root that the library root maps to
    memories: bool = False
    occ: tuple[str, ...] = ("php", "occ")
    photoprism: tuple[str, ...] = ("photoprism",)
    mode: str = "cli"
    url: str = ""
    token_file: str = ""
    token_env: str = ""
    api_key_file: str = ""
    api_key_env: str = ""
    library_id: str = ""


@dataclass(frozen=True)
class RescanTarget:
    name: str
    command: tuple[str, ...]
    debounce_seconds: float = 10.0
    timeout_seconds: float = 600.0
    max_folders: int = 50
    kind: str = "command"
    executor: ExecutorConfig = ExecutorConfig()
    app: AppConfig = AppConfig()



def parse_rescan_target(key: str, data: Any, name: str,
                        command_target: Callable[[str, Any, str], RescanTarget]) -> RescanTarget:
    """One `[rescan.<key>]` table; `command_target` parses the generic command kind."""

    where = table_at(name, f"rescan.{key}")
    table = Table(data, where)
    kind = table.choice("kind", "command", KINDS)
    executor = _executor(table, where, kind)
    if kind == "command":
        rest = {k: v for k, v in data.items() if k not in ("kind", *EXECUTOR_KEYS)}
        return replace(command_target(key, rest, name), executor=executor)
    app = _app(table, where, kind)
    target = RescanTarget(
        name=key,
        command=(),
        debounce_seconds=parse_duration(table.get("debounce", 10), table.at("debounce")),
        timeout_seconds=parse_duration(table.get("timeout", 600), table.at("timeout"),
                                       positive=True),
        max_folders=table.get("max_folders", 50, int, low=1),
        kind=kind,
        executor=executor,
        app=app,
    )
    table.finish()
    return target


def _executor(table: Table, where: str, kind: str) -> ExecutorConfig:
    via = table.choice("executor", "local", EXECUTORS)
    refs = {k: table.get(k, "", str) for k in ("container", "container_label", "service")}
    default_user = NEXTCLOUD_USER if kind == "nextcloud" else ""
    config = ExecutorConfig(
        kind=via, **refs,
        docker_url=table.get("docker_url", "", str),
        ssh_target=table.get("ssh_target", "", str),
        docker_command=_argv(table, "docker_command", ("docker",)),
        user=table.get("user", default_user, str),
    )
    given = [k for k, v in refs.items() if v]
    if via in ("docker", "ssh") and kind != "immich" and len(given) != 1:
        raise ConfigError(f"{where}: executor = {via!r} needs exactly one of 'container', "
                          "'container_label' or 'service'")
    if via == "local" and given:
        raise ConfigError(f"{table.at(given[0])}: needs executor = 'docker' or 'ssh'")
    if via == "ssh" and not config.ssh_target:
        raise ConfigError(f"{where}: executor = 'ssh' needs 'ssh_target' (a [targets.X] name)")
    if config.container_label.startswith("=") or "=" in config.service:
        raise ConfigError(f"{where}: a label is 'key' or 'key=value', a service a plain name")
    if config.container and not CONTAINER_NAME.fullmatch(config.container):
        # Docker's own rule; it also keeps a name like '--privileged' from being an option.
        raise ConfigError(f"{table.at('container')}: {config.container!r} is not a container name "
                          "(letters, digits, '_', '.', '-'; not starting with '-')")
    return config


def _app(table: Table, where: str, kind: str) -> AppConfig:
    prefix = table.get("files_prefix", "", str).strip("/")
    if ".." in prefix.split("/"):
        raise ConfigError(f"{table.at('files_prefix')}: {prefix!r} must stay inside the app's root")
    if kind == "nextcloud":
        user = table.get("nextcloud_user", None, str)
        if not user or "/" in user or user.startswith("-"):
            raise ConfigError(f"{where}: 'nextcloud_user' (the owner of the files) is required")
        return AppConfig(nextcloud_user=user, files_prefix=prefix,
                         memories=table.get("memories", False, bool),
                         occ=_argv(table, "occ", ("php", "occ")))
    if kind == "photoprism":
        mode = table.choice("mode", "cli", PHOTOPRISM_MODES)
        app = AppConfig(files_prefix=prefix, mode=mode,
                        photoprism=_argv(table, "photoprism", ("photoprism",)),
                        url=table.get("url", "", str),
                        token_file=table.get("token_file", "", str),
                        token_env=table.get("token_env", "", str))
        if mode == "api" and not (app.url and (app.token_file or app.token_env)):
            raise ConfigError(f"{where}: mode = 'api' needs 'url' and 'token_file' or "
                              "'token_env'")
        return app
    app = AppConfig(url=table.get("url", "", str), api_key_file=table.get("api_key_file", "", str),
                    api_key_env=table.get("api_key_env", "", str),
                    library_id=table.get("library_id", "", str))
    if not (app.url and (app.api_key_file or app.api_key_env) and app.library_id):
        raise ConfigError(f"{where}: kind = 'immich' needs 'url', 'api_key_file' or "
                          "'api_key_env', and 'library_id'")
    return app


def _argv(table: Table, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    value = table.get(key, None, list)
    if value is None:
        return default
    if not value or not all(isinstance(part, str) and part for part in value):
        raise ConfigError(f"{table.at(key)}: expected a non-empty list of strings")
    return tuple(value)


def app_path(prefix: str, rel: str) -> str:
    """The folder as the app sees it, relative to its root ('' is the root itself)."""
    joined = posixpath.normpath(posixpath.join(prefix, rel)) if (prefix or rel) else ""
    return "" if joined == "." else joined
