"""Quiet, useful logs: under `mediacourier up` a file is one line at INFO (its outcome), every
line of a Celery process carries its process tag, and a real worker announces each task by the
file it carries (what Flower's task list shows)."""

from __future__ import annotations

import json
import os
import re
import threading
from pathlib import Path
from typing import Any

from celery import Celery

from shared.config import load_settings
from shared.state.redis_server import free_port
from tests.e2e.harness import Deployment, wait_for
from tests.e2e.up_stack import UpStack, write_config

DROPS, FILES = 2, 88
STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (\S+)\s+[A-Z]+\s")


def _outcome_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if " mediacourier.files: " in line]


def test_two_drops_of_88_files_log_under_300_lines_one_per_file(tmp_path: Path) -> None:
    # Given `mediacourier up` with a worker, beat, the watcher, Flower and metrics
    write_config(tmp_path, free_port(), free_port())
    stack = UpStack(tmp_path)
    stack.start()
    try:
        stack.wait_ready()
        # When two drops of 88 small photos land in the inbox, one after the other
        names = []
        for drop in range(DROPS):
            folder = tmp_path / "inbox" / f"drop{drop}"
            folder.mkdir()
            for n in range(FILES):
                (folder / f"IMG_{n:04d}.jpg").write_bytes(os.urandom(1500) + bytes([drop, n]))
                names.append(f"drop{drop}/IMG_{n:04d}.jpg")
            wait_for(lambda d=drop: len(_outcome_lines(stack.output())) >= FILES * (d + 1),
                     240, f"the outcomes of drop {drop}")
        stack.signal(15)
        assert stack.popen is not None
        stack.popen.wait(timeout=90)
    finally:
        stack.cleanup()
    output = stack.output()
    lines = output.splitlines()

    # Then the whole log, start to stop, is under 300 lines
    assert len(lines) < 300, f"{len(lines)} lines:\n" + "\n".join(lines[:80])
    # … every file has its one outcome line, naming where it went, its size and its time
    outcomes = _outcome_lines(output)
    for name in names:
        mine = [line for line in outcomes if f"inbox:{name} " in line]
        assert len(mine) == 1, (name, mine)
        assert re.search(rf"inbox:{name} → library:{name}, 1\.5 kB, \d+ ms$", mine[0]), mine[0]
    # … no task payloads, banners or warnings that ask for nothing
    for noise in ("Task mediacourier.", "'rel_path'", "SecurityWarning", "superuser",
                  "[config]", "Registered tasks", "Inspect method"):
        assert noise not in output, noise
    # … and the Celery processes' lines are in the one format, tagged with their process
    tags = {m.group(1) for line in lines if (m := STAMP.match(line))}
    assert {"worker", "beat", "flower"} <= tags, tags
    assert not [line for line in lines if line.startswith("[")], "a line in Celery's format"


def _receive_events(url: str, got: list[dict[str, Any]], stop: threading.Event) -> None:
    app = Celery("events-test", broker=url)
    with app.connection() as conn:
        receiver = app.events.Receiver(conn, handlers={"*": got.append})
        for _ in receiver.itercapture(limit=None, timeout=None, wakeup=True):
            if stop.is_set():
                return


def test_a_real_worker_announces_each_stage_by_its_file(deployment: Deployment) -> None:
    # Given a worker logging at INFO, and a monitor listening to its events as Flower does
    source, library = deployment.one_source()
    worker = deployment.start_worker()
    url = load_settings(str(deployment.config_path), env={}).redis_url
    events: list[dict[str, Any]] = []
    stop = threading.Event()
    threading.Thread(target=_receive_events, args=(url, events, stop), daemon=True).start()
    wait_for(lambda: any(e["type"] == "worker-heartbeat" for e in list(events)), 30,
             "the monitor to hear the worker")

    # When a photo is ingested
    (source / "IMG_1.jpg").write_bytes(b"\xff\xd8" + os.urandom(3000))
    call = deployment.celery_call("mediacourier.ingest", json.dumps([str(source / "IMG_1.jpg")]))
    assert call.returncode == 0, call.stderr
    wait_for(lambda: deployment.events("ingested"), 60, "the ingest")
    wait_for(lambda: len([e for e in list(events) if e["type"] == "task-succeeded"]) >= 7, 30,
             "the chain's events")
    stop.set()

    # Then each stage was received under its own task name followed by the file's name, with
    # the file's name as its arguments (Flower's "Name" and "args" columns)
    received = {e["name"]: e["args"] for e in events if e["type"] == "task-received"}
    for stage in ("hash_file", "claim_content", "transfer_file", "verify_copy",
                  "request_rescan", "record_outcome"):
        assert received.get(f"mediacourier.{stage} inbox:IMG_1.jpg") == "inbox:IMG_1.jpg", \
            received
    assert (library / "IMG_1.jpg").exists()
    # … and the worker's log at INFO has the file's outcome, not the stages' payloads
    wait_for(lambda: "inbox:IMG_1.jpg → lib:IMG_1.jpg" in worker.output(), 10, "the outcome")
    assert "received" not in worker.output() and "'rel_path'" not in worker.output()
