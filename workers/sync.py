"""`mediacourier sync SOURCE`: a one-shot pass in this process, with a progress bar."""

from __future__ import annotations

import multiprocessing
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol

import redis
from rich import filesize
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
)
from rich.table import Table

from shared.backoff import backoff_seconds
from shared.config import Settings
from shared.errors import ContentClaimed, RetryableError
from shared.executors import LocalExecutor
from shared.ingest import Context, chunks, fail_and_record, ingest_many, run_all, waves
from shared.jobs import FileJob, Outcome
from shared.rescan import flush_rescans
from shared.source import Entry, plan_source
from shared.state import RedisStateStore, hold_for_source
from workers.exit_codes import FILES_FAILED, OK, REFUSED
from workers.index_cli import index_first
from workers.progress import rate_columns

RETRIES = 4
SETTLE_LIMIT = 300.0  # seconds sync waits for files that keep changing, at least


class ReconcilePlan(Protocol):
    """What sync reads of `plan_source`'s plan."""

    source: str
    to_ingest: list[Entry]
    unchanged: int
    in_flight: int
    settling: int
    vanished: list[str]


def ingest_entry(ctx: Context, source: str, entry: Entry) -> FileJob:
    """The whole chain for one file, retrying transient failures in place. A twin waiting for
    identical content that another process is importing waits without using up a retry, for
    as long as that claim's lease can last."""
    job = FileJob(source, entry.rel_path, entry.size, entry.mtime_ns)
    attempt = 0
    waiting_until = time.monotonic() + 2 * ctx.settings.visibility_timeout
    while True:
        try:
            return run_all(job, ctx)
        except ContentClaimed as exc:
            if time.monotonic() > waiting_until:
                return fail_and_record(job, ctx, f"gave up waiting for its twin: {exc}")
            time.sleep(min(exc.countdown, 2.0))
        except (RetryableError, redis.RedisError) as exc:
            if attempt == RETRIES:
                return fail_and_record(job, ctx, f"gave up after {RETRIES} retries: {exc}")
            time.sleep(backoff_seconds(attempt, cap=8.0))
            attempt += 1
        except Exception as exc:  # noqa: BLE001 - one bad file never stops the run
            return fail_and_record(job, ctx, f"internal error: {exc!r}")


def ingest_entries(ctx: Context, source: str, entries: list[Entry]) -> list[FileJob]:
    """A batch through the one batch runner (one sync for all copies); files that have to
    wait, and every file if the batch itself breaks, go through `ingest_entry` one by one."""
    by_rel = {e.rel_path: e for e in entries}
    jobs = [FileJob(source, e.rel_path, e.size, e.mtime_ns) for e in entries]

    def settle(job: FileJob, result: object) -> FileJob:
        if isinstance(result, FileJob):
            return result
        return ingest_entry(ctx, source, by_rel[job.rel_path])

    return ingest_many(jobs, ctx, settle)


_process_ctx: Context | None = None
Mapper = Callable[[Context, list[tuple[str, list[Entry]]]], Iterator[list[FileJob]]]


@contextmanager
def _pool(processes: int, settings: Settings, url: str) -> Iterator[Mapper]:
    """Run groups of files in `processes` forked processes, or in this one for a single one."""
    if processes == 1:
        yield lambda ctx, items: (ingest_entries(ctx, *item) for item in items)
        return
    with multiprocessing.get_context("fork").Pool(
        processes, initializer=_init_process, initargs=(settings, url)
    ) as pool:
        yield lambda _ctx, items: pool.imap_unordered(_ingest_in_process, items)


def _init_process(settings: Settings, url: str) -> None:
    global _process_ctx
    _process_ctx = Context(settings, RedisStateStore.from_url(url, settings.key_prefix))


def _ingest_in_process(item: tuple[str, list[Entry]]) -> list[FileJob]:
    assert _process_ctx is not None, "initialiser not run"
    return ingest_entries(_process_ctx, *item)


