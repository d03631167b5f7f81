"""A stage delivered again while its earlier delivery is still at work, or after it died: the
real transfer_file task and stage code on a Celery app object, real files, and the real Redis
(the file leases are Lua scripts on it)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery, Task
from celery.exceptions import Ignore

from shared.config import build_settings
from shared.ingest import Context, run_stage
from shared.ingest.leases import file_lease_name
from shared.jobs import FileJob, Outcome
from shared.state import RedisStateStore
from shared.transfer import LocalTransfer
from tasks import runtime
from tasks.deliveries import MAX_DELIVERIES
from tasks.ingest import STAGE_TASKS

VIDEO = b"a long video, standing in for 40 GB over a slow share" * 1000


class GatedTransfer(LocalTransfer):
    """The local backend, with a copy that waits for the test to let it go (a giant file on a
    slow share), or whose process dies in it."""

    def __init__(self) -> None:
        super().__init__()
        self.started = threading.Event()
        self.go = threading.Event()
        self.places = 0
        self.die = False

    def place(self, *args: Any, **kwargs: Any) -> Any:
        self.places += 1
        if self.die:
            raise SystemExit(1)
        self.started.set()
        assert self.go.wait(60), "the test never let the copy go"
        return super().place(*args, **kwargs)


@dataclass
class Setup:
    ctx: Context
    backend: GatedTransfer
    lib: Path
    transfer: Task
    job: FileJob


@pytest.fixture
def setup(tmp_path: Path, redis_client: redis.Redis, key_prefix: str) -> Iterator[Setup]:
    (tmp_path / "src").mkdir()
    (tmp_path / "lib").mkdir()
    (tmp_path / "src" / "big.mov").write_bytes(VIDEO)
    settings = build_settings({
        "sources": {"cam": {"path": str(tmp_path / "src"), "library": "lib", "mode": "copy"}},
        "libraries": {"lib": {"path": str(tmp_path / "lib")}},
        "lease_seconds": 1,
    }, None, tmp_path)
    backend = GatedTransfer()
    ctx = Context(settings, RedisStateStore(redis_client, key_prefix), backend=backend,
                  hostname="test-host")
    app = Celery("redelivered-test", broker="memory://", backend="cache+memory://")
    app.mc_settings = settings  # type: ignore[attr-defined]
    runtime.use_context(app, ctx)
    # The file is hashed and its content claimed: the chain is at its transfer.
    job = run_stage("claim_content", run_stage("hash_file", FileJob("cam", "big.mov"), ctx), ctx)
    assert job.outcome == Outcome.CLAIMED
    yield Setup(ctx, backend, tmp_path / "lib", app.tasks[STAGE_TASKS["transfer_file"].name],
                job)
    runtime._contexts.pop(id(app))  # noqa: SLF001


def deliver(task: Task, job: FileJob, task_id: str = "giant") -> Any:
    task.push_request(id=task_id, retries=0, args=[job.to_dict()], kwargs={},
                      called_directly=False, delivery_info={"routing_key": "q", "exchange": ""})
    try:
        return task.run(job.to_dict())
    finally:
        task.pop_request()


def test_a_transfer_at_work_past_the_visibility_timeout_never_runs_twice(setup: Setup) -> None:
    # Given the transfer of a giant file at work in one worker (its lease renewed by the
    # heartbeat), running for longer than the visibility timeout
    first: dict[str, Any] = {}
    worker = threading.Thread(target=lambda: first.update(result=deliver(setup.transfer,
                                                                         setup.job)))
    worker.start()
    assert setup.backend.started.wait(30), "the first delivery never started its copy"
    # When Redis hands its message out again, more often than MAX_DELIVERIES (a transfer of
    # ten hours under a visibility timeout of one)
    copies = []
    for _ in range(MAX_DELIVERIES + 1):
        began = time.monotonic()
        with pytest.raises(Ignore):
            deliver(setup.transfer, setup.job)
        copies.append(time.monotonic() - began)
    # Then every copy ended quietly, after waiting a lease at most: none copied, none failed
    # the file, nothing was recorded
    assert setup.backend.places == 1
    assert all(seconds < 5 for seconds in copies), copies
    assert setup.ctx.store.get_record("cam", "big.mov") is None
    assert not [e for e in setup.ctx.store.read_journal(100) if e["event"] == "failed"]
    # … and the first delivery finishes the copy, once
    setup.backend.go.set()
    worker.join(30)
    assert first["result"]["outcome"] == Outcome.TRANSFERRED.value
    assert [p.name for p in setup.lib.iterdir()] == ["big.mov"]
    assert (setup.lib / "big.mov").read_bytes() == VIDEO


def test_a_redelivery_after_a_death_waits_out_the_dead_lease_and_runs(setup: Setup,
                                                                       redis_client) -> None:
    # Given a transfer whose process died in the copy, leaving its lease behind with nobody to
    # renew it (it runs out in 1.5 s)
    setup.backend.die = True
    with pytest.raises(SystemExit):
        deliver(setup.transfer, setup.job)
    lease = setup.ctx.store.key("lock", file_lease_name(setup.job))
    redis_client.set(lease, "token-of-the-dead", px=1500)
    # When its message comes back at once (a lost pool process is re-queued at once)
    setup.backend.die = False
    setup.backend.go.set()
    result = deliver(setup.transfer, setup.job)
    # Then it waited for the lease to run out and did the transfer, instead of leaving the
    # file to the in-flight sweeper
    assert result["outcome"] == Outcome.TRANSFERRED.value
    assert (setup.lib / "big.mov").read_bytes() == VIDEO
    assert setup.backend.places == 2
