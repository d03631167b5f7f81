"""`mediacourier index LIBRARY`: hash what a library already holds, so it counts for dedupe,
with a progress bar (files, MB/s, time left); an interrupted run resumes at its cursor."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

from shared.config import Settings, broker_url
from shared.errors import ConfigError, TargetUnreachable
from shared.ingest import IndexRun, index_library, needs_first_index, target_of
from shared.state import RedisStateStore, library_gate
from workers.exit_codes import OK
from workers.progress import rate_columns


def index_with_bar(store: RedisStateStore, settings: Settings, name: str,
                   console: Console) -> IndexRun:
    """Index library `name` in this process, showing the bar; refused while it is not there."""
    if name not in settings.libraries:
        raise ConfigError(f"no library named {name!r}; configured: "
                          f"{', '.join(settings.libraries) or 'none'}")
    library = settings.libraries[name]
    hold = library_gate(store, settings, name)
    if hold is not None:
        raise TargetUnreachable(f"{hold.reason}; nothing indexed")
    columns = (TextColumn("[bold]{task.description}"), BarColumn(),
               TextColumn("{task.fields[files]} files"), DownloadColumn(), *rate_columns())
    with Progress(*columns, console=console, transient=False) as progress:
        bar = progress.add_task(f"index {name}", total=None, files="0/?")

        def show(done: int, total: int, done_bytes: int, total_bytes: int) -> None:
            progress.update(bar, completed=done_bytes, total=total_bytes,
                            files=f"{done}/{total}")

        run = index_library(store, library, show, target=target_of(settings, library))
    console.print(f"library {name}: {run.files} files looked at, {run.hashed} hashed, "
                  f"{run.new} new to the content index, {run.gone} gone, {run.unreadable} "
                  f"unreadable, in {run.seconds:.1f} s", highlight=False)
    return run


def index_first(store: RedisStateStore, settings: Settings, library: str,
                console: Console) -> None:
    """Before `sync` carries files into a library: its first index, when it has none yet."""
    if needs_first_index(store, settings.libraries[library]):
        console.print(f"library {library}: indexing what it already holds first",
                      highlight=False)
        index_with_bar(store, settings, library, console)


def cmd_index(settings: Settings, args: argparse.Namespace) -> int:
    store = RedisStateStore.from_url(broker_url(settings), settings.key_prefix)
    store.ping()
    index_with_bar(store, settings, args.library, Console(highlight=False))
    return OK


def add_index_parser(command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    parser = command("index", "hash what a library already holds so it counts for dedupe "
                     "(resumes an interrupted run)")
    parser.add_argument("library", help="a [libraries.NAME] table")


INDEX_COMMANDS = {"index": cmd_index}
