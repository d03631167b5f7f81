"""A source a [flows.NAME] takes belongs to the flow: the watcher (real watchdog observers on a
temporary folder, an in-memory enqueuer) neither watches nor scans it, and says so once."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import pytest

from shared.config import build_settings
from tests.doubles import RecordingEnqueuer
from workers.watcher import Watcher

pytestmark = pytest.mark.filterwarnings("ignore:Callback with id:RuntimeWarning")
PHOTO = b"\xff\xd8\xff\xe0 a photo " * 32


def wait_for(condition: object, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return bool(condition())  # type: ignore[operator]


def test_the_watcher_leaves_a_source_fed_to_a_flow_to_the_flow(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # Given source icloud taken by flow relay, and inbox taken by no flow
    for name in ("icloud", "inbox", "lib", "pixel"):
        (tmp_path / name).mkdir()
    (tmp_path / "icloud" / "before.jpg").write_bytes(PHOTO)
    settings = build_settings({
        "sources": {name: {"path": str(tmp_path / name), "library": "main",
                           "stability": "0.2s"} for name in ("icloud", "inbox")},
        "libraries": {"main": {"path": str(tmp_path / "lib")},
                      "pixel": {"path": str(tmp_path / "pixel")}},
        "flows": {"relay": {"source": "icloud",
                            "steps": [{"kind": "deliver", "library": "pixel"}]}},
    }, None, tmp_path)
    enqueuer = RecordingEnqueuer()
    watcher = Watcher(settings, enqueuer)
    stop = threading.Event()
    # When the watcher runs and a photo arrives in icloud, then one in inbox
    with caplog.at_level(logging.INFO, logger="workers.watcher"):
        watcher.start()
        thread = threading.Thread(target=watcher.run_forever, args=(stop,), daemon=True)
        thread.start()
        try:
            (tmp_path / "icloud" / "IMG_0001.jpg").write_bytes(PHOTO)
            (tmp_path / "inbox" / "IMG_0002.jpg").write_bytes(PHOTO)
            handed = wait_for(lambda: enqueuer.files)
        finally:
            stop.set()
            thread.join(timeout=5)
            watcher.stop()
    # Then only inbox's photo was queued (icloud's, written first, would have settled no
    # later), and icloud was neither watched nor scanned
    assert handed
    assert [(source, rel) for source, rel, _, _ in enqueuer.files] == [("inbox", "IMG_0002.jpg")]
    assert enqueuer.scans == ["inbox"]
    assert set(watcher.watching()) == {"inbox"}
    # And the watcher said why, in one INFO line at start
    said = [r.getMessage() for r in caplog.records if "fed to flow" in r.getMessage()]
    assert said == ["source icloud is fed to flow relay; the watcher leaves it to the flow"]
    assert (tmp_path / "icloud" / "IMG_0001.jpg").read_bytes() == PHOTO
