"""A real Celery worker mirrors the real camera corpus: `celery call mediacourier.mirror`,
progress in the task state, the guard, the journal, and rsync -rcn finding no difference."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

import redis

from tests.e2e.harness import Deployment, wait_for

EXCLUDES = ["Thumbs.db", ".DS_Store", "desktop.ini", "@eaDir/", ".mediacourier-*"]


def _setup(deployment: Deployment, corpus_dir: Path) -> tuple[Path, Path]:
    _, library = deployment.one_source("inbox", "lib")
    shutil.copytree(corpus_dir, library, dirs_exist_ok=True)
    (library / "jpg" / "Canon_40D.xmp").write_text("<x:xmpmeta/>")  # a sidecar: carried
    (library / "jpg" / "Thumbs.db").write_bytes(b"windows clutter")  # clutter: left alone
    (library / "@eaDir" / "x").mkdir(parents=True)
    (library / "@eaDir" / "x" / "SYNOPHOTO_THUMB_M.jpg").write_bytes(b"nas thumbnail")
    nas = deployment.folder("nas")
    # A file the user moved since the last run (same bytes and time) and one they deleted
    (nas / "old place").mkdir()
    shutil.copy2(library / "jpg" / "Canon_40D.jpg", nas / "old place" / "Canon_40D.jpg")
    (nas / "deleted since.jpg").write_bytes(b"gone from the library")
    deployment.tables = {**deployment.tables,
                         "targets.nas": {"kind": "local", "root": str(nas), "parallel": 3},
                         "mirrors.backup": {"library": "lib", "target": "nas"}}
    deployment.write_config()
    deployment.start_worker(concurrency=1)
    return library, nas


def _listen(url: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]], threading.Event]:
    """Every task state the result backend publishes (Celery's Redis backend PUBLISHes each),
    and every `task-progress` event (Flower's view), as they happen."""
    client = redis.Redis.from_url(url)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.psubscribe("celery-task-meta-*", "*celeryev/task.progress")
    states: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            message = pubsub.get_message(timeout=0.05)
            if message and message["channel"].startswith(b"celery-task-meta-"):
                states.append(json.loads(message["data"]))
            elif message:
                envelope = json.loads(message["data"])
                events.append(json.loads(base64.b64decode(envelope["body"])))
        pubsub.close()
        client.close()  # referenced here: collecting the client would close the connection

    threading.Thread(target=loop, daemon=True).start()
    return states, events, stop


def _final(states: list[dict[str, Any]], task_id: str) -> dict[str, Any]:
    return wait_for(lambda: next((s for s in states if s["task_id"] == task_id and
                                  s["status"] in ("SUCCESS", "FAILURE")), None),
                    60, f"task {task_id} to finish")


def _call(deployment: Deployment, args: list[Any]) -> str:
    done = deployment.celery_call("mediacourier.mirror", json.dumps(args))
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_worker_mirrors_the_corpus_exactly(deployment: Deployment, corpus_dir: Path) -> None:
    assert deployment.redis is not None
    library, nas = _setup(deployment, corpus_dir)
    moved_inode = (nas / "old place" / "Canon_40D.jpg").stat().st_ino
    states, events, stop = _listen(deployment.redis.url)
    try:
        # When called with an unknown name, or a string where a flag belongs, Then it refuses
        for args, message in ((["nope"], "no mirror named 'nope'; configured: backup"),
                              (["backup", False, "yes"], "takes (name: str, dry_run: bool")):
            bad = _final(states, _call(deployment, args))
            assert bad["status"] == "FAILURE" and message in bad["result"]["exc_message"][0]
        # When a dry run is asked for, Then it lists the plan and changes nothing
        dry = _final(states, _call(deployment, ["backup", True]))
        assert dry["status"] == "SUCCESS", dry
        plan = dry["result"]
        assert plan["rename"] == [["old place/Canon_40D.jpg", "jpg/Canon_40D.jpg"]]
        assert plan["delete"] == ["deleted since.jpg"] and "jpg/Canon_40D.xmp" in plan["copy"]
        assert ["jpg/Thumbs.db", "excluded: system file Thumbs.db"] in plan["skip"]
        assert "would delete 1 of 2" in plan["guard"]
        assert sorted(os.listdir(nas)) == ["deleted since.jpg", "old place"]

        # When run for real, Then the guard refuses (1 of 2 destination files is over 10 %)
        refused = _final(states, _call(deployment, ["backup"]))
        assert refused["status"] == "FAILURE"
        assert "would delete 1 of 2 destination files (50%)" in refused["result"]["exc_message"][0]
        assert (nas / "deleted since.jpg").exists()

        # When forced, Then it runs, reporting progress in the task state on the way
        task_id = _call(deployment, ["backup", False, True])
        done = _final(states, task_id)
    finally:
        stop.set()
    assert done["status"] == "SUCCESS", done
    summary = done["result"]
    files = [p for p in library.rglob("*") if p.is_file()]
    carried = len(files) - 2  # Thumbs.db and the @eaDir thumbnail stay behind
    assert (summary["copied"], summary["renamed"], summary["deleted"], summary["failed"]) == (
        carried - 1, 1, 1, 0)
    progress = [s["result"] for s in states if s["task_id"] == task_id and
                s["status"] == "PROGRESS"]
    assert progress, "no PROGRESS state was published"
    assert progress[-1]["done"] == progress[-1]["total"] == carried + 1
    assert progress[-1]["bytes"] == summary["bytes"] > 30_000_000
    assert {"mb_s", "eta"} <= set(progress[-1])
    # and Flower got the same progress as `task-progress` events
    seen = [e for e in events if e.get("uuid") == task_id and e.get("type") == "task-progress"]
    assert seen and seen[-1]["done"] == carried + 1 and seen[-1]["bytes"] == summary["bytes"]

    # The moved file was renamed in place (same inode), not uploaded again
    assert (nas / "jpg" / "Canon_40D.jpg").stat().st_ino == moved_inode
    assert not (nas / "old place").exists()
    # rsync comparing checksums finds nothing to send or delete
    check = subprocess.run(["rsync", "-rcni", "--delete", *(f"--exclude={p}" for p in EXCLUDES),
                            f"{library}/", f"{nas}/"], capture_output=True, text=True, check=True)
    assert [line for line in check.stdout.splitlines() if not line.endswith("/")] == []
    assert not (nas / "jpg" / "Thumbs.db").exists() and not (nas / "@eaDir").exists()

    # And `mediacourier history` shows the refusal and the run's summary
    history = deployment.run_cli("history", "--format", "json")
    assert history.returncode == 0, history.stderr
    events = json.loads(history.stdout)
    refusal = [e for e in events if e["event"] == "mirror_refused"]
    runs = [e for e in events if e["event"] == "mirror"]
    assert len(refusal) == 1 and "would delete 1 of 2" in refusal[0]["reason"]
    assert len(runs) == 1 and runs[0]["source"] == "backup" and runs[0]["dest"] == "nas"
    assert runs[0]["copied"] == carried - 1 and runs[0]["renamed"] == 1
    assert f"copied {carried - 1}, updated 0, renamed 1, deleted 1" in runs[0]["reason"]


def test_beat_runs_a_scheduled_mirror(deployment: Deployment, corpus_dir: Path) -> None:
    # Given a mirror scheduled every 2 seconds, a worker and beat
    _, library = deployment.one_source("inbox", "lib")
    shutil.copytree(corpus_dir / "jpg" / "gps", library / "gps")
    nas = deployment.folder("nas")
    deployment.tables = {**deployment.tables,
                         "targets.nas": {"kind": "local", "root": str(nas)},
                         "mirrors.often": {"library": "lib", "target": "nas", "every": "2s"}}
    deployment.write_config()
    deployment.start_worker(concurrency=1)
    beat = deployment.start_beat()
    # When it has run twice
    runs = wait_for(lambda: deployment.events("mirror")[:2]
                    if len(deployment.events("mirror")) >= 2 else None, 40, "two mirror runs")
    # Then beat sent it, the first run copied the library, the second found nothing to do
    assert "Sending due task mirror-often (mediacourier.mirror)" in beat.output()
    files = sorted(p.relative_to(library) for p in library.rglob("*") if p.is_file())
    assert sorted(p.relative_to(nas) for p in nas.rglob("*") if p.is_file()) == files
    assert runs[0]["copied"] == str(len(files)) and runs[1]["copied"] == "0"
    assert runs[1]["unchanged"] == str(len(files))


def test_a_target_that_is_away_is_retried_until_it_returns(deployment: Deployment,
                                                           corpus_dir: Path) -> None:
    assert deployment.redis is not None
    # Given a mirror whose backup disk is not mounted (its folder is missing)
    _, library = deployment.one_source("inbox", "lib")
    shutil.copytree(corpus_dir / "jpg" / "gps", library / "gps")
    nas = deployment.root / "backup-disk"
    deployment.tables = {**deployment.tables,
                         "targets.nas": {"kind": "local", "root": str(nas)},
                         "mirrors.backup": {"library": "lib", "target": "nas"}}
    deployment.write_config()
    worker = deployment.start_worker(concurrency=1)
    states, _, stop = _listen(deployment.redis.url)
    try:
        # When the mirror is called
        task_id = _call(deployment, ["backup"])
        # Then it is retried (the folder is not created on the system disk meanwhile)
        wait_for(lambda: any(s["task_id"] == task_id and s["status"] == "RETRY" for s in states),
                 30, "a retry")
        assert "does not exist (not mounted?)" in worker.output() and not nas.exists()
        # And once the disk is back, a retry mirrors everything
        nas.mkdir()
        done = _final(states, task_id)
    finally:
        stop.set()
    assert done["status"] == "SUCCESS", done
    assert sorted(p.name for p in nas.rglob("*") if p.is_file()) == sorted(
        p.name for p in library.rglob("*") if p.is_file())


def test_a_paused_target_holds_the_mirror_until_resumed(deployment: Deployment,
                                                        corpus_dir: Path) -> None:
    assert deployment.redis is not None
    # Given a mirror to a backup folder, and that target paused with the CLI
    _, library = deployment.one_source("inbox", "lib")
    shutil.copytree(corpus_dir / "jpg" / "gps", library / "gps")
    nas = deployment.folder("nas")
    deployment.tables = {**deployment.tables,
                         "targets.nas": {"kind": "local", "root": str(nas)},
                         "mirrors.backup": {"library": "lib", "target": "nas"}}
    deployment.write_config()
    paused = deployment.run_cli("pause", "target", "nas")
    assert paused.returncode == 0, paused.stderr
    worker = deployment.start_worker(concurrency=1)
    states, _, stop = _listen(deployment.redis.url)
    try:
        # When the mirror is called, Then it waits: re-scheduled, nothing written, not failed
        task_id = _call(deployment, ["backup"])
        wait_for(lambda: "target 'nas' is paused" in worker.output(), 30, "the hold")
        assert not any(nas.rglob("*")) and not any(
            s["task_id"] == task_id and s["status"] == "FAILURE" for s in states)
        # When the target is resumed, Then the same task runs and mirrors everything
        resumed = deployment.run_cli("resume", "target", "nas")
        assert resumed.returncode == 0, resumed.stderr
        done = _final(states, task_id)
    finally:
        stop.set()
    assert done["status"] == "SUCCESS", done
    assert sorted(p.name for p in nas.rglob("*") if p.is_file()) == sorted(
        p.name for p in library.rglob("*") if p.is_file())
