"""`mediacourier up` as the README runs it: embedded Redis, worker, beat, watcher and Flower."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from shared.state.redis_server import free_port
from tests.e2e.harness import REPO, wait_for


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_up_runs_everything_and_ctrl_c_stops_it(tmp_path: Path, corpus_dir: Path) -> None:
    # Given an empty folder and no configuration except free ports for Flower and metrics
    port, metrics_port = free_port(), free_port()
    (tmp_path / "mediacourier.toml").write_text(
        f'flower_port = {port}\nmetrics_listen = "127.0.0.1:{metrics_port}"\n'
        '[sources.inbox]\npath = "inbox"\nlibrary = "library"\n'
        'stability = "0.5s"\n[libraries.library]\npath = "library"\n')
    (tmp_path / "inbox").mkdir()
    (tmp_path / "library").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIACOURIER_")}
    env["PYTHONPATH"] = str(REPO)
    log = (tmp_path / "up.log").open("wb")
    up = subprocess.Popen([sys.executable, "-m", "workers.cli", "up"], cwd=tmp_path, env=env,
                          stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    output = (tmp_path / "up.log").read_text
    try:
        # When it is up and a photo lands in the inbox
        wait_for(lambda: "Press Ctrl-C" in output() or up.poll() is not None, 60, "up")
        assert up.poll() is None, output()
        assert f"http://127.0.0.1:{port}/" in output()
        pids = [int(p) for p in re.findall(r"pid (\d+)", output())]
        assert len(pids) == 5, output()
        assert f"http://127.0.0.1:{metrics_port}/metrics" in output()
        photo = corpus_dir / "jpg" / "Nikon_D70.jpg"
        wait_for(lambda: "ready." in output(), 60, "the worker")
        (tmp_path / "inbox" / "D70.jpg").write_bytes(photo.read_bytes())

        # Then it arrives in the library, and Flower shows the worker
        wait_for(lambda: (tmp_path / "library" / "D70.jpg").exists(), 60, "the photo")
        assert (tmp_path / "library" / "D70.jpg").read_bytes() == photo.read_bytes()
        # (the source goes once the copy is verified: a stage after the copy appears)
        wait_for(lambda: not (tmp_path / "inbox" / "D70.jpg").exists(), 30, "the source to go")

        def flower_page() -> str:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/workers", timeout=2) as r:
                    return r.read().decode()
            except OSError:
                return ""

        assert "mediacourier@" in wait_for(
            lambda: (page := flower_page()) and "mediacourier@" in page and page, 60,
            "Flower listing the worker")
        # … and the metrics endpoint `up` started counts it
        def metrics() -> str:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics",
                                            timeout=2) as r:
                    return r.read().decode()
            except OSError:
                return ""

        wait_for(lambda: "mediacourier_files_ingested_total 1.0" in metrics(), 30,
                 "the metrics endpoint counting the photo")
        redis_dir = tmp_path / "mediacourier-data" / "redis"
        assert list(redis_dir.glob("appendonly*")), "the embedded Redis keeps an append-only file"

        # When Ctrl-C is pressed
        os.killpg(up.pid, signal.SIGINT)
        assert up.wait(timeout=60) == 0, output()
        # Then every process it started is gone
        wait_for(lambda: not any(_alive(p) for p in pids), 30, "children to exit")
        assert "stopped." in output()
    finally:
        # `up` starts each child in a session of its own: on a failure, stop them by PID too.
        for pid in [int(p) for p in re.findall(r"pid (\d+)", output())]:
            if _alive(pid):
                os.killpg(pid, signal.SIGKILL)
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)
            up.wait()
