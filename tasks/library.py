"""Library tasks: index what a library already holds (in slices, at the lowest priority), and
the hold of a file whose library's first index is not complete yet."""

from __future__ import annotations

import dataclasses
from typing import Any

from celery import Celery, Task, shared_task

from shared.config import Settings
from shared.errors import LeaseHeld, RetryableError, UnknownSource
from shared.ingest import Context, first_index_hold, index_library, target_of
from shared.source import journal_refusal
from shared.state import Hold, library_gate
from tasks.runtime import task_context

INDEX_TASK = "mediacourier.index"
# Seconds one index task works before it sends the rest as a new task: a 100,000-file library
# never keeps a worker slot for long, and queued live files (a higher priority) go between.
INDEX_SLICE = 20.0


def send_index(app: Celery, library: str) -> None:
    # Through the router: the queue of a host that reaches the library, the bulk priority.
    app.send_task(INDEX_TASK, args=[library])


def index_hold(app: Celery, ctx: Context, source: str) -> Hold | None:
    """Hold a file whose library's first index is not complete; send that index once."""
    hold = first_index_hold(ctx.store, ctx.settings, source)
    if hold is not None:
        library = ctx.settings.sources[source].library
        if ctx.store.note_index_sent(library, ctx.settings.visibility_timeout):
            send_index(app, library)
    return hold


def _library(ctx: Context, settings: Settings, name: Any) -> str:
    if not isinstance(name, str) or name not in settings.libraries:
        error = UnknownSource(f"no library named {name!r}; configured: "
                              f"{', '.join(settings.libraries) or 'none'}")
        journal_refusal(ctx.store, error, INDEX_TASK, name)
        raise error
    return name


@shared_task(name=INDEX_TASK, bind=True)
def index(self: Task, library: str) -> dict[str, Any]:
    """Index a library's files for dedupe for one slice; the rest goes on in a new task."""
    ctx = task_context(self)
    settings = ctx.settings
    name = _library(ctx, settings, library)
    if library_gate(ctx.store, settings, name) is not None:
        ctx.store.forget_index_sent(name)  # not there: the next arrival asks again
        return {"skipped": f"library {name!r} is not there"}
    library_config = settings.libraries[name]
    try:
        with ctx.store.lock(f"index:{name}", ttl=settings.lease_seconds):
            run = index_library(ctx.store, library_config, budget=INDEX_SLICE,
                                target=target_of(settings, library_config))
    except LeaseHeld:
        return {"skipped": "an index of this library is already running"}
    except RetryableError as exc:
        # Its target does not answer: the cursor is saved, the next arrival asks again.
        ctx.store.forget_index_sent(name)
        return {"skipped": f"library {name!r}: {exc}"}
    if run.complete:
        ctx.store.forget_index_sent(name)
        ctx.store.journal("library-indexed", library=name, files=run.files, reason=(
            f"{run.hashed} hashed, {run.new} new to the content index, {run.gone} gone"))
    else:
        send_index(self.app, name)
    return dataclasses.asdict(run)
