"""End to end: the real corpus through real Celery workers into a library that Nextcloud
(with Memories) and PhotoPrism see, both stand-ins in a container of a real Docker engine."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tests.e2e.harness import Deployment, wait_for
from tests.fixtures.dockerd import Dockerd

NC_FILES = "/var/www/html/data/alice/files/Photos"
ORIGINALS = "/photoprism/originals/Library"
FOLDERS = {"Trip A": "gps", "Trip B/day 2": "orientation"}  # library folder <- corpus folder


def test_new_files_trigger_each_scan_once_in_order_and_a_busy_scan_is_retried(
    deployment: Deployment, dockerd: Dockerd, corpus_dir: Path
) -> None:
    # Given a library mounted into the apps' container as alice's Photos and as PhotoPrism's
    # originals/Library, with Nextcloud (+ Memories) and PhotoPrism rescan targets
    source, library = deployment.folder("inbox"), deployment.folder("library")
    container = dockerd.run(mounts=[(str(library), NC_FILES), (str(library), ORIGINALS)])
    docker = {"executor": "docker", "container": container, "docker_url": dockerd.url,
              "debounce": "8s", "timeout": "30s"}
    deployment.tables = {
        "sources.cam": {"path": str(source), "library": "photos", "mode": "move",
                        "stability": "0.3s"},
        "libraries.photos": {"path": str(library), "rescan": ["nextcloud", "photoprism"]},
        "rescan.nextcloud": {"kind": "nextcloud", "nextcloud_user": "alice",
                             "files_prefix": "Photos", "memories": True, **docker},
        "rescan.photoprism": {"kind": "photoprism", "user": "photoprism",
                              "files_prefix": "Library", **docker},
    }
    deployment.top = {"retry_backoff_max": 2}
    deployment.write_config()
    # … camera files already settled in two folders of the upload folder (one nested)
    laid: dict[str, int] = {}
    for folder, corpus_folder in FOLDERS.items():
        (source / folder).mkdir(parents=True)
        for path in sorted((corpus_dir / "jpg" / corpus_folder).glob("*.jpg"))[:6]:
            shutil.copy2(path, source / folder / path.name)
            os.utime(source / folder / path.name, (1_600_000_000, 1_600_000_000))
        laid[folder] = len(list((source / folder).iterdir()))
    # … and Nextcloud's next files:scan finds "another process is already scanning"
    dockerd.inject(container, "files-scan-locked")
    deployment.start_worker(concurrency=2)

    # When a reconcile queues them for real Celery workers
    done = deployment.celery_call("mediacourier.reconcile", '["cam"]')
    assert done.returncode == 0, done.stderr
    total = sum(laid.values())
    wait_for(lambda: len(deployment.events("ingested")) == total, 60, "every file ingested")
    wait_for(lambda: len([e for e in deployment.events("rescanned")
                          if e["target"] == "nextcloud" and e["failed"] == "0"]) >= 1
             and any(e["target"] == "photoprism" for e in deployment.events("rescanned")),
             40, "both apps rescanned, Nextcloud after its retry")

    # Then the files are in the library, seen by the container through its mount
    for folder, count in laid.items():
        assert len(list((library / folder).iterdir())) == count
    calls = dockerd.invocations(container)
    scans = [(c[0], c[-1]) for c in calls if c[1] == "occ" and c[2] == "files:scan"]
    # … files:scan ran as www-data for each changed folder: the first attempt met the lock,
    # the retry scanned what was still dirty, and no folder was scanned twice successfully
    assert all(user == "www-data" for user, _ in scans)
    paths = [path for _, path in scans]
    wanted = {f"--path=/alice/files/Photos/{folder}" for folder in FOLDERS}
    assert set(paths) == wanted
    assert len(paths) == len(wanted) + 1, paths  # one extra: the attempt that met the lock
    locked = [e for e in deployment.events("rescan-failed") if e["target"] == "nextcloud"]
    assert len(locked) == 1 and "already scanning" in locked[0]["reason"]
    assert locked[0]["permanent"] == "0"
    retried = locked[0]["folder"]
    assert paths.count(f"--path=/alice/files/Photos/{os.path.relpath(retried, library)}") == 2
    # … memories:index ran once per folder, each strictly after that folder's last files:scan
    order = [(c[2], c[-1]) for c in calls if c[1] == "occ"]
    for folder in FOLDERS:
        scan_at = max(i for i, (cmd, arg) in enumerate(order)
                      if cmd == "files:scan" and arg.endswith(f"/Photos/{folder}"))
        indexed = [i for i, (cmd, arg) in enumerate(order)
                   if cmd == "memories:index" and arg == f"/Photos/{folder}"]
        assert len(indexed) == 1 and indexed[0] > scan_at, order
    # … PhotoPrism indexed each folder once, as its own user, relative to its originals
    indexes = sorted(c for c in calls if c[1] == "photoprism")
    assert indexes == sorted(("photoprism", "photoprism", "index", "--", f"Library/{folder}")
                             for folder in FOLDERS)
    # … and the journal records each rescan with its folders and the parsed counts
    nextcloud_ok = [e for e in deployment.events("rescanned")
                    if e["target"] == "nextcloud" and e["failed"] == "0"]
    assert f"files={laid[os.path.relpath(retried, library)]}" in nextcloud_ok[-1]["counts"]
    photoprism = [e for e in deployment.events("rescanned") if e["target"] == "photoprism"]
    assert f"indexed={total}" in photoprism[-1]["counts"]
    assert sorted(photoprism[-1]["folders"].splitlines()) == sorted(
        str(library / folder) for folder in FOLDERS)
