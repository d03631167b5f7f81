"""mediacourier.fetch_icloud: the thin task over shared.source.fetch_source, run in this
process on an in-memory broker with the icloudpd stand-in: downloads send a reconcile,
transient failures retry with backoff then are journaled, holds end the run quietly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import fakeredis
import pytest
from celery import Celery
from celery.exceptions import Retry

import tasks.fetch  # noqa: F401 - registers the task
import tasks.maintenance  # noqa: F401 - the reconcile it sends
from shared.errors import UnknownSource
from shared.ingest import Context
from shared.source import cookie_directory
from shared.state import RedisStateStore
from tasks import runtime
from tests.shared.source.icloud_standin import (
    icloud_settings,
    install_standin,
    standin_calls,
    tell_standin,
)
from tests.tasks.task_calls import call_task, drain

QUEUE = "fetch-tests"


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Celery]:
    settings = icloud_settings(tmp_path, install_standin(tmp_path / "bin"))
    app = Celery("fetch-tests", broker="memory://", backend="cache+memory://")
    app.conf.task_default_queue = QUEUE
    app.mc_settings = settings  # type: ignore[attr-defined]
    runtime.use_context(app, Context(settings, RedisStateStore(
        fakeredis.FakeRedis(decode_responses=True), "fetch-tests")))
    drain(app, QUEUE)
    yield app
    runtime._contexts.pop(id(app))  # noqa: SLF001


def _cookies(app: Celery) -> Path:
    settings = runtime.settings_of(app)
    return cookie_directory(settings, settings.sources["phone"])


def test_a_download_sends_a_reconcile_of_the_source(app: Celery, tmp_path: Path) -> None:
    # Given one photo for the stand-in to download
    photo = tmp_path / "p.jpg"
    photo.write_bytes(b"\xff\xd8 x")
    tell_standin(_cookies(app), "download", [{"src": str(photo), "name": "IMG_1.JPG"}])
    # When the task runs
    out = call_task(app, "mediacourier.fetch_icloud", "phone")
    # Then it reports the download and sent a reconcile of the source
    assert out["downloaded"] == 1 and out["failure"] is None
    sent = [m.headers["task"] for m in drain(app, QUEUE)]
    assert sent == ["mediacourier.reconcile"]


def test_a_transient_failure_retries_then_is_journaled(app: Celery) -> None:
    # Given Apple throttling
    tell_standin(_cookies(app), "throttled")
    # When the task runs with retries left, Then it retries
    with pytest.raises(Retry):
        call_task(app, "mediacourier.fetch_icloud", "phone")
    # When it runs with none left, Then the failure is journaled and nothing is held
    out = call_task(app, "mediacourier.fetch_icloud", "phone",
                    retries=runtime.settings_of(app).max_retries)
    assert out["failure"] == "transient"
    store = runtime.context_of(app).store
    failed = [e for e in store.read_journal() if e["event"] == "fetch_failed"]
    assert failed and "throttle" in failed[0]["reason"]
    assert store.fetch_hold_entries() == {}


def test_a_held_source_returns_without_running_icloudpd(app: Celery) -> None:
    # Given a source whose login failed once
    tell_standin(_cookies(app), "session_expired")
    first = call_task(app, "mediacourier.fetch_icloud", "phone")
    # When the next scheduled run comes
    second = call_task(app, "mediacourier.fetch_icloud", "phone")
    # Then the first was an auth failure, the second a hold, and icloudpd ran once
    assert first["failure"] == "auth"
    assert "Authentication required for Account." in second["held"]
    assert len(standin_calls(_cookies(app))) == 1


def test_a_source_that_is_not_icloud_is_refused(app: Celery) -> None:
    # Given no iCloud source named "camera", When the task is sent for it, Then it is refused
    with pytest.raises(UnknownSource, match="no iCloud source named 'camera'"):
        call_task(app, "mediacourier.fetch_icloud", "camera")
