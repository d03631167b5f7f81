"""A second delivery of work a live worker is doing (a visibility-timeout restore, the in-flight
sweeper): the stage task ends quietly (no retry, the chain not continued twice), a batch leaves
the file to its holder. Real Celery app object (in-memory broker), real files, a fake Redis."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fakeredis
import pytest
from celery import Celery
from celery.exceptions import Ignore

import tasks.ingest
from shared.config import build_settings
from shared.ingest import Context
from shared.jobs import FileJob
from shared.state import RedisStateStore
from tasks import runtime
from tests.tasks.task_calls import call_task

pytestmark = pytest.mark.filterwarnings("ignore:Task name 'mediacourier.test_stage'")
HOLDER = "other-host|1|77|0123456789abcdef"  # a live worker on another machine


class Rig:
    def __init__(self, root: Path, app: Celery, ctx: Context) -> None:
        self.root, self.app, self.ctx = root, app, ctx
        self.source, self.library = root / "src", root / "lib"
        self.chains: list[FileJob] = []

    def call(self, name: str, *args: Any) -> Any:
        return call_task(self.app, name, *args)

    def hold(self, rel: str) -> str:
        """Another live worker holds `rel`'s lease; its Redis key."""
        key = self.ctx.store.key("lock", f"file:inbox:{rel}")
        self.ctx.store.client.set(key, HOLDER, px=60_000)
        return key


@pytest.fixture
def rig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    for name in ("src", "lib"):
        (tmp_path / name).mkdir()
    settings = build_settings({
        "sources": {"inbox": {"path": str(tmp_path / "src"), "library": "main"}},
        "libraries": {"main": {"path": str(tmp_path / "lib"), "layout": "{name}"}},
    }, None, tmp_path)
    app = Celery("leases-test", broker="memory://", backend="cache+memory://")
    app.mc_settings = settings  # type: ignore[attr-defined]
    app.finalize()
    ctx = Context(settings, RedisStateStore(fakeredis.FakeRedis(decode_responses=True), "ls"))
    runtime.use_context(app, ctx)
    built = Rig(tmp_path, app, ctx)

    class Chain:
        def __init__(self, job: FileJob) -> None:
            self.job = job

        def apply_async(self, **_: Any) -> None:
            built.chains.append(self.job)

    monkeypatch.setattr(tasks.ingest, "ingest_chain", lambda _app, job, **_kw: Chain(job))
    yield built
    runtime._contexts.pop(id(app))  # noqa: SLF001


def _photo(rig: Rig, rel: str) -> tuple[bytes, os.stat_result]:
    data = os.urandom(3000)
    (rig.source / rel).write_bytes(data)
    return data, os.stat(rig.source / rel)


@pytest.mark.parametrize("stage", ["hash_file", "transfer_file", "record_outcome"])
def test_a_stage_whose_file_a_live_worker_holds_ends_quietly(rig: Rig, stage: str) -> None:
    # Given a photo another live worker is ingesting (it holds the file's lease)
    data, info = _photo(rig, "IMG_1.jpg")
    key = rig.hold("IMG_1.jpg")
    job = FileJob("inbox", "IMG_1.jpg", info.st_size, info.st_mtime_ns,
                  queued_version=f"{info.st_size}:{info.st_mtime_ns}")
    # When a second copy of one of its stage messages arrives
    with pytest.raises(Ignore):
        rig.call(f"mediacourier.{stage}", job.to_dict())
    # Then it ends there: no retry (Ignore, not Retry), the stage did not run, nothing was
    # recorded or journaled, and the holder's lease is untouched
    assert (rig.source / "IMG_1.jpg").read_bytes() == data
    assert not list(rig.library.iterdir())
    assert rig.ctx.store.get_record("inbox", "IMG_1.jpg") is None
    assert rig.ctx.store.read_journal() == []
    assert rig.ctx.store.client.get(key) == HOLDER


def test_a_batch_leaves_a_file_a_live_worker_holds_to_that_worker(rig: Rig) -> None:
    # Given a batch of two photos, one of which another live worker is ingesting
    _, held = _photo(rig, "held.jpg")
    free_data, free = _photo(rig, "free.jpg")
    rig.hold("held.jpg")
    items = [["held.jpg", held.st_size, held.st_mtime_ns],
             ["free.jpg", free.st_size, free.st_mtime_ns]]
    # When the batch runs
    counts = rig.call("mediacourier.ingest_batch", "inbox", items)
    # Then the free one is ingested, and the held one is left to its holder: not sent again as
    # a chain of its own (which would retry beside the holder), not recorded
    assert counts == {"ingested": 1, "busy": 1}
    assert rig.chains == []
    assert (rig.library / "free.jpg").read_bytes() == free_data
    assert (rig.source / "held.jpg").exists() and not (rig.library / "held.jpg").exists()
    assert rig.ctx.store.get_record("inbox", "held.jpg") is None
