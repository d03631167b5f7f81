"""A scrub's findings reach the Prometheus endpoint: damaged and repaired files are counted."""

from __future__ import annotations

import threading
import urllib.request
from pathlib import Path

import fakeredis

from shared.mirror import run_named_mirror
from shared.scrub import repairer, scrub_library
from shared.state import RedisStateStore, serve_metrics
from tests.shared.scrub.scrub_helpers import flip_byte, ingested, settings_for


def test_damaged_and_repaired_files_are_in_the_metrics(tmp_path: Path,
                                                       fake_redis: fakeredis.FakeRedis) -> None:
    # Given a mirrored library with two files rotted, one of them repaired by the scrub
    store = RedisStateStore(fake_redis, "mc")
    settings = settings_for(tmp_path)
    library = tmp_path / "library"
    ingested(store, library, {"a.jpg": b"a" * 500, "b.jpg": b"b" * 600})
    run_named_mirror(settings, "usb", store=store)
    flip_byte(library / "a.jpg")
    flip_byte(tmp_path / "backup" / "b.jpg")
    flip_byte(library / "b.jpg", offset=9)
    scrub_library(settings, store, "photos", 0, repairer(settings, store, "photos"))
    # When the metrics endpoint (on a free loopback port) is scraped
    server = serve_metrics(store, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:
            text = response.read().decode()
    finally:
        server.shutdown()
    # Then two damaged files are counted, one repaired (the other's backup copy was bad too)
    assert "mediacourier_scrub_mismatches_total 2.0" in text
    assert "mediacourier_scrub_repairs_total 1.0" in text
