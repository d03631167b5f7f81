"""End to end: files ingested by real Celery workers into a library inside a Syncthing folder
are confirmed delivered on the other (real) Syncthing node, and the journal says so."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.e2e.corpus import sha256
from tests.e2e.harness import Deployment, wait_for
from tests.fixtures.syncthing import SyncthingPair


def test_ingested_corpus_files_are_journaled_delivered_once_on_the_phone(
    deployment: Deployment, syncthing_pair: SyncthingPair, corpus_dir: Path
) -> None:
    pair = syncthing_pair
    pair.restart_b()
    # Given a library that is a subfolder of a Syncthing folder shared with the "phone"
    source = deployment.folder("uploads")
    library = pair.a.folder / f"library-{deployment.prefix}"
    library.mkdir()
    key_file = deployment.root / "syncthing.key"
    key_file.write_text(pair.a.api_key)
    deployment.tables = {
        "sources.camera": {"path": str(source), "library": "photos", "mode": "copy",
                           "stability": "0.5s"},
        "libraries.photos": {"path": str(library), "syncthing": "phone"},
        "syncthing.phone": {"url": pair.a.url, "api_key_file": str(key_file),
                            "folder_id": pair.folder_id, "folder_path": str(pair.a.folder),
                            "devices": [pair.b.device_id], "timeout": "60s", "poll": "0.5s"},
    }
    deployment.write_config()
    deployment.start_worker(concurrency=2)
    deployment.start_watcher()

    # When a few corpus photos land in the upload folder
    photos = sorted((corpus_dir / "jpg" / "gps").glob("*.jpg"))[:3]
    for photo in photos:
        shutil.copy2(photo, source / photo.name)

    # Then each is journaled "delivered" for the phone …
    wait_for(lambda: len(deployment.events("delivered")) >= len(photos), 60,
             "a delivered entry per photo")
    delivered = deployment.events("delivered")
    assert sorted(e["path"] for e in delivered) == sorted(p.name for p in photos)
    assert all(e["syncthing"] == "phone" and e["devices"] == pair.b.device_id[:7]
               for e in delivered)
    assert not deployment.events("delivery-pending")
    # … the phone's copy of the folder holds the same bytes …
    phone_library = pair.b.folder / library.name
    for photo, entry in zip(photos, sorted(delivered, key=lambda e: e["path"]), strict=True):
        assert sha256(phone_library / entry["dest"]) == sha256(photo)
    # … and `mediacourier history` shows the deliveries
    history = deployment.run_cli("history", "--format", "json")
    assert history.returncode == 0, history.stderr
    shown = [e for e in json.loads(history.stdout) if e["event"] == "delivered"]
    assert sorted(e["path"] for e in shown) == sorted(p.name for p in photos)


def test_a_phone_away_past_the_timeout_is_pending_and_one_back_in_time_is_delivered(
    deployment: Deployment, syncthing_pair: SyncthingPair, corpus_dir: Path
) -> None:
    pair = syncthing_pair
    pair.restart_b()
    # Given two libraries in the shared folder: one waits 2 s for the phone, the other 12 s
    key_file = deployment.root / "syncthing.key"
    key_file.write_text(pair.a.api_key)
    common = {"url": pair.a.url, "api_key_file": str(key_file), "folder_id": pair.folder_id,
              "folder_path": str(pair.a.folder), "devices": [pair.b.device_id], "poll": "0.5s"}
    tables: dict[str, dict] = {}
    for name, timeout in (("brief", "2s"), ("patient", "12s")):
        library = pair.a.folder / f"{name}-{deployment.prefix}"
        library.mkdir()
        tables |= {f"sources.{name}": {"path": str(deployment.folder(f"in-{name}")),
                                       "library": name, "mode": "copy", "stability": "0.5s"},
                   f"libraries.{name}": {"path": str(library), "syncthing": name},
                   f"syncthing.{name}": {**common, "timeout": timeout}}
    deployment.tables = tables
    deployment.write_config()
    deployment.start_worker(concurrency=2)
    deployment.start_watcher()
    # … and the phone is switched off
    pair.b.stop()
    try:
        # When a photo lands in each source
        first, second = sorted((corpus_dir / "jpg" / "gps").glob("*.jpg"))[3:5]
        shutil.copy2(first, deployment.root / "in-brief" / first.name)
        shutil.copy2(second, deployment.root / "in-patient" / second.name)
        # Then the brief one is journaled pending: the device is disconnected
        pending = wait_for(lambda: deployment.events("delivery-pending"), 30,
                           "a delivery-pending entry")
        assert [e["path"] for e in pending] == [first.name]
        assert "device disconnected" in pending[0]["reason"]
        assert pending[0]["syncthing"] == "brief"
    finally:
        # When the phone comes back within the patient library's 12 s
        pair.restart_b()
    # Then the patient one is journaled delivered (its check looked again after the first slice)
    delivered = wait_for(lambda: deployment.events("delivered"), 30, "a delivered entry")
    assert [(e["path"], e["syncthing"]) for e in delivered] == [(second.name, "patient")]
    assert len(deployment.events("delivery-pending")) == 1
    assert f"delivery of {second.name} not confirmed yet" in deployment.logs()
