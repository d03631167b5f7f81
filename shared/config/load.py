"""Read the TOML file and `MEDIACOURIER_*` environment into one validated `Settings`."""

from __future__ import annotations

import dataclasses
import logging
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shared.config.advice import ineffective_settings
from shared.config.checks import (
    check_hosts,
    check_library_targets,
    check_limits,
    check_mirrors,
    check_references,
    check_ssh_targets,
    default_time_limit,
    with_default_schedules,
)
from shared.config.countdowns import bounded_countdowns
from shared.config.flows import check_flows, parse_flows
from shared.config.hosts import parse_hosts
from shared.config.icloud import check_icloud_sources
from shared.config.listen import parse_listen
from shared.config.mirrors import parse_mirrors
from shared.config.notify import parse_notify
from shared.config.overlaps import check_overlaps
from shared.config.reach import check_reached_files
from shared.config.rescan import parse_rescan_target
from shared.config.scrub import check_scrubs, parse_scrubs
from shared.config.sections import (
    folder,
    parse_command_target,
    parse_library,
    parse_schedule,
    parse_source,
)
from shared.config.security import SECTION as _SECURITY
from shared.config.security import parse_security
from shared.config.settings import DEFAULT_DATA_DIR, ENV_PREFIX, Settings
from shared.config.syncthing import check_library_syncthing, parse_syncthing
from shared.config.tables import Table as _Table
from shared.config.targets import parse_rate, parse_targets
from shared.config.web import parse_web
from shared.errors import ConfigError

log = logging.getLogger("mediacourier.config")

