"""Checks across a whole configuration, and the defaults that depend on other settings."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from shared.errors import ConfigError

if TYPE_CHECKING:
    from shared.config import Settings


def check_references(settings: Settings, name: str) -> None:
    for source in settings.sources.values():
        if source.library not in settings.libraries:
            raise ConfigError(
                f"{name}: sources.{source.name}.library: no library named {source.library!r}"
            )
    for library in settings.libraries.values():
        for target in library.rescan:
            if target not in settings.rescan_targets:
                raise ConfigError(
                    f"{name}: libraries.{library.name}.rescan: no rescan target named {target!r}"
                )
    for key in settings.schedules:
        if key not in settings.sources:
            raise ConfigError(f"{name}: schedules.{key}: no source named {key!r}")


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def check_limits(settings: Settings, name: str) -> None:
    if settings.task_time_limit >= settings.visibility_timeout:
        raise ConfigError(
            f"{name}: task_time_limit ({settings.task_time_limit}) must be below "
            f"visibility_timeout ({settings.visibility_timeout}), or a running task is "
            "delivered a second time")
    if settings.flower_address not in LOOPBACK and not settings.flower_basic_auth:
        raise ConfigError(
            f"{name}: flower_address {settings.flower_address!r} is not loopback: set "
            "flower_basic_auth (or MEDIACOURIER_FLOWER_BASIC_AUTH) as 'user:password'")


def default_time_limit(configured: int | None, visibility_timeout: int) -> int:
    """30 minutes, or three quarters of a shorter visibility timeout, unless configured."""
    if configured is not None:
        return configured
    return max(1, min(1800, visibility_timeout * 3 // 4))


def with_default_schedules(settings: Settings) -> Settings:
    """Every source is reconciled hourly unless its schedule says otherwise: the backstop
    for events the watcher missed (a restart, an inotify overflow, a network share)."""
    from shared.config import Schedule  # config imports this module at load time

    schedules = dict(settings.schedules)
    for source in settings.sources:
        schedules.setdefault(source, Schedule(source=source, every_seconds=3600.0))
    return dataclasses.replace(settings, schedules=schedules)
