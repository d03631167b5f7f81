"""The real watcher on a fake Nextcloud data directory whose users come and go while it runs."""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from shared.config import NextcloudOptions, Settings, SourceConfig
from tests.doubles import RecordingEnqueuer
from tests.shared.source.nextcloud_helpers import make_data_dir
from tests.workers.watcher_helpers import WINDOW, paths
from workers.watcher import Watcher

pytestmark = pytest.mark.filterwarnings("ignore:Callback with id:RuntimeWarning")

UPLOADS = "files/InstantUpload"


def _wait_until(condition: Callable[[], bool], timeout: float = 8.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def _settings(data: Path, polling: str = "off", **options: tuple[str, ...]) -> Settings:
    source = SourceConfig(name="nc", path=data, library="lib", stability_seconds=WINDOW,
                          polling=polling, kind="nextcloud",
                          nextcloud=NextcloudOptions(**options))  # type: ignore[arg-type]
    return Settings(data_dir=data.parent / "state", sources={"nc": source})


@contextmanager
def _running(watcher: Watcher) -> Iterator[None]:
    stop = threading.Event()
    watcher.start()
    thread = threading.Thread(target=watcher.run_forever, args=(stop,), daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
        watcher.stop()


def _problems(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.levelno >= logging.WARNING or r.exc_info is not None]


@pytest.mark.parametrize("polling", ["off", "on"])
def test_users_found_at_start_and_a_user_created_while_running_are_watched(
        tmp_path: Path, polling: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="workers")
    # Given a data directory with alice and bob, and a running watcher
    data = make_data_dir(tmp_path, {"alice": [UPLOADS], "bob": [UPLOADS]})
    enqueuer = RecordingEnqueuer()
    watcher = Watcher(_settings(data, polling), enqueuer, poll_interval=0.2)
    with _running(watcher):
        # When both upload a photo, and Nextcloud writes a preview into appdata
        (data / "alice" / UPLOADS / "IMG_1.jpg").write_bytes(b"alice" * 50)
        (data / "bob" / UPLOADS / "IMG_2.jpg").write_bytes(b"bob" * 50)
        (data / "appdata_oc1x2y3z/preview/1/2/64-64.jpg").write_bytes(b"preview")
        assert _wait_until(lambda: len(enqueuer.files) == 2), enqueuer.files
        # … and then carol logs in for the first time: her folder tree appears, step by step,
        # with a photo already in it before the watcher can have seen the folder
        created = time.monotonic()
        (data / "carol" / "files").mkdir(parents=True)
        (data / "carol" / UPLOADS).mkdir()
        (data / "carol" / UPLOADS / "IMG_3.jpg").write_bytes(b"carol" * 50)
        assert _wait_until(lambda: len(enqueuer.files) == 3), enqueuer.files
        seen_after = time.monotonic() - created
        # … and writes another one once she is watched
        (data / "carol" / UPLOADS / "IMG_4.jpg").write_bytes(b"carol4" * 50)
        assert _wait_until(lambda: len(enqueuer.files) == 4), enqueuer.files
        watched = watcher.watching()
        time.sleep(WINDOW * 2)  # nothing else settles (appdata's preview must not)
    # Then every user's photo was handed over once, its user first in its path, appdata never
    assert paths(enqueuer) == ["alice/files/InstantUpload/IMG_1.jpg",
                               "bob/files/InstantUpload/IMG_2.jpg",
                               "carol/files/InstantUpload/IMG_3.jpg",
                               "carol/files/InstantUpload/IMG_4.jpg"]
    # … carol within a few seconds and without a restart; one catch-up scan, at the start
    assert seen_after < 5.0
    assert enqueuer.scans == ["nc"]
    assert sorted(watched) == ["nc", "nc:alice/files/InstantUpload",
                               "nc:bob/files/InstantUpload", "nc:carol/files/InstantUpload"]
    assert _problems(caplog) == []


def test_a_removed_user_stops_cleanly_and_comes_back_when_recreated(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="workers")
    # Given a running watcher on alice and bob
    data = make_data_dir(tmp_path, {"alice": [UPLOADS], "bob": [UPLOADS]})
    enqueuer = RecordingEnqueuer()
    watcher = Watcher(_settings(data), enqueuer)
    with _running(watcher):
        assert _wait_until(lambda: "nc:bob/files/InstantUpload" in watcher.watching())
        # When bob's account is deleted (his whole folder goes) and time passes
        shutil.rmtree(data / "bob")
        assert _wait_until(lambda: "nc:bob/files/InstantUpload" not in watcher.watching())
        time.sleep(3)  # longer than a re-discovery: a retry loop would log again meanwhile
        after_removal = watcher.watching()
        # … alice still uploads, and bob's folder is made again later
        (data / "alice" / UPLOADS / "IMG_1.jpg").write_bytes(b"alice" * 50)
        (data / "bob" / UPLOADS).mkdir(parents=True)
        (data / "bob" / UPLOADS / "IMG_2.jpg").write_bytes(b"bob" * 50)
        assert _wait_until(lambda: len(enqueuer.files) == 2), enqueuer.files
    # Then bob's watch stopped once, with one INFO line, no warning, error or traceback
    assert sorted(after_removal) == ["nc", "nc:alice/files/InstantUpload"]
    stopped = [r.getMessage() for r in caplog.records if "stopped watching user bob" in
               r.getMessage()]
    assert len(stopped) == 1, stopped
    assert _problems(caplog) == []
    # … and alice's photo and bob's, after he came back, were both handed over
    assert paths(enqueuer) == ["alice/files/InstantUpload/IMG_1.jpg",
                               "bob/files/InstantUpload/IMG_2.jpg"]


def test_excluded_users_are_not_watched_even_when_they_appear_later(tmp_path: Path) -> None:
    # Given a watcher that leaves out admin, and only alice at the start
    data = make_data_dir(tmp_path, {"alice": [UPLOADS]})
    enqueuer = RecordingEnqueuer()
    watcher = Watcher(_settings(data, users_exclude=("admin",)), enqueuer)
    with _running(watcher):
        # When admin appears and uploads, and then dave does
        (data / "admin" / UPLOADS).mkdir(parents=True)
        (data / "admin" / UPLOADS / "IMG_0.jpg").write_bytes(b"admin" * 50)
        (data / "dave" / UPLOADS).mkdir(parents=True)
        (data / "dave" / UPLOADS / "IMG_5.jpg").write_bytes(b"dave" * 50)
        assert _wait_until(lambda: len(enqueuer.files) == 1), enqueuer.files
        time.sleep(WINDOW * 3)
        watched = watcher.watching()
    # Then only dave's photo is handed over, and admin is never watched
    assert paths(enqueuer) == ["dave/files/InstantUpload/IMG_5.jpg"]
    assert "nc:admin/files/InstantUpload" not in watched
