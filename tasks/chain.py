"""The ingest chain, assembled in one place, top to bottom."""

from __future__ import annotations

from celery import Celery, chain
from celery.canvas import Signature

from shared.ingest import STAGES, time_limits
from shared.jobs import FileJob, Outcome


def ingest_chain(app: Celery, job: FileJob, size: int | None = None) -> Signature:
    """hash_file → claim_content → transfer_file → verify_copy → request_rescan → record_outcome.

    Each stage's time limits follow the file's size (`size`, else the job's; see
    shared/ingest/deadlines.py): a 40 GB video is not killed by the limit of a photo."""
    settings = getattr(app, "mc_settings", None)
    limits = time_limits(settings, job.size if size is None else size) if settings else {}
    first, *rest = (app.signature(f"mediacourier.{name}", **limits) for name, _ in STAGES)
    return chain(first.clone(args=(job.to_dict(),)), *rest, *delivery_steps(app, job))


def delivery_steps(app: Celery, job: FileJob) -> list[Signature]:
    """→ confirm_delivery, when the file's library lies in a Syncthing folder."""
    settings = getattr(app, "mc_settings", None)
    source = settings.sources.get(job.source) if settings else None
    if source is None or not settings.library_of(source).syncthing:
        return []
    return [app.signature("mediacourier.confirm_delivery")]


def send_delivery_check(app: Celery, job: FileJob) -> None:
    """For files ingested outside a chain (batches): queue their delivery check."""
    if job.outcome == Outcome.INGESTED:
        for step in delivery_steps(app, job):
            step.clone(args=(job.to_dict(),)).apply_async()
