"""A process that ingests a source the way the workers do, for the crash-point tests.

    python -m tests.shared.ingest.crash_runner CONFIG REDIS_URL PREFIX chain|batch STATE_DIR

`chain` runs each file stage by stage, saving the input of every stage first, like a Celery
message that is acknowledged only after its stage ran: run again after a crash, the stage that
was running is delivered again with the same input. `batch` runs all files through the one
batch runner; run again, the whole batch is delivered again. Arm a crash with
MEDIACOURIER_CRASH_AT (shared/crashpoints.py).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from shared.config import load_settings
from shared.ingest import STAGES, Context, ingest_many, run_all, run_stage
from shared.jobs import FileJob
from shared.source import plan_source
from shared.state import RedisStateStore


def _jobs(ctx: Context, state: Path) -> list[FileJob]:
    """The batch as first planned (kept, so a redelivery carries the same items)."""
    planned = state / "planned.json"
    if planned.exists():
        return [FileJob.from_dict(d) for d in json.loads(planned.read_text())]
    source = ctx.settings.sources["cam"]
    plan = plan_source(ctx.store, source, stale_after=3600, retry_failed=True, now=2**40)
    jobs = [FileJob("cam", e.rel_path, e.size, e.mtime_ns) for e in plan.to_ingest]
    planned.write_text(json.dumps([j.to_dict() for j in jobs]))
    return jobs


def run_chain(ctx: Context, jobs: list[FileJob], state: Path) -> None:
    names = [name for name, _ in STAGES]
    for job in jobs:
        saved = state / f"{job.rel_path.replace('/', '__')}.json"
        start = 0
        if saved.exists():
            data = json.loads(saved.read_text())
            if data["stage"] == "done":
                continue
            start, job = names.index(data["stage"]), FileJob.from_dict(data["job"])
        for name in names[start:]:
            saved.write_text(json.dumps({"stage": name, "job": job.to_dict()}))
            job = run_stage(name, job, ctx)
        saved.write_text(json.dumps({"stage": "done", "job": job.to_dict()}))


def run_batch(ctx: Context, jobs: list[FileJob]) -> None:
    def settle(job: FileJob, result: object) -> FileJob:
        return result if isinstance(result, FileJob) else run_all(job, ctx)

    ingest_many(jobs, ctx, settle)


def main(argv: list[str]) -> int:
    config, url, prefix, mode, state_dir = argv
    settings = load_settings(config)
    ctx = Context(settings, RedisStateStore.from_url(url, prefix), hostname="crash-test")
    state = Path(state_dir)
    jobs = _jobs(ctx, state)
    if mode == "chain":
        run_chain(ctx, jobs, state)
    else:
        run_batch(ctx, jobs)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
