"""What this machine reaches, and so which files and folders it must have.

A named host (`host = "nas"`, MEDIACOURIER_HOST, `--host nas`) runs only the work routed to it
(shared/config/queues.py): it needs the SSH key and known_hosts of a target only when it writes
to that target, runs a mirror onto it or a rescan over it. Without a named host, every file is
checked: the command may run anything.
"""

from __future__ import annotations

from shared.config.settings import Settings
from shared.config.targets import check_target_files


def reached_targets(settings: Settings, host: str) -> set[str]:
    """The `[targets.*]` host `host` uses: listed, or behind a library, mirror or rescan it
    lists."""
    here = settings.hosts[host]
    names = set(here.targets)
    names |= {lib.target for key, lib in settings.libraries.items()
              if lib.target and here.reaches("libraries", key)}
    names |= {m.target for key, m in settings.mirrors.items() if here.reaches("mirrors", key)}
    names |= {t.executor.ssh_target for key, t in settings.rescan_targets.items()
              if t.executor.kind == "ssh" and here.reaches("rescan", key)}
    return names & set(settings.targets)


def reaches_library(settings: Settings, host: str, library: str) -> bool:
    """Whether `host` writes to a library: it lists it, or the target the library lives on."""
    here = settings.hosts[host]
    target = settings.libraries[library].target
    return here.reaches("libraries", library) or bool(target and here.reaches("targets", target))


def local_targets(settings: Settings) -> set[str]:
    """The targets this machine uses: all of them unless it is a named host."""
    if not settings.hosts or not settings.hosts.local:
        return set(settings.targets)
    return reached_targets(settings, settings.hosts.local)


def check_reached_files(settings: Settings, name: str) -> None:
    """The key files of every target this machine uses exist (and only of those)."""
    for target in sorted(local_targets(settings)):
        check_target_files(settings.targets[target], name)
