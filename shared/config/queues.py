"""Queue names derived from `[hosts.*]`, and which queue each task goes to.

Without hosts there is one queue, `<key_prefix>`. With hosts:
  <key_prefix>                 shared: tasks that only touch Redis (manual ingest, rescan requests,
                               recording outcomes) and any task not listed in NEEDS
  <key_prefix>.<host>.files    tasks that read or write a source's files (and its library)
  <key_prefix>.<host>.rescan   rescan commands, on the host that lists the rescan target
The shared queue keeps the single-host name, so a one-box set-up that grows a second host keeps
its queue and its waiting work.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shared.config.hosts import HostConfig
from shared.config.settings import Settings
from shared.errors import ConfigError

ROLES = ("files", "rescan", "shared")

# What a task needs to reach, and so which host's queue it goes to: (role, kind of its first
# argument). A FileJob argument is routed by its source. Tasks not listed go to the shared queue.
NEEDS: dict[str, tuple[str, str]] = {
    "mediacourier.hash_file": ("files", "source"),
    "mediacourier.claim_content": ("files", "source"),
    "mediacourier.transfer_file": ("files", "source"),
    # Verification re-copies a bad copy and, in move mode, removes the source: it needs both.
    "mediacourier.verify_copy": ("files", "source"),
    "mediacourier.ingest_batch": ("files", "source"),
    "mediacourier.reconcile": ("files", "source"),
    "mediacourier.fetch_icloud": ("files", "source"),  # icloudpd writes into the source
    "mediacourier.flush_rescans": ("rescan", "rescan"),
    # A mirror reads its local tree and writes its target: the host listing the mirror.
    "mediacourier.mirror": ("files", "mirror"),
    "mediacourier.index": ("files", "library"),  # it walks and reads the library
}


def shared_queue(settings: Settings) -> str:
    return settings.key_prefix


def host_queue(settings: Settings, host: str, role: str) -> str:
    if role == "shared":
        return shared_queue(settings)
    return f"{settings.key_prefix}.{host}.{role}"


def all_queues(settings: Settings) -> list[str]:
    """Every queue of this configuration, shared first: the ones to declare."""
    names = [shared_queue(settings)]
    for host in settings.hosts:
        names += [host_queue(settings, host, "files"), host_queue(settings, host, "rescan")]
    return names


def worker_queues(settings: Settings, host: str | None, roles: Sequence[str] = ROLES) -> list[str]:
    """The queues a worker for `host` consumes: exactly that host's, and the shared one if the
    host takes shared work. Without hosts: the one queue."""
    if not settings.hosts:
        if host:
            raise ConfigError("--host: this configuration has no [hosts.NAME] tables; start the "
                              "worker without --host")
        return [shared_queue(settings)]
    if not host:
        raise ConfigError(f"this configuration has [hosts]: say which this worker is with "
                          f"--host ({', '.join(settings.hosts)})")
    if host not in settings.hosts:
        raise ConfigError(f"--host: no [hosts.{host}] in the configuration "
                          f"(hosts: {', '.join(settings.hosts)})")
    unknown = [role for role in roles if role not in ROLES]
    if unknown:
        raise ConfigError(f"--role: {unknown[0]!r} is not one of {', '.join(ROLES)}")
    config = settings.hosts[host]
    wanted = [r for r in ROLES if r in roles and (r != "shared" or config.shared)]
    if not wanted:
        raise ConfigError(f"--role: host {host!r} has shared = false; give files or rescan")
    return [host_queue(settings, host, role) for role in wanted]


def _argument(args: Sequence[Any] | None, kwargs: Mapping[str, Any] | None, kind: str) -> Any:
    # By keyword, tasks name their first parameter after what it is: job, name or target.
    named = kwargs or {}
    value = args[0] if args else next(
        (named[key] for key in (kind, "job", "name", "target") if key in named), None)
    if isinstance(value, Mapping):  # a FileJob dict
        value = value.get(kind)
    return value if isinstance(value, str) else None


def library_needs(settings: Settings, library: str) -> dict[str, str]:
    """Reaching a library: its folder, or for a library on a remote target, that target."""
    target = getattr(settings.libraries.get(library), "target", "")
    return {"targets": target} if target else {"libraries": library}


def host_for(settings: Settings, kind: str, name: str) -> HostConfig | None:
    """The host that gets work about `name`: the first, in file order, that reaches it all."""
    if kind == "source":
        source = settings.sources.get(name)
        if source is None:
            return None
        return settings.hosts.first_reaching(**library_needs(settings, source.library),
                                             sources=name)
    plural = {"rescan": "rescan", "target": "targets", "mirror": "mirrors",
              "library": "libraries"}.get(kind)
    return settings.hosts.first_reaching(**{plural: name}) if plural else None


def queue_for(settings: Settings, task: str, args: Sequence[Any] | None = None,
              kwargs: Mapping[str, Any] | None = None) -> str:
    """The queue for one task message. A task about something no host reaches (a bad
    argument) goes to the shared queue, where the task itself refuses it with a reason."""
    if not settings.hosts or task not in NEEDS:
        return shared_queue(settings)
    role, kind = NEEDS[task]
    name = _argument(args, kwargs, kind)
    host = host_for(settings, kind, name) if name else None
    return host_queue(settings, host.name, role) if host else shared_queue(settings)


def routing_rows(settings: Settings) -> list[tuple[str, str]]:
    """(queue, what is routed there) for `mediacourier queues` and the README."""
    rows = {q: [] for q in all_queues(settings)}  # type: dict[str, list[str]]
    for source in settings.sources:
        rows[queue_for(settings, "mediacourier.hash_file", [{"source": source}])].append(
            f"source {source}")
    for target in settings.rescan_targets:
        rows[queue_for(settings, "mediacourier.flush_rescans", [target])].append(
            f"rescan {target}")
    rows[shared_queue(settings)].append("shared work (manual ingest, rescan requests, "
                                        "outcomes, other tasks)")
    return [(queue, ", ".join(what) or "-") for queue, what in rows.items()]
