"""The ingest chain, assembled in one place, top to bottom."""

from __future__ import annotations

from typing import Any

from celery import Celery, chain
from celery.canvas import Signature

from shared.ingest import STAGES, time_limits
from shared.jobs import FileJob, Outcome
from shared.state import escape_text


def file_label(source: str, rel_path: str) -> str:
    """`inbox:2024/IMG_1.jpg`: how logs, Flower and `history` name a file."""
    return escape_text(f"{source}:{rel_path}")


def named_after(task: str, label: str) -> dict[str, Any]:
    """The options that make Flower's task list (and the worker's log) name the file: the shown
    name (`shadow`, e.g. `mediacourier.hash_file inbox:2024/IMG_1.jpg`) and the shown
    arguments (`argsrepr`) instead of the job's whole dict. The task's name stays its own."""
    return {"shadow": f"{task} {label}", "argsrepr": label}


def ingest_chain(app: Celery, job: FileJob, size: int | None = None,
                 priority: int | None = None) -> Signature:
    """hash_file → claim_content → transfer_file → verify_copy → request_rescan → record_outcome.

    Each stage's time limits follow the file's size (`size`, else the job's; see
    shared/ingest/deadlines.py): a 40 GB video is not killed by the limit of a photo.
    `priority` (tasks/routing.py) is every stage's, else the router's LIVE: a file a person
    asked for keeps FIRST through its whole chain, not only in the task that sent it."""
    settings = getattr(app, "mc_settings", None)
    limits = time_limits(settings, job.size if size is None else size) if settings else {}
    if priority is not None:
        limits = {**limits, "priority": priority}
    label = file_label(job.source, job.rel_path)
    first, *rest = (app.signature(f"mediacourier.{name}",
                                  **limits, **named_after(f"mediacourier.{name}", label))
                    for name, _ in STAGES)
    return chain(first.clone(args=(job.to_dict(),)), *rest, *delivery_steps(app, job))


def delivery_steps(app: Celery, job: FileJob) -> list[Signature]:
    """→ confirm_delivery, when the file's library lies in a Syncthing folder."""
    settings = getattr(app, "mc_settings", None)
    source = settings.sources.get(job.source) if settings else None
    if source is None or not settings.library_of(source).syncthing:
        return []
    return [app.signature("mediacourier.confirm_delivery",
                          **named_after("mediacourier.confirm_delivery",
                                        file_label(job.source, job.rel_path)))]


def send_delivery_check(app: Celery, job: FileJob) -> None:
    """For files ingested outside a chain (batches): queue their delivery check."""
    if job.outcome == Outcome.INGESTED:
        for step in delivery_steps(app, job):
            step.clone(args=(job.to_dict(),)).apply_async()
