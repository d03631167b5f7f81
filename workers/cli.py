"""mediacourier carries photos and videos from the folders where they land into the libraries
where they belong, verified, deduplicated and indexed."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import kombu.exceptions
import redis
from rich.console import Console

from shared.config import Settings, broker_url
from shared.errors import ConfigError, MediacourierError
from shared.ingest import Context
from shared.remote import ssh_masters_cleaned_up
from shared.state import EmbeddedRedis, RedisStateStore, find_redis_server
from tasks.enqueue import CeleryEnqueuer
from tasks.runtime import context_of
from workers import exit_codes
from workers.app import celery_app
from workers.backup_cli import BACKUP_COMMANDS, add_backup_parsers
from workers.deployment import load_deployment, remember_deployment
from workers.flow_cli import FLOW_COMMANDS, add_flow_parser
from workers.hosts import (
    doctor_settings,
    print_host_status,
    print_queues,
    watched_settings,
    worker_argv,
)
from workers.icloud_cli import ICLOUD_COMMANDS, add_icloud_parser
from workers.index_cli import INDEX_COMMANDS, add_index_parser
from workers.logs import command_tag, configure_logging
from workers.mirror_cli import run_mirror_command
from workers.ops import OPS_COMMANDS, add_parsers
from workers.queue_cli import QUEUE_COMMANDS, add_queue_parser
from workers.report import doctor_checks, print_history, run_doctor
from workers.sync import run_sync
from workers.trace import print_trace
from workers.up import run_up
from workers.watcher import Watcher

log = logging.getLogger("mediacourier")


def open_store(settings: Settings,
               read_only: bool = False) -> tuple[RedisStateStore, EmbeddedRedis | None]:
    """The running Redis, or a private embedded one for this command when none is running. A
    read-only command reads the data of an embedded Redis that ran, never starts a new one."""
    try:
        store = RedisStateStore.from_url(broker_url(settings), settings.key_prefix)
    except ConfigError:
        if not settings.embedded_redis:
            raise
    else:
        store.ping()  # StoreUnavailable: one clear line instead of a traceback later
        return store, None
    redis_dir = Path(settings.data_dir) / "redis"
    if read_only and not redis_dir.is_dir():
        where = settings.config_path or f"the default configuration of {settings.data_dir}"
        raise ConfigError(f"no data in {redis_dir}: the deployment of {where} has not run yet; "
                          "start it with `mediacourier up`, or point to another with --config")
    server = EmbeddedRedis(redis_dir)
    url = server.start()
    return RedisStateStore.from_url(url, settings.key_prefix), server


def cmd_up(settings: Settings, args: argparse.Namespace) -> int:
    remember_deployment(settings)  # commands run from another folder find this deployment
    return run_up(settings, args.concurrency, with_flower=not args.no_flower)


def cmd_watch(settings: Settings, args: argparse.Namespace) -> int:

    app = celery_app(settings)
    # With [hosts], a watcher started as one host (--host / MEDIACOURIER_HOST) watches its own.
    watcher = Watcher(watched_settings(settings), CeleryEnqueuer(app, context_of(app)))
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    watcher.start()
    print(f"watching {', '.join(f'{k} ({v})' for k, v in watcher.watching().items())}",
          flush=True)
    try:
        watcher.run_forever(stop)
    finally:
        watcher.stop()
    return 0


def cmd_sync(settings: Settings, args: argparse.Namespace) -> int:
    if args.source not in settings.sources:
        raise ConfigError(f"no source named {args.source!r}; configured: "
                          f"{', '.join(settings.sources)}")
    store, server = open_store(settings)
    try:
        url = server.url if server else broker_url(settings)
        # rsync targets: the pool's ssh masters and their folders end with this command.
        with ssh_masters_cleaned_up():
            return run_sync(Context(settings, store), url, args.source, args.dry_run,
                            args.workers, console(), force=args.force)
    finally:
        if server:
            server.stop()


def cmd_mirror(settings: Settings, args: argparse.Namespace) -> int:
    if args.dry_run:
        return run_mirror_command(settings, None, args.name, True, args.force, console())
    store, server = open_store(settings)
    try:
        return run_mirror_command(settings, store, args.name, False, args.force, console())
    finally:
        if server:
            server.stop()


def cmd_status(settings: Settings, args: argparse.Namespace) -> int:
    app = celery_app(settings)
    store = RedisStateStore.from_url(app.conf.broker_url, settings.key_prefix)
    store.ping()
    print_host_status(console(), app, settings, store, args.timeout)
    return 0


def cmd_queues(settings: Settings, args: argparse.Namespace) -> int:
    print_queues(console(), settings)
    return 0


def cmd_history(settings: Settings, args: argparse.Namespace) -> int:
    store, server = open_store(settings, read_only=True)
    try:
        print_history(store, args.format, args.limit, console(), args.user)
    finally:
        if server:
            server.stop()
    return 0


def cmd_trace(settings: Settings, args: argparse.Namespace) -> int:
    store, server = open_store(settings, read_only=True)
    try:
        return print_trace(settings, store, args.what, console())
    finally:
        if server:
            server.stop()


def cmd_doctor(settings: Settings, args: argparse.Namespace) -> int:
    def ping() -> str:
        try:
            url = broker_url(settings)
        except ConfigError:
            return f"embedded redis-server at {find_redis_server()} (starts with `mediacourier up`)"
        RedisStateStore.from_url(url, settings.key_prefix).ping()
        return f"{url.split('@')[-1]} answers"

    return run_doctor(doctor_checks(doctor_settings(settings), ping), console())


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    argv = worker_argv(settings, args.host, args.role, args.concurrency, args.name)
    # A worker with no broker would retry (or print Celery's traceback) forever: one line now.
    RedisStateStore.from_url(broker_url(settings), settings.key_prefix).ping()
    extra = args.celery_args
    argv += extra[1:] if extra[:1] == ["--"] else extra
    print(" ".join(argv[2:]), flush=True)
    os.execv(sys.executable, argv)
    return 0  # not reached


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value


def console() -> Console:
    """Long paths must stay greppable when the output is piped: no hard wrapping."""
    return Console(soft_wrap=True)


CONFIG_HELP = ("the TOML file (else $MEDIACOURIER_CONFIG, ./mediacourier.toml, "
               "./mediacourier-data, ~/.config/mediacourier/mediacourier.toml, the deployment "
               "`up` last started)")
VERBOSE_HELP = "show debug logging, and the traceback of an error"


class Parser(argparse.ArgumentParser):
    """Usage errors in one line too: the error and where to read more, not the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(exit_codes.CONFIG, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="mediacourier", description=__doc__, epilog=exit_codes.describe())
    parser.add_argument("--config", help=CONFIG_HELP)
    parser.add_argument("-v", "--verbose", action="store_true", help=VERBOSE_HELP)
    # The same two after the command (`mediacourier status -v`); SUPPRESS keeps the value
    # given before the command when they are not repeated.
    common = Parser(add_help=False)
    common.add_argument("--config", default=argparse.SUPPRESS, help=CONFIG_HELP)
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help=VERBOSE_HELP)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, what: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=what, description=what, parents=[common])

    up = command("up", "run Redis, a worker, beat, the watcher and Flower")
    up.add_argument("--concurrency", type=positive, default=2,
                    help="files the worker handles at once (default: 2)")
    up.add_argument("--no-flower", action="store_true", help="do not start the Flower dashboard")
    watch = command("watch", "watch the sources and enqueue settled files")
    watch.add_argument("--host", help="the [hosts.NAME] this machine is: watch its sources")
    sync = command("sync", "one-shot pass over a source, in this process")
    sync.add_argument("source", help="a [sources.NAME] table")
    sync.add_argument("--dry-run", action="store_true", help="list what would be ingested")
    sync.add_argument("--force", action="store_true",
                      help="sync even while the source or its library is paused")
    sync.add_argument("--workers", type=positive, default=2 * (os.cpu_count() or 1),
                      help="processes copying in parallel (default: two per CPU, so that one "
                      "hashes while another waits for its fsync)")
    mirror = command("mirror", "make a target an exact replica of a local tree")
    mirror.add_argument("name", help="a [mirrors.NAME] table")
    mirror.add_argument("--dry-run", action="store_true",
                        help="list what would be copied, updated, renamed, deleted, skipped")
    mirror.add_argument("--force", action="store_true",
                        help="delete even beyond max_delete / max_delete_share")
    status = command("status", "queues, workers, counts, recent failures")
    status.add_argument("--timeout", type=float, default=1.0,
                        help="seconds to wait for workers to answer (default: 1)")
    history = command("history", "the journal of operations")
    history.add_argument("--format", choices=("table", "csv", "json"), default="table",
                         help="table for people (default), csv or json for programs")
    history.add_argument("--limit", type=positive, default=100,
                         help="the last N operations (default: 100)")
    history.add_argument("--user", help="only the files of this Nextcloud user (the first "
                         "folder of their path)")
    trace = command("trace", "one file's journey: stages, hosts, times, where it is now")
    trace.add_argument("what", metavar="PATH|NAME|SHA",
                       help="a file's path (in a source or a library), its name, or its sha256 "
                       "(or the first 8+ hex digits)")
    doctor = command("doctor", "check the configuration, Redis, folders and targets")
    doctor.add_argument("--host", help="the [hosts.NAME] this machine is: check its folders")
    worker = command("worker", "start a Celery worker for this configuration")
    worker.add_argument("--concurrency", type=positive, default=2,
                        help="files the worker handles at once (default: 2)")
    worker.add_argument("--name", default=None, help="node name before '@' (default: the "
                        "host, or 'mediacourier' without [hosts])")
    worker.add_argument("--host", help="the [hosts.NAME] this machine is: consume exactly "
                        "its queues (also sets MEDIACOURIER_HOST)")
    worker.add_argument("--role", action="append", choices=("files", "rescan", "shared"),
                        help="only these of the host's queues (repeatable; default: all)")
    worker.add_argument("celery_args", nargs=argparse.REMAINDER,
                        help="after '--': more `celery worker` options, e.g. -- -O fair")
    command("queues", "the queue names, what is routed to each, and worker lines")
    add_parsers(command)
    add_backup_parsers(command)
    add_index_parser(command)
    add_icloud_parser(command)
    add_flow_parser(command)
    add_queue_parser(command)
    return parser


