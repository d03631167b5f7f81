"""From a target's name to the object that writes to it: a mirror Destination, or the
TransferBackend a library on that target is placed with. Target health goes to the store, and
the target's bandwidth limit is shared through it by every process uploading there."""

from __future__ import annotations

from pathlib import Path

from shared.config import Settings
from shared.errors import ConfigError, TargetUnreachable
from shared.remote.bandwidth_redis import bandwidth_for
from shared.remote.session_pool import HealthHook
from shared.remote.sftp_destination import KINDS, SftpDestination
from shared.remote.transfer import RemoteTransfer
from shared.state import RedisStateStore
from shared.transfer import Destination, LocalDestination


def health_hook(store: RedisStateStore | None, name: str) -> HealthHook | None:
    if store is None:
        return None
    return lambda healthy, reason: store.mark_target(name, healthy, reason)


def _ssh_destination(settings: Settings, name: str,
                     store: RedisStateStore | None) -> SftpDestination:
    try:
        target = settings.targets[name]
    except KeyError:
        raise ConfigError(f"no target named {name!r}; configured: "
                          f"{', '.join(settings.targets) or 'none'}") from None
    if not target.over_ssh:
        raise ConfigError(f"target {name!r} ({target.kind}) is not reached over SSH")
    return KINDS[target.kind](target, health_hook(store, name), bandwidth_for(target, store))


def open_destination(settings: Settings, name: str,
                     store: RedisStateStore | None = None) -> Destination:
    """The mirror Destination for a [targets.NAME]: a folder here (local, or rsync without a
    host), or a host over SSH (sftp, rsync). A robocopy target is mirrored by robocopy itself."""
    target = settings.targets.get(name)
    if target is None:
        raise ConfigError(f"no target named {name!r}; configured: "
                          f"{', '.join(settings.targets) or 'none'}")
    if target.kind == "robocopy":
        raise ConfigError(f"targets.{name}: a robocopy target is mirrored by robocopy itself "
                          "on its Windows worker, not file by file")
    if target.kind == "local" or (target.kind == "rsync" and not target.host):
        if not Path(target.root).is_dir():
            # Never created here: an unmounted backup disk must not turn into a folder on the
            # system disk that then receives the whole mirror.
            raise TargetUnreachable(f"targets.{name}: folder {str(target.root)!r} does not "
                                    "exist (not mounted?)")
        return LocalDestination(Path(target.root), name=name)
    return _ssh_destination(settings, name, store)


def parallel_of(settings: Settings, name: str) -> int:
    """How many transfers a mirror runs at once to the target `name`."""
    return max(1, settings.targets[name].parallel)


def transfer_backend(settings: Settings, name: str,
                     store: RedisStateStore | None = None) -> RemoteTransfer:
    """The TransferBackend for libraries that live on the SSH target `name`."""

    return RemoteTransfer(_ssh_destination(settings, name, store))
