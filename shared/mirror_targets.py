"""Where a mirror's `target` leads: a `Destination`.

A stand-in until the full `[targets.NAME]` support (shared/targets.py: sftp, rsync, robocopy)
is merged: it parses local folder targets only, and defers to shared.targets when present.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.config_tables import Table
from shared.destinations import Destination, LocalDestination
from shared.errors import ConfigError, TargetUnreachable


@dataclass(frozen=True)
class LocalTargetConfig:
    name: str
    root: Path
    kind: str = "local"
    parallel: int = 4


def parse_local_targets(top: Table, name: str, base: Path) -> dict[str, Any]:
    return {k: _target(k, v, name, base) for k, v in top.get("targets", {}, dict).items()}


def _target(key: str, data: Any, name: str, base: Path) -> LocalTargetConfig:
    where = f"{name}: targets.{key}"
    table = Table(data, where)
    kind = table.choice("kind", "local", ("local",))
    root = table.get("root", None, str)
    if not root:
        raise ConfigError(f"{where}: 'root' is required")
    parallel = table.get("parallel", 4, int)
    if not 1 <= parallel <= 64:
        raise ConfigError(f"{where}.parallel: {parallel} is not between 1 and 64")
    table.finish()
    path = Path(os.path.abspath(base / os.path.expanduser(root)))
    return LocalTargetConfig(name=key, root=path, kind=kind, parallel=parallel)


def open_destination(settings: Any, target_name: str) -> Destination:
    try:
        from shared.targets import open_destination as open_any  # type: ignore[import-not-found]
    except ImportError:
        open_any = None
    if open_any is not None:
        return open_any(settings, target_name)
    target = settings.targets[target_name]
    if target.kind != "local":
        raise ConfigError(f"targets.{target_name}: kind {target.kind!r} is not supported here")
    if not Path(target.root).is_dir():
        # Never created here: an unmounted backup disk must not turn into a folder on the
        # system disk that then receives the whole mirror.
        raise TargetUnreachable(f"targets.{target_name}: folder {str(target.root)!r} does not "
                                "exist (not mounted?)")
    return LocalDestination(Path(target.root), name=target_name)


def parallel_of(settings: Any, target_name: str) -> int:
    return max(1, int(getattr(settings.targets[target_name], "parallel", 4)))