COMMANDS: dict[str, Callable[[Settings, argparse.Namespace], int]] = {
    "up": cmd_up, "watch": cmd_watch, "sync": cmd_sync, "status": cmd_status,
    "history": cmd_history, "doctor": cmd_doctor, "worker": cmd_worker,
    "mirror": cmd_mirror, "queues": cmd_queues, "trace": cmd_trace,
}
COMMANDS.update(OPS_COMMANDS)
COMMANDS.update(BACKUP_COMMANDS)
COMMANDS.update(INDEX_COMMANDS)
COMMANDS.update(ICLOUD_COMMANDS)
COMMANDS.update(FLOW_COMMANDS)
COMMANDS.update(QUEUE_COMMANDS)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # One format for everything `up` shows, tagged with the process (watcher, metrics, cli).
    configure_logging(command_tag(args.command), logging.DEBUG if args.verbose else logging.INFO)
    if not args.verbose:  # "Connected (version 2.0 …)" on every SSH connection says nothing
        logging.getLogger("paramiko").setLevel(logging.WARNING)
    try:
        if getattr(args, "host", None):  # this machine is that host: its folders are checked
            os.environ["MEDIACOURIER_HOST"] = args.host
        settings = load_deployment(args.config, args.command)
        if settings.config_path:
            # Celery processes and `tasks` build their settings from the environment.
            os.environ["MEDIACOURIER_CONFIG"] = str(Path(settings.config_path).absolute())
        else:
            os.environ["MEDIACOURIER_DATA_DIR"] = str(Path(settings.data_dir).absolute())
        return COMMANDS[args.command](settings, args)
    except KeyboardInterrupt:
        return exit_codes.INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - every error is one line; -v shows the traceback
        if args.verbose:
            traceback.print_exc()
        print(f"mediacourier: {error_line(exc)}", file=sys.stderr, flush=True)
        return exit_codes.code_for(exc) if _expected(exc) else exit_codes.INTERNAL


def _expected(exc: Exception) -> bool:
    return isinstance(exc, MediacourierError | redis.RedisError | kombu.exceptions.OperationalError
                      | OSError)


def error_line(exc: Exception) -> str:
    """One line: a message with newlines in it (folders joined by one) is joined by '; '."""
    if isinstance(exc, redis.RedisError | kombu.exceptions.OperationalError):
        text = f"Redis unavailable: {exc}"
    elif _expected(exc):
        text = str(exc) or type(exc).__name__
    else:
        text = f"internal error: {exc!r} (run with -v for the traceback)"
    return "; ".join(part.strip() for part in text.splitlines() if part.strip())


if __name__ == "__main__":
    sys.exit(main())
