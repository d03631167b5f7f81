"""TODO"""

from shared.ingest.batch import run_batch
from shared.ingest.context import Context
from shared.ingest.pipeline import STAGES, give_up, run_all, run_stage

__all__ = [
    "Context",
    "STAGES",
    "give_up",
    "run_all",
    "run_batch",
    "run_stage",
]
