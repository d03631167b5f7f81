"""Where a mirror's `target` leads: a `Destination` (shared/targets.py), and how many
transfers it takes at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shared.destinations import Destination, LocalDestination
from shared.errors import ConfigError, TargetUnreachable


def open_destination(settings: Any, target_name: str, store: Any = None) -> Destination:
    target = settings.targets.get(target_name)
    if target is None:
        raise ConfigError(f"no target named {target_name!r}; configured: "
                          f"{', '.join(settings.targets) or 'none'}")
    if target.kind == "robocopy":
        raise ConfigError(f"targets.{target_name}: a robocopy target is mirrored by robocopy "
                          "itself on its Windows worker, not file by file")
    if target.kind == "local" or (target.kind == "rsync" and not target.host):
        if not Path(target.root).is_dir():
            # Never created here: an unmounted backup disk must not turn into a folder on the
            # system disk that then receives the whole mirror.
            raise TargetUnreachable(f"targets.{target_name}: folder {str(target.root)!r} does "
                                    "not exist (not mounted?)")
        return LocalDestination(Path(target.root), name=target_name)
    from shared.targets import open_destination as open_remote

    return open_remote(settings, target_name, store)


def parallel_of(settings: Any, target_name: str) -> int:
    return max(1, settings.targets[target_name].parallel)
