"""End to end: pausing a source with real worker and watcher processes loses nothing."""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

from tests.e2e.corpus import sha256
from tests.e2e.harness import Deployment, wait_for


def test_paused_source_holds_queued_and_new_files_and_resume_delivers_all(
    deployment: Deployment, corpus_dir: Path
) -> None:
    # Given a move-mode source with the watcher running but no worker yet
    source, library = deployment.one_source(stability="0.3s")
    watcher = deployment.start_watcher()
    # (its catch-up scan of the empty inbox done: files landing after it reach the watcher by
    # their events and go as chains; landing during it, they would go in the scan's batch)
    wait_for(lambda: "catch-up scan queued 0 files" in watcher.output(), 30,
             "the watcher to start")
    photos = sorted((corpus_dir / "jpg").glob("*.jpg"))[:8]
    early, late = photos[:4], photos[4:]
    hashes = {p.name: sha256(p) for p in photos}
    store = deployment.store()
    # … and four files already queued (in flight, as chains of stage tasks) before the pause
    for photo in early:
        shutil.copy2(photo, source / photo.name)
    wait_for(lambda: len(store.inflight()) == len(early), 30, "the early files to be queued")

    # When the source is paused, a worker starts, and more files land
    paused = deployment.run_cli("pause", "source", "inbox")
    assert paused.returncode == 0, paused.stderr
    assert "inbox paused" in paused.stdout
    worker = deployment.start_worker(concurrency=2)
    for photo in late:
        shutil.copy2(photo, source / photo.name)
    # (the worker sees the queued chains, and they wait rather than run)
    wait_for(lambda: worker.output().count("is paused") >= len(early), 30,
             "the queued stages to wait")
    time.sleep(3)  # the late files settle and reach the watcher, which leaves them alone

    # Then nothing moved, nothing failed, nothing was dropped
    assert sorted(p.name for p in source.iterdir()) == sorted(hashes)
    assert not any(library.iterdir())
    assert not deployment.events("ingested") and not deployment.events("failed")
    status = deployment.run_cli("status")
    assert status.returncode == 0, status.stderr
    assert re.search(r"paused\s*│\s*source inbox", status.stdout), status.stdout

    # When the source is resumed
    resumed = deployment.run_cli("resume", "source", "inbox")
    assert resumed.returncode == 0, resumed.stderr
    assert "reconciling inbox" in resumed.stdout

    # Then every file arrives, verified and byte-identical, and the inbox empties
    wait_for(lambda: len(deployment.events("ingested")) == len(photos), 60,
             "all files to be ingested")
    assert {p.name: sha256(p) for p in library.iterdir()} == hashes
    wait_for(lambda: not any(source.iterdir()), 10, "the inbox to empty")
    assert not deployment.events("failed")
    # … and the waits were not retries: every stage that ran did so with its retry count at 0
    metas = [json.loads(store.client.get(key))
             for key in store.client.scan_iter("celery-task-meta-*")]
    stages = [m for m in metas if str(m.get("name", "")).startswith("mediacourier.")
              and m["name"] != "mediacourier.reconcile"]
    assert any(m["name"] == "mediacourier.hash_file" for m in stages)
    assert {m["status"] for m in stages} == {"SUCCESS"}
    assert {m["retries"] for m in stages} == {0}
    assert not store.paused() and not store.inflight()


def test_paused_library_target_holds_its_sources_until_resumed(
    deployment: Deployment, corpus_dir: Path
) -> None:
    # Given a running worker and watcher, and the library paused as a target
    source, library = deployment.one_source(stability="0.3s")
    deployment.start_worker()
    watcher = deployment.start_watcher()
    wait_for(lambda: "watching" in watcher.output(), 30, "the watcher to start")
    paused = deployment.run_cli("pause", "target", "lib")
    assert paused.returncode == 0, paused.stderr
    unknown = deployment.run_cli("pause", "target", "nas")
    assert unknown.returncode == 2 and "no target named 'nas'" in unknown.stderr

    # When photos land
    photos = sorted((corpus_dir / "jpg").glob("*.jpg"))[:3]
    for photo in photos:
        shutil.copy2(photo, source / photo.name)
    wait_for(lambda: watcher.output().count("'lib' is paused") >= len(photos), 30,
             "the watcher to leave the files for later")
    # Then nothing is queued and nothing moves
    assert not any(library.iterdir()) and not deployment.store().inflight()

    # When the library is resumed, Then its source is reconciled and everything arrives
    resumed = deployment.run_cli("resume", "target", "lib")
    assert resumed.returncode == 0 and "reconciling inbox" in resumed.stdout, resumed.stderr
    wait_for(lambda: len(deployment.events("ingested")) == len(photos), 60, "the ingest")
    assert {p.name: sha256(p) for p in library.iterdir()} == {p.name: sha256(p) for p in photos}
