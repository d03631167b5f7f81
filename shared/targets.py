"""From a target's name to the object that writes to it: a mirror Destination, or the
TransferBackend a library on that target is placed with. Target health goes to the store, and
the target's bandwidth limit is shared through it by every process uploading there."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.bandwidth_redis import bandwidth_for
from shared.errors import ConfigError
from shared.sftp_destination import KINDS, SftpDestination
from shared.sftp_session import HealthHook

if TYPE_CHECKING:
    from shared.config import Settings
    from shared.destinations import Destination
    from shared.remote_transfer import RemoteTransfer
    from shared.store import RedisStateStore


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
    """The mirror Destination for a [targets.NAME] (local, sftp, rsync over SSH)."""
    target = settings.targets.get(name)
    if target is not None and (target.kind == "local" or
                               (target.kind == "rsync" and not target.host)):
        from shared.mirror_targets import open_destination as open_local

        return open_local(settings, name)
    return _ssh_destination(settings, name, store)


def transfer_backend(settings: Settings, name: str,
                     store: RedisStateStore | None = None) -> RemoteTransfer:
    """The TransferBackend for libraries that live on the SSH target `name`."""
    from shared.remote_transfer import RemoteTransfer

    return RemoteTransfer(_ssh_destination(settings, name, store))
