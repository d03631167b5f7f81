"""End to end: the metrics endpoint adds up what real workers did, and Flower's dashboard
during an ingest (photos held mid-way by a pause), photographed by headless Chromium."""

from __future__ import annotations

import shutil
import signal
import struct
import zlib
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.harness import Deployment, wait_for
from tests.e2e.ops import ARTIFACTS, http_get, screenshot, start_flower, start_metrics

FLOWER_AUTH = "viewer:dash-pw-91e0"


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    status, text = http_get(f"http://127.0.0.1:{port}/metrics")
    assert status == 200, text[:500]
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def png_facts(path: Path) -> tuple[int, int, int]:
    """(width, height, distinct colours among sampled pixels) of an 8-bit RGB(A) PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    assert depth == 8 and colour in (2, 6), (depth, colour)
    chunks, pos = [], 8
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"IDAT":
            chunks.append(data[pos + 8:pos + 8 + length])
        pos += 12 + length
    raw = zlib.decompress(b"".join(chunks))
    channels = 3 if colour == 2 else 4
    stride = width * channels + 1
    # Sample raw filtered bytes row by row: a uniform image has the same bytes everywhere.
    samples = {raw[row * stride + 1:(row + 1) * stride:97] for row in range(0, height, 23)}
    return width, height, len(samples)


def test_metrics_count_what_workers_did_and_flower_dashboard_screenshot(
    deployment: Deployment, corpus_dir: Path
) -> None:
    # Given a deployment with two workers, the watcher, Flower (basic auth) and the endpoint
    source, _library = deployment.one_source(stability="0.3s")
    w1 = deployment.start_worker("w1", concurrency=1)
    w2 = deployment.start_worker("w2", concurrency=1)
    watcher = deployment.start_watcher()
    wait_for(lambda: "watching" in watcher.output(), 30, "the watcher to start")
    _flower, flower_port = start_flower(deployment, FLOWER_AUTH)
    _metrics, metrics_port = start_metrics(deployment)
    before = scrape(metrics_port)
    assert before[("mediacourier_files_ingested_total", ())] == 0

    # When corpus photos land, plus two byte-identical copies (duplicates, left in place)
    photos = sorted((corpus_dir / "jpg").glob("*.jpg"))[:10]
    for photo in photos:
        shutil.copy2(photo, source / photo.name)
    wait_for(lambda: len(deployment.events("ingested")) == len(photos), 60, "the ingest")
    for photo in photos[:2]:
        shutil.copy2(photo, source / f"again {photo.name}")
    wait_for(lambda: len(deployment.events("duplicate")) == 2, 60, "the duplicates")

    # Then the endpoint, scraped over HTTP, counts exactly that
    after = scrape(metrics_port)
    assert after[("mediacourier_files_ingested_total", ())] == len(photos)
    assert after[("mediacourier_bytes_ingested_total", ())] == sum(
        p.stat().st_size for p in photos)
    assert after[("mediacourier_duplicates_total", ())] == 2
    assert after[("mediacourier_failures_total", ())] == 0
    assert after[("mediacourier_files_in_flight", ())] == 0
    # … and every recorded file's stages are in the histograms (both workers added to them)
    hosts = {e["host"] for e in deployment.events("ingested")}
    assert hosts, "the journal names the worker host"
    for stage in ("hash_file", "claim_content"):
        count = after[("mediacourier_stage_duration_seconds_count", (("stage", stage),))]
        assert count == len(photos) + 2, stage
    transfers = after[("mediacourier_stage_duration_seconds_count",
                       (("stage", "transfer_file"),))]
    assert transfers == len(photos)
    assert after[("mediacourier_stage_duration_seconds_sum", (("stage", "transfer_file"),))] > 0

    # … Flower's own /metrics (no credentials, as documented) has seen the tasks
    status, flower_metrics = http_get(f"http://127.0.0.1:{flower_port}/metrics")
    assert status == 200 and "flower_events_total" in flower_metrics
    assert 'task="mediacourier.hash_file"' in flower_metrics

    # Given an ingest caught in the middle: the workers stop, six more photos are queued by the
    # watcher, their library is paused, and fresh workers pick the tasks up and hold them
    for worker in (w1, w2):
        deployment.kill(worker, signal.SIGTERM)
    more = sorted((corpus_dir / "jpg" / "gps").glob("*.jpg"))[:6]
    for photo in more:
        shutil.copy2(photo, source / f"gps {photo.name}")
    wait_for(lambda: scrape(metrics_port)[("mediacourier_files_in_flight", ())] == len(more),
             60, "the watcher to queue the new photos")
    paused = deployment.run_cli("pause", "target", "lib")
    assert paused.returncode == 0, paused.stderr
    w3 = deployment.start_worker("w3", concurrency=1)
    wait_for(lambda: "is paused" in w3.output(), 60, "a held task")

    # When headless Chromium photographs the dashboard now, logged in through the URL
    user, password = FLOWER_AUTH.split(":")
    shot = ARTIFACTS / "flower-dashboard.png"
    done = screenshot(f"http://{user}:{password}@127.0.0.1:{flower_port}/", shot)
    # Then it was taken during the ingest: those photos were still in flight, in the inbox
    assert scrape(metrics_port)[("mediacourier_files_in_flight", ())] == len(more)
    assert all((source / f"gps {photo.name}").is_file() for photo in more)
    assert shot.is_file(), f"no screenshot: {done.stderr[-2000:]}"
    width, height, distinct = png_facts(shot)
    assert (width, height) == (1280, 900)
    assert shot.stat().st_size > 20_000, "a blank page compresses to almost nothing"
    assert distinct > 10, "the image is (nearly) uniform"
    # The page is the dashboard, not a 401 error page: fetch it the same way and compare.
    status, page = http_get(f"http://127.0.0.1:{flower_port}/", auth=FLOWER_AUTH)
    assert status == 200 and "w1-" in page and "w3-" in page
    # When the library is resumed, Then the held ingest completes
    resumed = deployment.run_cli("resume", "target", "lib")
    assert resumed.returncode == 0, resumed.stderr
    wait_for(lambda: len(deployment.events("ingested")) == len(photos) + len(more), 90,
             "the held photos to arrive")
    assert not any((source / f"gps {photo.name}").exists() for photo in more)
