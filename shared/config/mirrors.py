"""`[mirrors.NAME]` tables: which local tree is kept exact on which target, and its guard."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.config.hosts import HostsConfig
from shared.config.sections import check_folder
from shared.config.tables import Table, parse_duration, table_at, toml_text
from shared.errors import ConfigError

CONFLICT_POLICIES = ("report", "keep_master", "keep_backup", "keep_both")


@dataclass(frozen=True)
class MirrorConfig:
    name: str
    target: str
    library: str | None = None
    source_path: Path | None = None
    exclude: tuple[str, ...] = ()
    max_delete: int = 50
    max_delete_share: float = 0.1
    cron: str | None = None
    every_seconds: float | None = None
    # Modification times closer than this count as equal (robocopy /FFT: FAT, Samba, SFTP).
    modify_window: float = 2.0
    # What a run does with a file changed on both sides (shared/mirror/conflicts.py).
    conflicts: str = "report"


def parse_mirrors(top: Table, name: str, base: Path,
                  hosts: HostsConfig | None = None) -> dict[str, MirrorConfig]:
    """The `[mirrors.*]` tables; a `source_path` must exist only on a host that runs it."""
    here = hosts or HostsConfig()
    return {k: _mirror(k, v, name, base, here.must_exist_here("mirrors", k))
            for k, v in top.get("mirrors", {}, dict).items()}


def _mirror(key: str, data: Any, name: str, base: Path, must_exist: bool) -> MirrorConfig:
    where = table_at(name, f"mirrors.{key}")
    table = Table(data, where)
    library = table.get("library", None, str)
    source_path = table.get("source_path", None, str)
    target = table.get("target", None, str)
    if (library is None) == (source_path is None):
        raise ConfigError(f"{where}: give exactly one of 'library' or 'source_path'")
    if not target:
        raise ConfigError(f"{where}: 'target' is required")
    max_delete = table.get("max_delete", 50, int, low=0)
    # 0 is meaningful: every deletion waits for --force.
    share = table.get("max_delete_share", 0.1, (int, float), 0, 1)
    cron, every = table.get("schedule", None, str), table.get("every")
    if cron is not None and every is not None:
        raise ConfigError(f"{where}: give at most one of 'schedule' or 'every'")
    if cron is not None:
        from croniter import croniter

        if len(cron.split()) != 5 or not croniter.is_valid(cron):
            raise ConfigError(f"{table.at('schedule')}: {toml_text(cron)} is not a valid "
                              "five-field cron expression")
    path = None
    if source_path is not None:
        path = Path(os.path.abspath(base / os.path.expanduser(source_path)))
        if must_exist:
            check_folder(path, table.at("source_path"))
    mirror = MirrorConfig(
        name=key, target=target, library=library, source_path=path,
        exclude=table.strings("exclude"), max_delete=max_delete,
        max_delete_share=float(share), cron=cron,
        every_seconds=None if every is None else parse_duration(every, table.at("every"),
                                                                positive=True),
        modify_window=parse_duration(table.get("modify_window", 2.0), table.at("modify_window")),
        conflicts=table.choice("conflicts", "report", CONFLICT_POLICIES),
    )
    table.finish()
    return mirror
