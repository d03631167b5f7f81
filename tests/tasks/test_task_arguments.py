"""Every task that receives a path or a FileJob checks it against the roots before touching
anything: `..`, absolute paths, NUL bytes and symlinked folders pointing out of the source are
refused with one line (PathRefused), journaled as `refused`, and no file moves. The tasks run on
a real Celery app object (in-memory broker), real files and a fake Redis, without a worker."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fakeredis
import pytest
from celery import Celery

import tasks.delivery
import tasks.ingest
import tasks.maintenance  # noqa: F401 - registers the tasks on the app
from shared.config import build_settings
from shared.errors import PathRefused, UnknownSource
from shared.ingest import STAGES, Context
from shared.jobs import FileJob
from shared.state import RedisStateStore
from tasks import runtime
from tests.tasks.task_calls import call_task

# Finalizing the app registers every shared task, including another test module's stand-in.
pytestmark = pytest.mark.filterwarnings("ignore:Task name 'mediacourier.test_stage'")
PHOTO = b"\xff\xd8\xff\xe0 not the user's only copy " * 64


class Rig:
    def __init__(self, root: Path, app: Celery, ctx: Context) -> None:
        self.root, self.app, self.ctx = root, app, ctx
        self.source, self.library = root / "src", root / "lib"
        self.outside = root / "outside" / "secret.jpg"

    def call(self, name: str, *args: Any) -> Any:
        return call_task(self.app, name, *args)

    def refusals(self) -> list[dict[str, str]]:
        return [e for e in self.ctx.store.read_journal(1000) if e["event"] == "refused"]

    def untouched(self) -> None:
        """The file outside the source is still there, byte for byte, and nothing arrived."""
        assert hashlib.sha256(self.outside.read_bytes()).digest() == \
            hashlib.sha256(PHOTO).digest()
        assert [p for p in self.library.rglob("*")] == []
        assert self.ctx.store.get_record("inbox", "../outside/secret.jpg") is None


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    for name in ("src", "lib", "outside"):
        (tmp_path / name).mkdir()
    (tmp_path / "outside" / "secret.jpg").write_bytes(PHOTO)
    # A symlinked folder inside the source that points out of it
    os.symlink(tmp_path / "outside", tmp_path / "src" / "link")
    settings = build_settings({
        "sources": {"inbox": {"path": str(tmp_path / "src"), "library": "main"}},
        "libraries": {"main": {"path": str(tmp_path / "lib"), "layout": "{name}"}},
        "rescan": {"app": {"command": ["true", "{folder}"]}},
    }, None, tmp_path)
    app = Celery("arguments-test", broker="memory://", backend="cache+memory://")
    app.mc_settings = settings  # type: ignore[attr-defined]
    app.finalize()
    ctx = Context(settings, RedisStateStore(fakeredis.FakeRedis(decode_responses=True), "args"))
    runtime.use_context(app, ctx)
    yield Rig(tmp_path, app, ctx)
    runtime._contexts.pop(id(app))  # noqa: SLF001


BAD_PATHS = ["../outside/secret.jpg", "link/secret.jpg", "/etc/passwd", "./IMG.jpg",
             "a//b.jpg", "IMG\x00.jpg", ""]


@pytest.mark.parametrize("stage", [name for name, _ in STAGES])
@pytest.mark.parametrize("rel", BAD_PATHS)
def test_every_stage_task_refuses_a_path_that_leaves_the_source(rig: Rig, stage: str,
                                                                rel: str) -> None:
    # Given a job that names a file outside the source (by '..', a symlinked folder, ...)
    job = FileJob("inbox", rel, len(PHOTO), 1, sha256=hashlib.sha256(PHOTO).hexdigest())
    # When the stage task receives it, as `celery call` would send it
    with pytest.raises(PathRefused) as refused:
        rig.call(f"mediacourier.{stage}", job.to_dict())
    # Then it is refused with one line naming the path, journaled, and nothing moved
    assert "\n" not in str(refused.value) and repr(rel) in str(refused.value)
    assert [(e["task"], e.get("path", "")) for e in rig.refusals()] == [
        (f"mediacourier.{stage}", rel)]
    rig.untouched()


def test_a_stage_refuses_before_the_gates_and_names_an_unknown_source(rig: Rig) -> None:
    # Given the source is paused (a good job would be sent again later)
    rig.ctx.store.set_paused("source", "inbox", True)
    # When a job for a source that does not exist arrives / Then it is refused at once
    with pytest.raises(PathRefused, match="no source named 'nope'; configured: inbox"):
        rig.call("mediacourier.hash_file", FileJob("nope", "x.jpg").to_dict())
    # … and one whose destination leaves the library, too
    escaping = FileJob("inbox", "IMG.jpg", dest_path="../outside/secret.jpg")
    with pytest.raises(PathRefused, match="dest_path '../outside/secret.jpg'"):
        rig.call("mediacourier.verify_copy", escaping.to_dict())
    assert len(rig.refusals()) == 2
    rig.untouched()


def test_ingest_batch_refuses_the_bad_items_and_ingests_the_good_one(rig: Rig) -> None:
    # Given a batch with one real file of the inbox and items that leave it
    (rig.source / "good.jpg").write_bytes(PHOTO[::-1])
    stat = os.stat(rig.source / "good.jpg")
    items = [["../outside/secret.jpg", len(PHOTO), 1], ["link/secret.jpg", len(PHOTO), 1],
             [str(rig.outside), len(PHOTO), 1], ["good.jpg", stat.st_size, stat.st_mtime_ns]]
    # When the batch runs
    counts = rig.call("mediacourier.ingest_batch", "inbox", items)
    # Then the three are refused and journaled, the good file is ingested, the outside file
    # stays where it is
    assert counts == {"refused": 3, "ingested": 1}
    assert [e["path"] for e in rig.refusals()] == [
        "../outside/secret.jpg", "link/secret.jpg", str(rig.outside)]
    assert (rig.library / "good.jpg").read_bytes() == PHOTO[::-1]
    assert rig.outside.read_bytes() == PHOTO


def test_ingest_batch_for_an_unknown_source_is_refused_whole(rig: Rig) -> None:
    with pytest.raises(PathRefused, match="no source named 'elsewhere'"):
        rig.call("mediacourier.ingest_batch", "elsewhere", [["secret.jpg", 1, 1]])
    assert [e["source"] for e in rig.refusals()] == ["elsewhere"]


def test_manual_ingest_checks_the_path_after_resolving_links(rig: Rig) -> None:
    # Given paths inside the inbox as written, but not once resolved: through a symlinked
    # folder, and with '..'
    through_link = str(rig.source / "link" / "secret.jpg")
    dotdot = str(rig.source / ".." / "outside" / "secret.jpg")
    # When `mediacourier.ingest` is called with each
    for path in (through_link, dotdot):
        with pytest.raises(PathRefused, match="outside every configured source"):
            rig.call("mediacourier.ingest", path)
    # Then both are refused (the link's line says where it leads) and journaled
    with pytest.raises(PathRefused, match=f"resolves to {rig.outside}"):
        rig.call("mediacourier.ingest", through_link)
    assert [e["path"] for e in rig.refusals()] == [through_link, dotdot, through_link]
    rig.untouched()


def test_confirm_delivery_checks_its_job(rig: Rig) -> None:
    with pytest.raises(PathRefused, match="'../outside/secret.jpg'"):
        rig.call("mediacourier.confirm_delivery",
                 FileJob("inbox", "../outside/secret.jpg").to_dict(), 0.0)
    with pytest.raises(PathRefused, match="not a FileJob"):
        rig.call("mediacourier.confirm_delivery", {"source": "inbox", "path": "/etc"}, 0.0)
    assert len(rig.refusals()) == 2


def test_reconcile_and_flush_refuse_names_that_are_not_configured(rig: Rig) -> None:
    with pytest.raises(UnknownSource, match=r"no source named \['inbox'\]"):
        rig.call("mediacourier.reconcile", ["inbox"])
    with pytest.raises(UnknownSource, match="followup='yes'"):
        rig.call("mediacourier.reconcile", "inbox", "yes")
    with pytest.raises(UnknownSource, match="no rescan target named '../app'; configured: app"):
        rig.call("mediacourier.flush_rescans", "../app")
    assert [e["task"] for e in rig.refusals()] == [
        "mediacourier.reconcile", "mediacourier.reconcile", "mediacourier.flush_rescans"]
