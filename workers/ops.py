"""`pause`, `resume` and `metrics`: operating a running deployment."""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Callable

from shared.config import Settings, broker_url, parse_listen
from shared.state import (
    RedisStateStore,
    check_name,
    serve_metrics,
    sources_to_catch_up,
)
from workers.app import celery_app
from workers.restore_cli import RESTORE_COMMANDS, add_restore_parser
from workers.web.command import WEB_COMMANDS, add_web_parser


def _store(settings: Settings) -> RedisStateStore:
    store = RedisStateStore.from_url(broker_url(settings), settings.key_prefix)
    store.ping()
    return store


def cmd_pause(settings: Settings, args: argparse.Namespace) -> int:
    check_name(settings, args.kind, args.name)
    store = _store(settings)
    changed = store.set_paused(args.kind, args.name, True)
    if changed:  # one pause is one entry (and one count in `status`), however often asked
        store.journal("paused", kind=args.kind, name=args.name)
    print(f"{args.kind} {args.name} {'paused' if changed else 'was already paused'}; "
          "queued work waits, nothing is dropped", flush=True)
    return 0


def cmd_resume(settings: Settings, args: argparse.Namespace) -> int:
    check_name(settings, args.kind, args.name)
    store = _store(settings)
    changed = store.set_paused(args.kind, args.name, False)
    if changed:
        store.journal("resumed", kind=args.kind, name=args.name)
    app = celery_app(settings)
    # Files that arrived during the pause were left in place: a reconcile picks them up.
    sources = sources_to_catch_up(settings, args.kind, args.name)
    for source in sources:
        app.send_task("mediacourier.reconcile", args=[source])
    if args.kind == "target" and args.name in settings.rescan_targets:
        app.send_task("mediacourier.flush_rescans", args=[args.name])
    caught_up = f"; reconciling {', '.join(sources)}" if sources else ""
    print(f"{args.kind} {args.name} {'resumed' if changed else 'was not paused'}{caught_up}",
          flush=True)
    return 0


def cmd_metrics(settings: Settings, args: argparse.Namespace) -> int:

    host, port = parse_listen(args.listen or settings.metrics_listen)
    server = serve_metrics(_store(settings), host, port)
    print(f"metrics on http://{host}:{server.server_port}/metrics", flush=True)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    stop.wait()
    server.shutdown()
    return 0


def add_parsers(command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """The commands of this module; `command(name, what)` adds one with the common options."""
    for verb, what in (("pause", "stop taking new work for a source or target (it waits)"),
                       ("resume", "carry on, and reconcile what arrived meanwhile")):
        parser = command(verb, what)
        parser.add_argument("kind", choices=("source", "target"),
                            help="a [sources.NAME], or a target: a library, rescan target, "
                            "[targets.NAME] or mirror")
        parser.add_argument("name", help="its name in the configuration")
    metrics = command("metrics", "serve Prometheus metrics over HTTP")
    metrics.add_argument("--listen", default="", help="HOST:PORT (default: metrics_listen)")
    add_restore_parser(command)
    add_web_parser(command)


OPS_COMMANDS = {"pause": cmd_pause, "resume": cmd_resume, "metrics": cmd_metrics,
                **RESTORE_COMMANDS, **WEB_COMMANDS}
