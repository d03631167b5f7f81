"""The multi-host side of the command line: worker lines, `queues`, and `status` per host."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console

from shared.config import (
    ROLES,
    Settings,
    all_queues,
    host_for,
    host_queue,
    reaches_library,
    routing_rows,
    worker_queues,
)
from shared.state import RedisStateStore
from workers.report import print_attention, print_status, print_users, table

# kombu's Redis transport keeps priorities 3, 6 and 9 in lists of their own beside the queue's.
PRIORITY_SEPARATOR = "\x06\x16"
PRIORITY_STEPS = (3, 6, 9)


def node_name(host: str | None, roles: Sequence[str] | None, name: str | None) -> str:
    if name:
        return name
    if not host:
        return "mediacourier"
    if roles and set(roles) != set(ROLES):
        return "-".join([host, *roles])  # several pools of one host on one machine
    return host


def worker_argv(settings: Settings, host: str | None, roles: Sequence[str] | None,
                concurrency: int, name: str | None) -> list[str]:
    """`python -m celery -A tasks worker …` consuming exactly the queues of `host`."""
    queues = worker_queues(settings, host, roles or ROLES)
    return [sys.executable, "-m", "celery", "-A", "tasks", "worker", "-l", "INFO", "-E",
            "-c", str(concurrency), "-Q", ",".join(queues),
            "--hostname", f"{node_name(host, roles, name)}@%h"]


def watched_settings(settings: Settings) -> Settings:
    """The watcher of a named host (MEDIACOURIER_HOST) watches only the sources whose files
    are routed to that host: its catch-up scan walks the source and its library, as they do."""
    local = settings.hosts.local
    if not settings.hosts or not local:
        return settings
    mine = {k: v for k, v in settings.sources.items()
            if getattr(host_for(settings, "source", k), "name", None) == local}
    return dataclasses.replace(settings, sources=mine)


def doctor_settings(settings: Settings) -> Settings:
    """What `doctor` checks on a named host: everything it reaches and nothing else: its
    sources, its libraries (listed, or on a target it lists: an SSH library is checked over
    SSH from the host that writes to it), its mirrors and rescan targets, and the Syncthing
    tables of those libraries."""
    local = settings.hosts.local
    if not settings.hosts or not local:
        return settings
    here = settings.hosts[local]
    libraries = {k: v for k, v in settings.libraries.items()
                 if reaches_library(settings, local, k)}
    used = {library.syncthing for library in libraries.values()}
    return dataclasses.replace(
        settings,
        sources={k: v for k, v in settings.sources.items() if here.reaches("sources", k)},
        libraries=libraries,
        mirrors={k: v for k, v in settings.mirrors.items() if here.reaches("mirrors", k)},
        syncthing={k: v for k, v in settings.syncthing.items() if k in used},
        rescan_targets={k: v for k, v in settings.rescan_targets.items()
                        if here.reaches("rescan", k)})


def print_queues(console: Console, settings: Settings) -> None:
    shown = table("queues", "queue", "routed there")
    for queue, what in routing_rows(settings):
        shown.add_row(queue, what)
    console.print(shown)
    hosts = list(settings.hosts) or [None]
    for host in hosts:
        argv = worker_argv(settings, host, None, 2, None)
        label = f"host {host}" if host else "worker"
        console.print(f"{label}: mediacourier worker{f' --host {host}' if host else ''}  =  "
                      f"{' '.join(argv[2:])}")


def queue_depth(store: RedisStateStore, queue: str) -> int:
    names = [queue] + [f"{queue}{PRIORITY_SEPARATOR}{step}" for step in PRIORITY_STEPS]
    return sum(store.queue_lengths(names).values())


def host_of_node(settings: Settings, node: str, queues: list[str]) -> str:
    """The host a worker serves, from the queues it consumes (its node name as a fallback)."""
    for host in settings.hosts:
        if any(host_queue(settings, host, r) in queues for r in ("files", "rescan")):
            return host
    return node.split("@", 1)[0]


def print_host_status(console: Console, app: Any, settings: Settings, store: RedisStateStore,
                      timeout: float) -> None:
    answers = app.control.inspect(timeout=timeout).active_queues() or {}
    consumed = {node: [q.get("name", "") for q in queues or []]
                for node, queues in answers.items()}
    depths = {queue: queue_depth(store, queue) for queue in all_queues(settings)}
    print_status(console, store, consumed, [], depths, settings)
    print_users(console, store, settings)
    if settings.hosts:
        shown = table("hosts", "host", "workers online", header=False)
        for host in settings.hosts:
            nodes = sorted(n for n, q in consumed.items() if host_of_node(settings, n, q) == host)
            shown.add_row(f"host {host}", ", ".join(nodes) if nodes else "none online")
        console.print(shown)
    print_attention(console, store, settings)
