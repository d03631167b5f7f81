"""`mediacourier mirror NAME [--dry-run] [--force]`: run a mirror here, with a progress bar.

Exit status (workers/exit_codes.py, the same for every command): 0 done (or nothing to do), 1 some
files failed or part of the source could not be read (nothing under it is deleted), 3 the delete
guard refused (the error a real run raises is mapped by the CLI), 4 the target could not be
reached or refused us (a wrong host key), 2 the configuration is wrong.
"""

from __future__ import annotations

import socket

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, TextColumn
from rich.progress import Progress as Bar
from rich.table import Table

from shared.config import Settings
from shared.errors import MirrorRefused
from shared.mirror import (
    MirrorPlan,
    MirrorSummary,
    Progress,
    mirror_config,
    open_mirror_target,
    plan_for,
    record_refusal,
    record_run,
    run_named_mirror,
)
from shared.state import RedisStateStore
from workers.exit_codes import FILES_FAILED, OK, REFUSED
from workers.progress import rate_columns


def run_mirror_command(settings: Settings, store: RedisStateStore | None, name: str,
                       dry_run: bool, force: bool, console: Console) -> int:
    mirror = mirror_config(settings, name)
    if dry_run:
        destination = open_mirror_target(settings, mirror)
        try:
            plan = plan_for(settings, mirror, destination)
        finally:
            destination.close()
        print_plan(console, name, mirror.target, plan, force)
        return REFUSED if plan.guard and not force else FILES_FAILED if plan.unknown else OK
    columns = (TextColumn("[bold]{task.description}"), BarColumn(),
               TextColumn("{task.fields[files]} files"), DownloadColumn(),
               *rate_columns())
    host = socket.gethostname()
    bar = Bar(*columns, console=console, transient=False)
    task = bar.add_task(f"mirror {name}", total=None, files="0/0")

    def on_plan(plan: MirrorPlan) -> None:
        bar.update(task, total=max(1, plan.transfer_bytes))
        if force or not plan.guard:  # a refused run shows no bar, only the refusal
            bar.start()

    def on_progress(progress: Progress) -> None:
        bar.update(task, completed=progress.bytes, files=f"{progress.done}/{progress.total}")

    try:
        summary = run_named_mirror(settings, name, force, on_progress, on_plan, store=store)
    except MirrorRefused as exc:
        if store is not None:
            record_refusal(store, mirror, str(exc), host)
        raise
    finally:
        bar.stop()
    if store is not None:
        record_run(store, mirror, summary, host)
    print_summary(console, summary)
    return FILES_FAILED if summary.failed else OK


def print_plan(console: Console, name: str, target: str, plan: MirrorPlan, force: bool) -> None:
    table = Table(title=f"dry run: mirror {name} -> {target}")
    for column in ("action", "path", "size", "why"):
        table.add_column(column, justify="right" if column == "size" else "left",
                         overflow="fold")
    for action in plan.actions():
        path = f"{action.old_path} -> {action.rel_path}" if action.old_path else action.rel_path
        size = f"{action.size:,}" if action.kind != "skip" or action.size else ""
        table.add_row(action.kind, path, size, action.reason)
    console.print(table)
    console.print(
        f"would copy {len(plan.copies)}, update {len(plan.updates)}, rename "
        f"{len(plan.renames)}, delete {len(plan.deletes)}, skip {len(plan.skipped)}; "
        f"{plan.unchanged} unchanged; {plan.transfer_bytes / 1e6:.1f} MB to send. "
        "Nothing was changed.", highlight=False)
    for part in plan.unknown:
        console.print(f"[bold red]unreadable:[/bold red] {part.line()}", highlight=False)
    if plan.unknown:
        console.print(f"{plan.kept_unknown} destination files under unreadable source parts "
                      "are kept", highlight=False)
    if plan.guard:
        verdict = "--force given: would run anyway" if force else "a real run would be refused"
        console.print(f"[bold red]guard:[/bold red] {plan.guard} ({verdict})", highlight=False)


def print_summary(console: Console, summary: MirrorSummary) -> None:
    table = Table(title="mirror summary")
    table.add_column("outcome")
    table.add_column("files", justify="right")
    for key in ("copied", "updated", "renamed", "deleted", "skipped", "failed", "unchanged"):
        table.add_row(key, str(getattr(summary, key)))
    console.print(table)
    console.print(f"{summary.bytes / 1e6:.1f} MB in {summary.seconds:.2f} s "
                  f"({summary.mb_s:.1f} MB/s)", highlight=False)
    if summary.space:  # a restic or rclone target: what the repository holds and saved
        console.print(summary.space, highlight=False)
    for error in summary.errors:
        console.print(f"[red]failed[/red] {error.action} {error.rel_path}: {error.reason}",
                      highlight=False)
    if summary.unreadable:
        console.print(f"[bold red]not an exact replica:[/bold red] {len(summary.unreadable)} "
                      f"source parts could not be read; {summary.kept_unknown} destination "
                      "files under them were kept", highlight=False)
