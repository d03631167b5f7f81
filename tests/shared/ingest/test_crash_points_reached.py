"""Every named crash point of the ingest path is reached, in the chain (run_all: run_stage per
stage) and in the batch runner: armed with MEDIACOURIER_CRASH_AT, a process ingesting one real
file in move mode dies right there with the crash exit code. (What a crash at each point leaves
behind is test_crash_points.py's business.)"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.crashpoints import ENV, EXIT_CODE, POINTS

REPO = Path(__file__).resolve().parents[3]
RUNNER = """
import sys
from pathlib import Path
from shared.config import build_settings
from shared.ingest import Context, ingest_many, run_all
from shared.jobs import FileJob
from shared.state import RedisStateStore

src, lib, url, prefix, runner = sys.argv[1:]
raw = {"sources": {"cam": {"path": src, "library": "lib", "mode": "move"}},
       "libraries": {"lib": {"path": lib}}}
ctx = Context(build_settings(raw, None, Path(src)), RedisStateStore.from_url(url, prefix))
job = FileJob("cam", "DCIM/IMG_0001.JPG")
if runner == "chain":
    print(run_all(job, ctx).outcome)
else:
    print(ingest_many([job], ctx, lambda job, result: result)[0])
"""
# On one filesystem the placement is a hard link (no temp file); across filesystems a copy.
LINK_POINTS = ("linked", "folder-fsynced")
CASES = [(point, "across") for point in POINTS] + [
    (point, "same") for point in LINK_POINTS]


@pytest.fixture
def other_filesystem() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="mc-test-crash-", dir="/dev/shm"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("runner", ["chain", "batch"])
@pytest.mark.parametrize(("point", "where"), CASES)
def test_every_crash_point_is_reached(tmp_path: Path, other_filesystem: Path, redis_url: str,
                                      key_prefix: str, point: str, where: str,
                                      runner: str) -> None:
    # Given a photo in a move-mode source, its library on the same or another filesystem
    src = tmp_path / "src"
    (src / "DCIM").mkdir(parents=True)
    photo = src / "DCIM" / "IMG_0001.JPG"
    photo.write_bytes(os.urandom(50_000))
    lib = tmp_path / "lib" if where == "same" else other_filesystem
    lib.mkdir(exist_ok=True)
    # When a process ingests it with the point armed
    env = {**os.environ, ENV: point, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, str(src), str(lib), redis_url, key_prefix, runner],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    # Then it died at that point with the crash exit code, not at another or by an error
    assert done.returncode == EXIT_CODE, (done.stdout, done.stderr[-2000:])
    assert f"crash point {point!r} reached" in done.stderr
