"""End to end: a library that fills up holds its target; nothing fails, nothing is lost."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.corpus import sha256
from tests.e2e.harness import Deployment, wait_for
from tests.fixtures.tmpfs import grow_tmpfs, mounted_tmpfs

FILE_SIZE = 500_000  # four fit in a 2 MiB tmpfs, the fifth does not


@pytest.fixture
def full_library(deployment: Deployment) -> Iterator[tuple[Path, Path]]:
    """A source on the test's disk feeding a library on its own 2 MiB tmpfs (as root)."""
    source, library = deployment.one_source(stability="0.3s")
    # Stop every process before unmounting: nothing may still write into the mount.
    with mounted_tmpfs(library, "2m", before_unmount=deployment.stop_all):
        yield source, library


def _land(staged: Path, source: Path) -> None:
    for path in sorted(staged.iterdir()):
        shutil.copy2(path, source / path.name)


# "watched": files land while the watcher runs (one chain each); "catch-up": they are there
# when it starts (sent as an ingest_batch, whose files that do not fit continue as chains).
@pytest.mark.parametrize("arrival", ["watched", "catch-up"])
def test_a_full_library_holds_its_files_until_space_returns(
        deployment: Deployment, full_library: tuple[Path, Path], tmp_path: Path,
        arrival: str) -> None:
    # Given few, fast retries (a hold that counted as retries would fail files within seconds)
    source, library = full_library
    deployment.top.update(max_retries=2, retry_backoff_max=1)
    deployment.write_config()
    assert os.stat(source).st_dev != os.stat(library).st_dev
    worker = deployment.start_worker(concurrency=2)
    store = deployment.store()
    # … and six 500 kB files, more than the library can take
    staged = tmp_path / "staged"
    staged.mkdir()
    for index in range(6):
        (staged / f"p{index}.jpg").write_bytes(os.urandom(FILE_SIZE))
    hashes = {p.name: sha256(p) for p in staged.iterdir()}

    # When they land
    if arrival == "catch-up":
        _land(staged, source)
    watcher = deployment.start_watcher()
    wait_for(lambda: "watching" in watcher.output(), 30, "the watcher to start")
    if arrival == "watched":
        _land(staged, source)

    # Then the library is held full, once, and the files that did not fit wait
    wait_for(lambda: deployment.events("target-full"), 60, "the library to be held full")
    wait_for(lambda: len(deployment.events("ingested")) == 4, 60, "the four that fit")
    wait_for(lambda: worker.output().count("'lib' is full") >= 6, 60,
             "the held files to wait through several rechecks")
    assert len(deployment.events("target-full")) == 1
    status = deployment.run_cli("status")
    assert status.returncode == 0, status.stderr
    assert "target lib" in status.stdout and "FULL since" in status.stdout
    # … every file not placed is still in the source, byte-identical, and nothing failed
    waiting = {p.name: sha256(p) for p in source.iterdir()}
    assert len(waiting) == 2 and all(hashes[name] == h for name, h in waiting.items())
    placed = {p.name: sha256(p) for p in library.iterdir() if not p.name.startswith(".")}
    assert len(placed) == 4 and all(hashes[name] == h for name, h in placed.items())
    assert not store.failures() and not deployment.events("failed")
    assert not store.paused()  # a full disk is not the user's pause

    # When space returns (the tmpfs is made bigger)
    grow_tmpfs(library, "8m")

    # Then the hold lifts by itself and everything arrives, verified and byte-identical
    wait_for(lambda: deployment.events("target-space-back"), 60, "the hold to lift")
    wait_for(lambda: len(deployment.events("ingested")) == 6, 60, "all files to arrive")
    assert {p.name: sha256(p) for p in library.iterdir()} == hashes
    wait_for(lambda: not any(source.iterdir()), 10, "the source to empty")
    assert not store.failures() and not deployment.events("failed")
    assert "FULL" not in deployment.run_cli("status").stdout
    # … and the waits were not retries: no stage used up a single one of its two
    time.sleep(0.5)
    metas = [json.loads(store.client.get(key))
             for key in store.client.scan_iter("celery-task-meta-*")]
    stages = [m for m in metas if str(m.get("name", "")).startswith("mediacourier.")
              and m["name"] != "mediacourier.reconcile"]
    assert any(m["name"] == "mediacourier.transfer_file" for m in stages)
    if arrival == "catch-up":
        assert any(m["name"] == "mediacourier.ingest_batch" for m in stages)
    assert {m["status"] for m in stages} == {"SUCCESS"}
    assert {m["retries"] for m in stages} == {0}


def test_a_full_mirror_target_holds_the_mirror_until_space_returns(
        deployment: Deployment, tmp_path: Path) -> None:
    # Given a library of six 500 kB files, mirrored to a local target on a 2 MiB tmpfs
    _, library = deployment.one_source()
    for index in range(6):
        (library / f"m{index}.jpg").write_bytes(os.urandom(FILE_SIZE))
    hashes = {p.name: sha256(p) for p in library.iterdir()}
    nas = deployment.folder("nas")
    with mounted_tmpfs(nas, "2m", before_unmount=deployment.stop_all):
        deployment.top.update(max_retries=2, retry_backoff_max=1)
        deployment.tables = {**deployment.tables,
                             "targets.nas": {"kind": "local", "root": str(nas)},
                             "mirrors.backup": {"library": "lib", "target": "nas"}}
        deployment.write_config()
        worker = deployment.start_worker(concurrency=1)
        store = deployment.store()

        # When the mirror runs
        done = deployment.celery_call("mediacourier.mirror", json.dumps(["backup"]))
        assert done.returncode == 0, done.stderr
        task_id = done.stdout.strip().splitlines()[-1]

        # Then the target is held full, once, and the mirror waits instead of failing
        wait_for(lambda: deployment.events("target-full"), 60, "the target to be held full")
        wait_for(lambda: worker.output().count("'nas' is full") >= 3, 60,
                 "the mirror to wait through several rechecks")
        assert [e["dest"] for e in deployment.events("target-full")] == ["nas"]
        assert "FULL since" in deployment.run_cli("status").stdout
        meta = json.loads(store.client.get(f"celery-task-meta-{task_id}"))
        assert meta["status"] == "RETRY" and meta["retries"] == 0
        assert {p.name: sha256(p) for p in library.iterdir()} == hashes  # the source untouched

        # When space returns, Then the hold lifts and the replica is exact
        grow_tmpfs(nas, "8m")
        wait_for(lambda: deployment.events("target-space-back"), 60, "the hold to lift")
        final = wait_for(lambda: (m := json.loads(store.client.get(f"celery-task-meta-{task_id}")))
                         ["status"] in ("SUCCESS", "FAILURE") and m, 60, "the mirror to finish")
        assert final["status"] == "SUCCESS" and final["retries"] == 0, final
        assert {p.name: sha256(p) for p in nas.iterdir()} == hashes
