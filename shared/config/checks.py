"""Checks across a whole configuration, and the defaults that depend on other settings."""

from __future__ import annotations

import dataclasses

from shared.config.hosts import REACH_KEYS
from shared.config.sections import Schedule
from shared.config.settings import Settings
from shared.config.tables import toml_text
from shared.config.targets import SSH_KINDS
from shared.errors import ConfigError


def check_references(settings: Settings, name: str) -> None:
    for source in settings.sources.values():
        if source.library not in settings.libraries:
            raise ConfigError(f"{name}: [sources.{source.name}] library: no library named "
                              f"{toml_text(source.library)}")
    for library in settings.libraries.values():
        for target in library.rescan:
            if target not in settings.rescan_targets:
                raise ConfigError(f"{name}: [libraries.{library.name}] rescan: no rescan target "
                                  f"named {toml_text(target)}")
    for key in settings.schedules:
        if key not in settings.sources:
            raise ConfigError(f"{name}: [schedules.{key}]: no source named {toml_text(key)}")


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def check_limits(settings: Settings, name: str) -> None:
    for key in ("lease_seconds", "inflight_timeout"):
        if getattr(settings, key) < 1:
            raise ConfigError(f"{name}: {key}: {getattr(settings, key)} must be at least 1 s")
    if settings.floor_rate < 1:
        raise ConfigError(f"{name}: floor_rate must be above 0 (bytes per second, e.g. '10MB/s'): "
                          "every task's time limit grows by the size of its file over it")
    if settings.task_time_limit >= settings.visibility_timeout:
        raise ConfigError(
            f"{name}: task_time_limit ({settings.task_time_limit}) must be below "
            f"visibility_timeout ({settings.visibility_timeout}), or a running task is "
            "delivered a second time")
    if settings.flower_address not in LOOPBACK and not settings.flower_basic_auth:
        raise ConfigError(
            f"{name}: flower_address: {toml_text(settings.flower_address)} is not loopback: set "
            "flower_basic_auth (or MEDIACOURIER_FLOWER_BASIC_AUTH) as 'user:password'")


def default_time_limit(configured: int | None, visibility_timeout: int) -> int:
    """30 minutes, or three quarters of a shorter visibility timeout, unless configured."""
    if configured is not None:
        return configured
    return max(1, min(1800, visibility_timeout * 3 // 4))


def with_default_schedules(settings: Settings) -> Settings:
    """Every source is reconciled hourly unless its schedule says otherwise: the backstop
    for events the watcher missed (a restart, an inotify overflow, a network share)."""
    schedules = dict(settings.schedules)
    for source in settings.sources:
        schedules.setdefault(source, Schedule(source=source, every_seconds=3600.0))
    return dataclasses.replace(settings, schedules=schedules)


def check_hosts(settings: Settings, name: str) -> None:
    """Every name a host lists exists; every source and rescan target has a host to run on."""
    hosts = settings.hosts
    if not hosts:
        return
    known = {"sources": settings.sources, "libraries": settings.libraries,
             "rescan": settings.rescan_targets, "targets": settings.targets,
             "mirrors": settings.mirrors}
    for host in hosts.values():
        for kind in REACH_KEYS:
            for item in getattr(host, kind):
                if known[kind] is not None and item not in known[kind]:
                    raise ConfigError(f"{name}: [hosts.{host.name}] {kind}: no [{kind}.*] "
                                      f"entry named {toml_text(item)}")
    for source in settings.sources.values():
        if hosts.first_reaching(sources=source.name) is None:
            raise ConfigError(f"{name}: [sources.{source.name}]: no [hosts.*] table lists it "
                              "in 'sources', so no worker could reach its files")
        target = settings.libraries[source.library].target
        reach = {"targets": target} if target else {"libraries": source.library}
        if hosts.first_reaching(sources=source.name, **reach) is None:
            what = f"target {target!r}" if target else f"library {source.library!r}"
            raise ConfigError(f"{name}: [sources.{source.name}]: no [hosts.*] table lists both "
                              f"it and its {what}, so no worker could copy its files")
    for library in settings.libraries.values():
        for target in library.rescan:
            if hosts.first_reaching(rescan=target) is None:
                raise ConfigError(f"{name}: [rescan.{target}]: no [hosts.*] table lists it in "
                                  "'rescan', so no worker could run it")
    if not any(host.shared for host in hosts.values()):
        raise ConfigError(f"{name}: hosts: every host says shared = false; at least one must "
                          "take the tasks that can run anywhere")


def check_mirrors(settings: Settings, name: str) -> None:
    """Every mirror names a configured library and target."""
    targets = settings.targets
    for mirror in settings.mirrors.values():
        if mirror.library is not None and mirror.library not in settings.libraries:
            raise ConfigError(f"{name}: [mirrors.{mirror.name}] library: no library named "
                              f"{toml_text(mirror.library)}")
        if mirror.target not in targets:
            raise ConfigError(f"{name}: [mirrors.{mirror.name}] target: no target named "
                              f"{toml_text(mirror.target)}")
        option_like = [p for p in mirror.exclude if p.lstrip().startswith("/")]
        if targets[mirror.target].kind == "robocopy" and option_like:
            # robocopy has no `--`: an argument starting with '/' is one of its options.
            raise ConfigError(f"{name}: [mirrors.{mirror.name}] exclude: {option_like[0]!r} "
                              "starts with '/': robocopy would read it as an option")


def check_library_targets(settings: Settings, name: str) -> None:
    for library in settings.libraries.values():
        target = library.target
        if target and target not in settings.targets:
            raise ConfigError(f"{name}: [libraries.{library.name}] target: no target named "
                              f"{toml_text(target)}")
        if target and settings.targets[target].kind not in ("local", *SSH_KINDS):
            raise ConfigError(f"{name}: [libraries.{library.name}] target: a library cannot live "
                              f"on a {settings.targets[target].kind!r} target")


def check_ssh_targets(settings: Settings, name: str) -> None:
    """`ssh_target` must name a `[targets.X]` that has an SSH host."""
    hosts = settings.targets
    for target in settings.rescan_targets.values():
        wanted = target.executor.ssh_target
        if target.executor.kind != "ssh":
            continue
        if wanted not in hosts:
            raise ConfigError(f"{name}: [rescan.{target.name}] ssh_target: no target named "
                              f"{toml_text(wanted)}")
        if not getattr(hosts[wanted], "host", ""):
            raise ConfigError(f"{name}: [rescan.{target.name}] ssh_target: target {wanted!r} "
                              "has no SSH host")
