"""End to end: a library whose disk is unmounted under a running ingest is not written to, is
not rescanned, and takes its waiting files once it is mounted again (a real tmpfs)."""

from __future__ import annotations

import os
from pathlib import Path

from tests.e2e.harness import Deployment, wait_for
from tests.fixtures.tmpfs import mounted_tmpfs


def _visible(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def test_an_unmounted_library_holds_its_files_and_its_rescans_until_mounted_again(
        deployment: Deployment) -> None:
    # Given a library on its own disk (a tmpfs) with a rescan command, and a running ingest
    source, library = deployment.folder("inbox"), deployment.folder("lib")
    rescans = deployment.root / "rescans.log"
    deployment.tables = {
        "sources.inbox": {"path": str(source), "library": "lib", "stability": "0.3s"},
        "libraries.lib": {"path": str(library), "rescan": ["app"]},
        "rescan.app": {"command": ["sh", "-c", f'echo "$1" >> "{rescans}"', "sh", "{folder}"],
                       "debounce": "4s"},
    }
    deployment.write_config()
    with mounted_tmpfs(library, "4m"):
        worker = deployment.start_worker(concurrency=2)
        watcher = deployment.start_watcher()
        wait_for(lambda: "watching" in watcher.output(), 30, "the watcher to start")
        (source / "p0.jpg").write_bytes(os.urandom(50_000))
        wait_for(lambda: deployment.events("ingested"), 60, "the first photo to land")
        assert _visible(library) == ["p0.jpg"]
    # When the disk is unmounted (its folder stays, empty, on the parent's disk) before the
    # app was told to rescan, and another photo arrives
    assert os.stat(library).st_dev == os.stat(library.parent).st_dev
    photo = os.urandom(60_000)
    (source / "p1.jpg").write_bytes(photo)
    # Then the library is held, journaled once; neither the copy nor the rescan goes ahead
    wait_for(lambda: deployment.events("library-absent"), 60, "the library to be held")
    wait_for(lambda: worker.output().count("mediacourier.transfer_file waits") >= 2, 60,
             "the photo to wait through rechecks")
    wait_for(lambda: worker.output().count("mediacourier.flush_rescans waits") >= 2, 60,
             "the rescan to wait through rechecks")
    assert len(deployment.events("library-absent")) == 1
    assert not rescans.exists()
    assert _visible(library) == []  # nothing written into the bare mount point
    assert (source / "p1.jpg").read_bytes() == photo
    assert not deployment.events("failed") and not deployment.store().failures()
    status = deployment.run_cli("status")
    assert status.returncode == 0, status.stderr
    assert "library lib" in status.stdout and "NOT THERE" in status.stdout
    # When the disk is mounted again
    with mounted_tmpfs(library, "4m", before_unmount=deployment.stop_all):
        # Then the waiting photo lands in it, the app is told, and the hold is lifted once
        wait_for(lambda: _visible(library) == ["p1.jpg"], 60, "the held photo to land")
        assert (library / "p1.jpg").read_bytes() == photo
        wait_for(lambda: rescans.exists(), 60, "the rescan once the library is back")
        assert len(deployment.events("library-back")) == 1
        assert not deployment.events("failed")
