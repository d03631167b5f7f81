"""`[mirrors.NAME]` tables: which local tree is kept exact on which target, and its guard."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.config.tables import Table, parse_duration
from shared.errors import ConfigError


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


def parse_mirrors(top: Table, name: str, base: Path) -> dict[str, MirrorConfig]:
    return {k: _mirror(k, v, name, base) for k, v in top.get("mirrors", {}, dict).items()}


def _mirror(key: str, data: Any, name: str, base: Path) -> MirrorConfig:
    where = f"{name}: mirrors.{key}"
    table = Table(data, where)
    library = table.get("library", None, str)
    source_path = table.get("source_path", None, str)
    target = table.get("target", None, str)
    if (library is None) == (source_path is None):
        raise ConfigError(f"{where}: give exactly one of 'library' or 'source_path'")
    if not target:
        raise ConfigError(f"{where}: 'target' is required")
    max_delete = table.get("max_delete", 50, int)
    share = table.get("max_delete_share", 0.1, (int, float))
    if max_delete < 0 or not 0 <= share <= 1:
        raise ConfigError(f"{where}: max_delete must be >= 0 and max_delete_share in 0..1")
    cron, every = table.get("schedule", None, str), table.get("every")
    if cron is not None and every is not None:
        raise ConfigError(f"{where}: give at most one of 'schedule' or 'every'")
    if cron is not None:
        from croniter import croniter

        if len(cron.split()) != 5 or not croniter.is_valid(cron):
            raise ConfigError(f"{where}.schedule: {cron!r} is not a valid five-field cron "
                              "expression")
    path = None
    if source_path is not None:
        path = Path(os.path.abspath(base / os.path.expanduser(source_path)))
        if not path.is_dir():
            raise ConfigError(f"{where}.source_path: folder {str(path)!r} does not exist")
    mirror = MirrorConfig(
        name=key, target=target, library=library, source_path=path,
        exclude=table.strings("exclude"), max_delete=max_delete,
        max_delete_share=float(share), cron=cron,
        every_seconds=parse_duration(every, f"{where}.every") if every is not None else None,
        modify_window=parse_duration(table.get("modify_window", 2.0), f"{where}.modify_window"),
    )
    table.finish()
    return mirror
