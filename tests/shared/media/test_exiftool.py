"""The long-lived ExifTool process: reused across calls, started again when killed (between
calls or during one) or hung, one per process after a fork, threads taking turns, and never
left running when its worker dies."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from shared.media.exiftool import ExifTool, shared_exiftool

CORPUS = Path("/work/shared/corpus/exif-samples")
REPO = Path(__file__).parents[3]

pytestmark = pytest.mark.skipif(shutil.which("exiftool") is None and not os.environ.get("CI"),
                                reason="ExifTool is not installed (./dev test installs it)")


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def make(tmp_path: Path) -> tuple[Path, Path]:
    heic, jpg = tmp_path / "IMG_5195.HEIC", tmp_path / "Canon_40D.jpg"
    shutil.copyfile(CORPUS / "heic" / "IMG_5195.HEIC", heic)
    shutil.copyfile(CORPUS / "jpg" / "Canon_40D.jpg", jpg)
    return heic, jpg


def model(tool: ExifTool, path: Path) -> str:
    found, _ = tool.execute_json(["-Model", str(path)])
    return found[0]["Model"]


@pytest.fixture
def tool():
    exiftool = ExifTool(timeout=5)
    yield exiftool
    exiftool.close()


def test_one_process_serves_many_calls(tool: ExifTool, tmp_path: Path) -> None:
    heic, jpg = make(tmp_path)
    assert model(tool, heic) == "iPhone 11 Pro Max"
    first = tool.pid
    assert model(tool, jpg) == "Canon EOS 40D" and model(tool, heic) == "iPhone 11 Pro Max"
    assert first is not None and tool.pid == first


def test_killed_between_calls_the_next_call_starts_another(tool: ExifTool,
                                                           tmp_path: Path) -> None:
    # Given a running exiftool, killed
    heic, _ = make(tmp_path)
    model(tool, heic)
    old = tool.pid
    assert old is not None
    os.kill(old, signal.SIGKILL)
    wait_for(lambda: not alive(old) or tool.pid is None)
    # When the next call comes / Then a new process answers it
    assert model(tool, heic) == "iPhone 11 Pro Max"
    assert tool.pid not in (None, old)


def test_killed_during_a_call_the_call_is_still_answered(tool: ExifTool, tmp_path: Path) -> None:
    # Given an exiftool frozen (SIGSTOP) while a call is sent to it
    heic, _ = make(tmp_path)
    model(tool, heic)
    old = tool.pid
    assert old is not None
    os.kill(old, signal.SIGSTOP)
    answers: list[str] = []
    caller = threading.Thread(target=lambda: answers.append(model(tool, heic)))
    caller.start()
    wait_for(lambda: tool._lock.locked())  # the call holds the process
    # When the process is killed in the middle of it
    os.kill(old, signal.SIGKILL)
    caller.join(timeout=20)
    # Then the call gets its answer from a new process
    assert answers == ["iPhone 11 Pro Max"]
    assert tool.pid not in (None, old) and not alive(old)


def test_a_hung_process_is_replaced_after_the_deadline(tmp_path: Path) -> None:
    # Given an exiftool that stops answering (frozen) and a 1 s deadline
    heic, _ = make(tmp_path)
    tool = ExifTool(timeout=1)
    try:
        model(tool, heic)
        old = tool.pid
        assert old is not None
        os.kill(old, signal.SIGSTOP)
        # When a call is made / Then after the deadline a new process answers it (a fresh
        # process's first answer has a start-up allowance, so a busy machine passes too)
        started = time.monotonic()
        assert model(tool, heic) == "iPhone 11 Pro Max"
        assert 1 <= time.monotonic() - started < 1 + 20 + 5
        assert tool.pid != old
        wait_for(lambda: not alive(old))
    finally:
        tool.close()


def test_threads_take_turns_and_get_their_own_answers(tool: ExifTool, tmp_path: Path) -> None:
    # Given two files and eight threads asking about them at once
    heic, jpg = make(tmp_path)
    expected = {heic: "iPhone 11 Pro Max", jpg: "Canon EOS 40D"}
    wrong: list[tuple[Path, str]] = []

    def ask(index: int) -> None:
        for turn in range(6):
            path = heic if (index + turn) % 2 else jpg
            answer = model(tool, path)
            if answer != expected[path]:
                wrong.append((path, answer))

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # Then every answer is about the file asked for, from one process
    assert wrong == [] and not any(thread.is_alive() for thread in threads)


def _child_pid(queue: multiprocessing.Queue, path: str) -> None:
    tool = shared_exiftool()
    assert tool is not None
    found, _ = tool.execute_json(["-Model", path])
    queue.put((tool.pid, found[0]["Model"]))


def test_a_forked_worker_starts_its_own_process(tmp_path: Path) -> None:
    # Given the parent's shared exiftool, running (as before Celery's prefork)
    heic, _ = make(tmp_path)
    parent_tool = shared_exiftool()
    assert parent_tool is not None and model(parent_tool, heic)
    parent_pid = parent_tool.pid
    # When a forked child uses it
    queue: multiprocessing.Queue = multiprocessing.get_context("fork").Queue()
    child = multiprocessing.get_context("fork").Process(target=_child_pid, args=(queue, str(heic)))
    child.start()
    child_exiftool, answer = queue.get(timeout=30)
    child.join(timeout=30)
    # Then the child asked its own process, and the parent's still answers the parent
    assert answer == "iPhone 11 Pro Max" and child_exiftool not in (None, parent_pid)
    assert model(parent_tool, heic) == "iPhone 11 Pro Max" and parent_tool.pid == parent_pid


@pytest.mark.parametrize("name", [
    "new\nline.HEIC",  # an argfile line cannot hold it: read by a one-off exiftool
    os.fsdecode(b"caf\xe9.HEIC"),  # Latin-1 from an old share, as the walker reports it
    "-ver.HEIC", " lead and trail .HEIC", "quote'\"$(x).HEIC",
])
def test_hostile_names_are_read(tool: ExifTool, tmp_path: Path, name: str) -> None:
    heic, _ = make(tmp_path)
    odd = tmp_path / name
    heic.rename(odd)
    assert model(tool, odd) == "iPhone 11 Pro Max"


def test_exiftool_dies_with_a_killed_worker(tmp_path: Path) -> None:
    # Given a worker process that started an exiftool
    script = ("import sys, time; from shared.media.exiftool import ExifTool; t = ExifTool(); "
              "t.execute(['-ver']); print(t.pid, flush=True); time.sleep(60)")
    worker = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE,
                              text=True)
    assert worker.stdout is not None
    exiftool_pid = int(worker.stdout.readline())
    assert alive(exiftool_pid)
    # When the worker is killed with SIGKILL (no atexit, no cleanup)
    worker.kill()
    worker.wait()
    # Then its exiftool does not live on (at EOF it would poll its argfile forever)
    wait_for(lambda: not alive(exiftool_pid))
