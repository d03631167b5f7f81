"""Ingest: the stages a file goes through (hash, claim, transfer, verify, rescan, record), run
one at a time by the chain's tasks or many at once by a batch, on a `Context` passed in.

`pipeline` names the stages and runs one; `batch` runs many files stage by stage; `placing`,
`duplicates` and `recording` hold the stages' work."""

from shared.ingest.batch import chunks, ingest_many, run_batch, waves
from shared.ingest.claims import renew_claim
from shared.ingest.context import Context
from shared.ingest.deadlines import (
    batch_time_limits,
    soft_time_limit,
    time_limits,
    wait_for_free_lease,
)
from shared.ingest.library_index import (
    IndexRun,
    first_index_hold,
    index_library,
    needs_first_index,
    target_of,
)
from shared.ingest.pipeline import STAGES, fail_and_record, give_up, run_all, run_stage

__all__ = [
    "STAGES",
    "Context",
    "IndexRun",
    "batch_time_limits",
    "chunks",
    "fail_and_record",
    "first_index_hold",
    "give_up",
    "index_library",
    "ingest_many",
    "needs_first_index",
    "renew_claim",
    "run_all",
    "run_batch",
    "run_stage",
    "soft_time_limit",
    "target_of",
    "time_limits",
    "wait_for_free_lease",
    "waves",
]
