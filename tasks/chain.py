"""The ingest chain, assembled in one place, top to bottom."""

from __future__ import annotations

from celery import Celery, chain
from celery.canvas import Signature

from shared.ingest import STAGES
from shared.jobs import FileJob, Outcome


def ingest_chain(app: Celery, job: FileJob) -> Signature:
    """hash_file → claim_content → transfer_file → verify_copy → request_rescan → record_outcome."""
    first, *rest = (app.signature(f"mediacourier.{name}") for name, _ in STAGES)
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
