"""`mediacourier up` as the README runs it: embedded Redis, worker, beat, watcher and Flower."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.state.redis_server import free_port
from tests.e2e.harness import REPO, wait_for
from tests.e2e.up_stack import UpStack, write_config


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
        assert len(pids) == 6, output()  # worker, beat, watcher, metrics, web, flower
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


# -- `up` owns its children: nothing of the stack outlives it -------------------------------------

STOP_BOUND = 45.0  # the worker's warm shutdown is bounded at 30 s; an idle stack takes a few


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[UpStack]:
    write_config(tmp_path, free_port(), free_port())
    up = UpStack(tmp_path)
    yield up
    up.cleanup()


def assert_stopped_in_order(up: UpStack, gone: dict[int, float]) -> None:
    """Watcher and beat before the worker, the worker before Flower and metrics, Redis last."""
    at = {name: gone[up.child_pid(name)] for name in
          ("watcher", "beat", "worker", "flower", "metrics")}
    redis = [gone[p.pid] for p in up.stack if p.name == "redis-server"]
    assert len(redis) == 1, up.stack
    assert max(at["watcher"], at["beat"]) <= at["worker"], at
    assert at["worker"] <= min(at["flower"], at["metrics"]), at
    assert max(gone.values()) <= redis[0], (at, redis)


@pytest.mark.parametrize(("signum", "through_pipe"), [
    (signal.SIGINT, True),  # Ctrl-C under `up 2>&1 | tee log`: tee dies too
    (signal.SIGHUP, False),  # the terminal was closed
    (signal.SIGTERM, False),
], ids=["ctrl-c-dead-pipe", "sighup", "sigterm"])
def test_a_stop_signal_stops_the_whole_stack_in_order(stack: UpStack, signum: int,
                                                      through_pipe: bool) -> None:
    # Given `up` running with every component, its output through a pipe or into a file
    stack.through_pipe = through_pipe
    stack.start()
    procs = stack.wait_ready()
    assert len(procs) >= 8, procs  # Redis, worker and its two pool processes, beat, watcher, …
    # When (for the pipe) the reader goes away, and `up` gets the signal
    if through_pipe:
        stack.close_reader()
    sent = stack.signal(signum)
    # Then every process it started, pool processes included, is gone within the bound, in
    # order, and `up` exits cleanly (no BrokenPipeError on its way)
    gone = stack.gone_times(sent, timeout=STOP_BOUND)
    left = [p for p in procs if p.pid not in gone]
    assert not left, f"still running {STOP_BOUND} s after the signal: {left}"
    assert_stopped_in_order(stack, gone)
    assert stack.popen is not None
    assert stack.popen.wait(timeout=30) == 0, stack.output()[-3000:]
    print(f"\n{signal.Signals(signum).name}: {len(procs)} processes gone "
          f"{max(gone.values()):.2f} s after the signal; `up` exited "
          f"{time.monotonic() - sent:.2f} s after it")


def test_sigkill_of_up_takes_every_child_with_it(stack: UpStack) -> None:
    # Given `up` running with every component
    stack.start()
    procs = stack.wait_ready()
    # When `up` itself is SIGKILLed (it runs no code of its own after that)
    sent = stack.signal(signal.SIGKILL)
    # Then every process of its stack is gone within the bound, with nobody to stop them
    gone = stack.gone_times(sent, timeout=STOP_BOUND)
    left = [p for p in procs if p.pid not in gone]
    assert not left, f"left behind by a SIGKILLed `up`: {left}"
    print(f"\nSIGKILL: the whole stack gone {max(gone.values()):.2f} s after the signal")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return reply.status == 200
    except OSError:
        return False


def test_taken_ports_move_flower_and_metrics_and_their_failure_keeps_the_pipeline(
        tmp_path: Path, redis_url: str, corpus_dir: Path) -> None:
    # Given Flower's port held by some program (this test) and metrics' port by a metrics server
    # an earlier mediacourier left behind
    flower_port, metrics_port = free_port(), free_port()
    holder = socket.create_server(("127.0.0.1", flower_port))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIACOURIER_")}
    leftover = subprocess.Popen(
        [sys.executable, "-m", "workers.cli", "metrics", "--listen", f"127.0.0.1:{metrics_port}"],
        cwd=REPO, env={**env, "MEDIACOURIER_REDIS_URL": redis_url}, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    write_config(tmp_path, flower_port, metrics_port)
    up = UpStack(tmp_path)
    try:
        wait_for(lambda: _answers(f"http://127.0.0.1:{metrics_port}/metrics"), 60,
                 "the leftover metrics server")
        # When `up` starts
        up.start()
        up.wait_ready()
        # Then one line each says who holds the port and where the component runs instead
        lines = up.output().splitlines()
        flower_line = [line for line in lines if line.startswith(f"port {flower_port} ")]
        metrics_line = [line for line in lines if line.startswith(f"port {metrics_port} ")]
        assert len(flower_line) == 1 and len(metrics_line) == 1, up.output()[-3000:]
        assert f"is in use (pid {os.getpid()}: " in flower_line[0]
        assert "set flower_port or stop it; Flower runs on 127.0.0.1:" in flower_line[0]
        assert (f"is in use (pid {leftover.pid}: an earlier mediacourier?) — set metrics_listen "
                "or stop it; metrics runs on 127.0.0.1:") in metrics_line[0]
        assert "Traceback" not in up.output()
        # … and both answer there
        new_flower = int(flower_line[0].rsplit(":", 1)[1].split()[0])
        new_metrics = int(metrics_line[0].rsplit(":", 1)[1].split()[0])
        assert f"http://127.0.0.1:{new_flower}/" in up.output()
        wait_for(lambda: _answers(f"http://127.0.0.1:{new_flower}/healthcheck"), 60, "Flower")
        wait_for(lambda: _answers(f"http://127.0.0.1:{new_metrics}/metrics"), 60, "metrics")

        # When Flower, an optional component, dies
        os.kill(up.child_pid("flower"), signal.SIGKILL)
        # Then one line says so, and the pipeline runs on: a photo still lands in the library
        wait_for(lambda: "flower exited with code -9; the pipeline runs on without it"
                 in up.output(), 30, "the line about Flower")
        photo = corpus_dir / "jpg" / "Nikon_D70.jpg"
        (tmp_path / "inbox" / "D70.jpg").write_bytes(photo.read_bytes())
        wait_for(lambda: (tmp_path / "library" / "D70.jpg").exists(), 60, "the photo")
        assert (tmp_path / "library" / "D70.jpg").read_bytes() == photo.read_bytes()
        assert up.popen is not None and up.popen.poll() is None
        # … and a stop still stops the rest
        up.signal(signal.SIGTERM)
        assert up.popen.wait(timeout=STOP_BOUND) == 0, up.output()[-3000:]
    finally:
        up.cleanup()
        leftover.terminate()
        leftover.wait(timeout=30)
        holder.close()


def test_a_killed_redis_and_a_killed_worker_are_started_again(stack: UpStack) -> None:
    # Given `up` running
    stack.start()
    procs = stack.wait_ready()
    redis_pid = next(p.pid for p in procs if p.name == "redis-server")
    # When its Redis is SIGKILLed, and then its worker
    os.kill(redis_pid, signal.SIGKILL)
    wait_for(lambda: "redis-server exited; starting it again" in stack.output(), 30,
             "up to start Redis again")
    os.kill(stack.child_pid("worker"), signal.SIGKILL)
    wait_for(lambda: "worker exited with code -9; starting it again" in stack.output(), 30,
             "up to start the worker again")
    # Then `up` runs on, and a photo dropped now is carried into the library
    photo = stack.folder / "inbox" / "after.jpg"
    photo.write_bytes(b"\xff\xd8 after the faults " * 100)
    wait_for(lambda: (stack.folder / "library" / "after.jpg").exists(), 90,
             "the photo in the library")
    landed = (stack.folder / "library" / "after.jpg").read_bytes()
    assert landed == b"\xff\xd8 after the faults " * 100
    assert stack.popen is not None and stack.popen.poll() is None, stack.output()[-3000:]
