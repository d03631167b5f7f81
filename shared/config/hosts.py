"""`[hosts.NAME]`: which machine reaches which sources, libraries and rescan targets.

With no `[hosts]` table everything runs on one default queue, as before. With hosts, every task
is routed to a machine that can reach its files (see shared/config/queues.py for the queue names).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.config.tables import Table, table_at
from shared.errors import ConfigError

HOST_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}")
REACH_KEYS = ("sources", "libraries", "rescan", "targets", "mirrors")


@dataclass(frozen=True)
class HostConfig:
    """One machine (or one group of identical machines) running workers under one name."""

    name: str
    sources: tuple[str, ...] = ()
    libraries: tuple[str, ...] = ()
    rescan: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()
    mirrors: tuple[str, ...] = ()
    shared: bool = True  # also takes the tasks that can run anywhere

    def reaches(self, kind: str, name: str) -> bool:
        return name in getattr(self, kind)


@dataclass(frozen=True)
class HostsConfig:
    """The `[hosts.*]` tables, and which of them this machine is (`host`, MEDIACOURIER_HOST)."""

    table: Mapping[str, HostConfig] = field(default_factory=dict)
    local: str = ""

    def __bool__(self) -> bool:
        return bool(self.table)

    def __iter__(self) -> Iterator[str]:
        return iter(self.table)

    def __contains__(self, name: object) -> bool:
        return name in self.table

    def __getitem__(self, name: str) -> HostConfig:
        return self.table[name]

    def values(self) -> Iterator[HostConfig]:
        return iter(self.table.values())

    def first_reaching(self, **needs: str) -> HostConfig | None:
        """The first host, in file order, that reaches all of `needs` (kind=name)."""
        for host in self.table.values():
            if all(host.reaches(kind, name) for kind, name in needs.items()):
                return host
        return None

    def must_exist_here(self, kind: str, name: str) -> bool:
        """Whether this machine must see a folder: always, unless it is a named host that
        does not list it (a NAS need not have the upload server's inbox)."""
        if not self.table or not self.local:
            return True
        return self.table[self.local].reaches(kind, name)


def parse_hosts(data: Any, local: str, name: str) -> HostsConfig:
    """Read `[hosts.*]`; `local` is the top-level `host` key (or MEDIACOURIER_HOST)."""
    if not isinstance(data, dict):
        raise ConfigError(f"{name}: hosts: expected a table of [hosts.NAME] tables")
    table = {key: _host(key, value, name) for key, value in data.items()}
    if local and local not in table:
        known = ", ".join(table) or "none configured"
        raise ConfigError(f"{name}: host: no [hosts.{local}] table (hosts: {known})")
    return HostsConfig(table, local)


def _host(key: str, data: Any, name: str) -> HostConfig:
    where = table_at(name, f"hosts.{key}")
    if not HOST_NAME.fullmatch(key):
        raise ConfigError(f"{where}: a host name may use letters, digits, '-' and '_' only "
                          "(it becomes part of queue and worker names)")
    values = Table(data, where)
    reach = {kind: values.strings(kind) for kind in REACH_KEYS}
    host = HostConfig(name=key, shared=values.get("shared", True, bool), **reach)
    values.finish()
    return host