def _environment_overrides(raw: dict[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    merged = dict(raw)
    for key in ("redis_url", "data_dir", "key_prefix", "flower_basic_auth", "visibility_timeout",
                "host", "flower_address", "metrics_listen", "web_listen", "web_basic_auth"):
        value = env.get(ENV_PREFIX + key.upper())
        if value is None:
            continue
        if key == "visibility_timeout":
            if not value.isdigit() or int(value) < 1:
                raise ConfigError(f"{ENV_PREFIX}VISIBILITY_TIMEOUT: {value!r} is not a number "
                                  "of seconds (at least 1)")
            merged[key] = int(value)
        else:
            merged[key] = value
    return merged


def default_config(data_dir: Path) -> dict[str, Any]:
    """The zero-configuration set-up: ./mediacourier-data/inbox → ./mediacourier-data/library."""
    return {
        "data_dir": str(data_dir),
        "sources": {"inbox": {"path": str(data_dir / "inbox"), "library": "library"}},
        "libraries": {"library": {"path": str(data_dir / "library")}},
        "schedules": {"inbox": {"every": "1h"}},
    }


def resolve_config_path(cli_path: str | None, env: Mapping[str, str], cwd: Path) -> Path | None:
    if cli_path:
        path = Path(cli_path)
        if not path.is_file():
            raise ConfigError(f"config file {str(path)!r} does not exist")
        return path
    if env.get(ENV_PREFIX + "CONFIG"):
        path = Path(env[ENV_PREFIX + "CONFIG"])
        if not path.is_file():
            raise ConfigError(f"{ENV_PREFIX}CONFIG: config file {str(path)!r} does not exist")
        return path
    candidate = cwd / "mediacourier.toml"
    return candidate if candidate.is_file() else None


def load_settings(
    cli_path: str | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Build and validate the settings once, at start-up."""
    env = os.environ if env is None else env
    cwd = Path.cwd() if cwd is None else cwd
    path = resolve_config_path(cli_path, env, cwd)
    if path is None:
        data_dir = Path(env.get(ENV_PREFIX + "DATA_DIR") or cwd / DEFAULT_DATA_DIR).absolute()
        for sub in ("inbox", "library"):
            (data_dir / sub).mkdir(parents=True, exist_ok=True)
        raw = default_config(data_dir)
    else:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read configuration: {exc}") from exc
    settings = build_settings(_environment_overrides(raw, env), path, cwd)
    for warning in settings.warnings:
        log.warning("%s", warning)
    return settings


def build_settings(raw: dict[str, Any], path: Path | None, cwd: Path) -> Settings:
    name = str(path) if path else "default configuration"
    base = path.parent.absolute() if path else cwd
    top = _Table(raw, name)
    data_dir = folder(top.get("data_dir", DEFAULT_DATA_DIR, str), base, top.at("data_dir"),
                      must_exist=False)
    hosts = parse_hosts(top.get("hosts", {}, dict), top.get("host", "", str), name)
    remote = parse_targets(top.get("targets", {}, dict), base, name)
    libraries = {k: parse_library(k, v, base, name, hosts.must_exist_here("libraries", k), remote)
                 for k, v in top.get("libraries", {}, dict).items()}
    visibility = top.get("visibility_timeout", 3600, int, low=1)
    targets = {k: parse_rescan_target(k, v, name, parse_command_target)
               for k, v in top.get("rescan", {}, dict).items()}
    sources = {k: parse_source(k, v, base, name, hosts.must_exist_here("sources", k))
               for k, v in top.get("sources", {}, dict).items()}
    schedules = {k: parse_schedule(k, v, name) for k, v in top.get("schedules", {}, dict).items()}
    settings = Settings(
        data_dir=data_dir,
        redis_url=top.get("redis_url", "", str),
        key_prefix=top.get("key_prefix", "mediacourier", str),
        sources=sources,
        libraries=libraries,
        rescan_targets=targets,
        schedules=schedules,
        visibility_timeout=visibility,
        restore_interval=top.get("restore_interval", 60, int, low=1),
        lease_seconds=top.get("lease_seconds", 30, int, low=1),
        inflight_timeout=top.get("inflight_timeout", 30, int, low=1),
        task_time_limit=default_time_limit(top.get("task_time_limit", None, int, low=1),
                                           visibility),
        floor_rate=parse_rate(top.get("floor_rate", "10MB/s", (int, str)), top.at("floor_rate")),
        max_retries=top.get("max_retries", 8, int, low=0),
        retry_backoff_max=top.get("retry_backoff_max", 600, int, low=1),
        verify_attempts=top.get("verify_attempts", 3, int, low=1),
        batch_files=top.get("batch_files", 64, int, low=1),
        batch_bytes=top.get("batch_bytes", 256 * 1024 * 1024, int, low=1),
        flower_address=top.get("flower_address", "127.0.0.1", str),
        flower_port=top.get("flower_port", 5555, int, 1, 65535),
        flower_basic_auth=top.get("flower_basic_auth", "", str),
        config_path=path,
        mirrors=parse_mirrors(top, name, base, hosts),
        syncthing=parse_syncthing(top.get("syncthing", None, dict), base, name),
        hosts=hosts,
        metrics_listen=top.get("metrics_listen", "127.0.0.1:9808", str),
        security=parse_security(top.get(_SECURITY, {}, dict), base, name),
        targets=remote,
        scrubs=parse_scrubs(top.get("scrub", {}, dict), name),
        notify=parse_notify(top.get("notify", {}, dict), name),
        web=parse_web(top, base),
        flows=parse_flows(top.get("flows", {}, dict), base, name, sources),
    )
    top.finish()
    check_scrubs(settings.scrubs, settings.libraries, name)
    check_mirrors(settings, name)
    check_library_syncthing(settings.libraries, settings.syncthing, name)
    check_flows(settings.flows, settings.libraries, name)
    if settings.metrics_listen:
        parse_listen(settings.metrics_listen, top.at("metrics_listen"))
    check_references(settings, name)
    check_ssh_targets(settings, name)
    check_reached_files(settings, name)
    check_hosts(settings, name)
    check_library_targets(settings, name)
    check_overlaps(settings, name)
    check_limits(settings, name)
    check_icloud_sources(settings.sources, settings.mirrors, settings.flows,
                         settings.task_time_limit, name)
    settings = bounded_countdowns(settings, name)
    settings = dataclasses.replace(settings, warnings=ineffective_settings(settings, name))
    return with_default_schedules(settings)
