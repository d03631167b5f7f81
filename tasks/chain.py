"""The ingest chain, assembled in one place, top to bottom."""

from __future__ import annotations

from celery import Celery, chain
from celery.canvas import Signature

from shared.jobs import FileJob
from shared.pipeline import STAGES


def ingest_chain(app: Celery, job: FileJob) -> Signature:
    """hash_file → claim_content → transfer_file → verify_copy → request_rescan → record_outcome."""
    first, *rest = (app.signature(f"mediacourier.{name}") for name, _ in STAGES)
    return chain(first.clone(args=(job.to_dict(),)), *rest)