def run_sync(ctx: Context, url: str, source_name: str, dry_run: bool, processes: int,
             console: Console, force: bool = False) -> int:
    settings = ctx.settings
    flow = settings.flow_fed_by(source_name)
    if flow is not None:  # the flow's alone: a sync would put its files in the source's library
        print(f"mediacourier: source {source_name} is fed to flow {flow.name}: sync refused "
              f"(`mediacourier flow {flow.name} --run` carries its files)", file=sys.stderr,
              flush=True)
        return REFUSED
    hold = hold_for_source(ctx.store, settings, source_name)
    if hold is not None and not dry_run:
        if not force:
            print(f"mediacourier: {hold.reason}: sync refused (`mediacourier resume` it, or "
                  "sync --force to carry the files anyway)", file=sys.stderr, flush=True)
            return REFUSED
        console.print(f"{hold.reason}: --force given, syncing anyway", highlight=False)
    if not dry_run:  # what the library already holds counts before anything is carried
        index_first(ctx.store, settings, settings.sources[source_name].library, console)
    plan = _settled_plan(ctx, source_name, console, wait=not dry_run)
    total_bytes = sum(e.size for e in plan.to_ingest)
    if dry_run:
        return _print_plan(console, plan, total_bytes)
    total_files = len(plan.to_ingest)
    if not total_files:
        _finish(ctx, source_name, plan)
        console.print(f"nothing to do in {source_name}: {plan.unchanged} files unchanged, "
                      f"{plan.in_flight} already queued, {plan.settling} still changing",
                      highlight=False)
        return OK
    outcomes: Counter[str] = Counter()
    failures: list[FileJob] = []
    moved_bytes = 0
    # Images go first so that sidecars find where their image landed.
    entry_waves = waves(plan.to_ingest, lambda entry: entry.rel_path)
    columns = (TextColumn("[bold]{task.description}"), BarColumn(),
               TextColumn("{task.fields[files]} files"), DownloadColumn(),
               *rate_columns())
    # Processes, not threads: per-file work is mostly Python, and threads share one GIL.
    # The pool forks before the progress bar starts its thread; one worker runs right here.
    with _pool(processes, settings, url) as pool, \
            Progress(*columns, console=console, transient=False) as progress:
        bar = progress.add_task(f"sync {source_name}", total=total_bytes,
                                files=f"0/{total_files}")
        done = 0
        for wave in entry_waves:
            # Small batches keep every process busy to the end and the progress bar moving.
            per_batch = max(1, min(settings.batch_files, len(wave) // (4 * processes)))
            items = [(source_name, group)
                     for group in chunks(wave, per_batch, settings.batch_bytes)]
            for jobs in pool(ctx, items):
                for job in jobs:
                    outcomes[str(job.outcome)] += 1
                    if job.outcome == Outcome.FAILED:
                        failures.append(job)
                    elif job.outcome == Outcome.INGESTED:
                        moved_bytes += job.size
                done += len(jobs)
                progress.update(bar, advance=sum(max(j.size, 0) for j in jobs),
                                files=f"{done}/{total_files}")
        # The bar's clock, stopped when the last file was done: the bar's final rate is this.
        seconds = progress.tasks[0].finished_time or progress.tasks[0].elapsed or 0.0
    _finish(ctx, source_name, plan)
    _print_summary(console, outcomes, failures, (total_bytes, moved_bytes), seconds,
                   plan.unchanged)
    return FILES_FAILED if failures else OK


def _settled_plan(ctx: Context, source_name: str, console: Console,
                  wait: bool) -> ReconcilePlan:
    """The plan once no file is inside its stability window: files copied in just before the
    sync are waited for (a user who syncs means them too), up to SETTLE_LIMIT for files that
    keep changing; those are then left for the watcher or the next sync, and said so."""
    settings = ctx.settings
    source = settings.sources[source_name]

    def plan() -> ReconcilePlan:
        return plan_source(ctx.store, source, stale_after=2 * settings.visibility_timeout,
                           retry_failed=True)

    current, shown = plan(), 0
    limit = max(SETTLE_LIMIT, 10 * source.stability_seconds)
    deadline = time.monotonic() + limit
    while wait and current.settling:
        if time.monotonic() > deadline:
            console.print(f"{current.settling} files still changing after {limit:.0f} s: left "
                          "for the watcher or the next sync", highlight=False)
            break
        if current.settling != shown:
            shown = current.settling
            console.print(f"waiting for {shown} file{'s' if shown != 1 else ''} to settle "
                          f"({source.stability_seconds:g} s without change)", highlight=False)
        time.sleep(max(0.1, min(1.0, source.stability_seconds / 2)))
        current = plan()
    return current


def _finish(ctx: Context, source_name: str, plan: ReconcilePlan) -> None:
    ctx.store.forget_records(source_name, plan.vanished)
    ctx.store.clear_failures(source_name, plan.vanished)
    _flush_all(ctx)


def _flush_all(ctx: Context) -> None:
    roots = [str(lib.path) for lib in ctx.settings.libraries.values()]
    for target in ctx.settings.rescan_targets.values():
        if ctx.store.dirty_folders(target.name):
            flush_rescans(target, ctx.store, LocalExecutor(), roots)


def _print_plan(console: Console, plan: ReconcilePlan, total_bytes: int) -> int:
    table = Table(title=f"dry run: {plan.source}")
    table.add_column("would ingest")
    table.add_column("size", justify="right")
    for entry in plan.to_ingest:
        table.add_row(entry.rel_path, f"{entry.size:,}")
    console.print(table)
    console.print(f"{len(plan.to_ingest)} files ({total_bytes / 1e6:.1f} MB) would be ingested; "
                  f"{plan.unchanged} unchanged; {plan.in_flight} already queued; "
                  f"{plan.settling} still changing (a real run waits for them); "
                  f"{len(plan.vanished)} records of vanished files would be forgotten. "
                  "Nothing was changed.")
    return 0


def _print_summary(console: Console, outcomes: Counter[str], failures: list[FileJob],
                   sizes: tuple[int, int], seconds: float, unchanged: int) -> None:
    table = Table(title="summary")
    table.add_column("outcome")
    table.add_column("files", justify="right")
    for name in ("ingested", "duplicate", "skipped", "failed"):
        table.add_row(name, str(outcomes.get(name, 0)))
    table.add_row("unchanged", str(unchanged))
    console.print(table)
    handled, copied = sizes
    rate = handled / seconds if seconds else 0.0
    # "X MB in Y s" first: bench/procs.py reads the in-process time from it. The rate is
    # written as the bar writes it: its final figure and this one are the same.
    console.print(f"{handled / 1e6:.1f} MB in {seconds:.2f} s at "
                  f"{filesize.decimal(int(rate))}/s ({copied / 1e6:.1f} MB copied, the rest "
                  "duplicates or skipped)", highlight=False)
    for job in failures:
        console.print(f"[red]failed[/red] {job.source}/{job.rel_path}: {job.reason}")
