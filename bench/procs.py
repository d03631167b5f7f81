"""Running the real programs: config files, the `mediacourier` CLI, rsync, find; timed."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from shared.state import EmbeddedRedis

REPO = Path(__file__).resolve().parents[1]
SUMMARY = re.compile(r"([\d.]+) MB in ([\d.]+) s")


class BenchError(Exception):
    """Something the benchmark cannot go on without; the message says what to do."""


def require_rsync() -> str:
    found = shutil.which("rsync")
    if not found:
        raise BenchError("rsync is not installed; the benchmark compares against it. "
                         "Install it with: apt-get install -y rsync")
    return found


def mediacourier_argv() -> list[str]:
    """The installed CLI, as a user runs it (start-up cost included)."""
    for candidate in (REPO / ".venv" / "bin" / "mediacourier",
                      Path(sys.executable).parent / "mediacourier"):
        if os.access(candidate, os.X_OK):
            return [str(candidate)]
    return [sys.executable, "-m", "workers.cli"]


def child_env(**extra: str) -> dict[str, str]:
    """The environment without any MEDIACOURIER_* of the caller's, so only our config counts."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIACOURIER_")}
    env.update(extra)
    return env


def _toml(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string for these values


@dataclass(frozen=True)
class BenchConfig:
    """One config file: one copy/move source into one library, on the private Redis."""

    path: Path
    source_name: str
    source: Path
    library: Path
    key_prefix: str


def write_config(path: Path, *, redis_url: str, key_prefix: str, data_dir: Path,
                 source_name: str, source: Path, library: Path, mode: str = "copy",
                 stability: str | None = None) -> BenchConfig:
    source.mkdir(parents=True, exist_ok=True)
    library.mkdir(parents=True, exist_ok=True)
    lines = [
        f"data_dir = {_toml(str(data_dir))}",
        f"redis_url = {_toml(redis_url)}",
        f"key_prefix = {_toml(key_prefix)}",
        "",
        f"[sources.{source_name}]",
        f"path = {_toml(str(source))}",
        'library = "lib"',
        f"mode = {_toml(mode)}",
    ]
    if stability is not None:
        lines.append(f"stability = {_toml(stability)}")
    lines += ["", "[libraries.lib]", f"path = {_toml(str(library))}", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return BenchConfig(path, source_name, source, library, key_prefix)


@dataclass(frozen=True)
class Timed:
    seconds: float
    returncode: int
    output: str


def run_timed(argv: list[str], log: Path | None = None, keep_output: bool = True,
              cwd: Path = REPO) -> Timed:
    """Run to completion; wall-clock seconds from spawn to exit. Output goes to `log` too."""
    started = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=child_env(), stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE if keep_output else subprocess.DEVNULL,
                          stderr=subprocess.STDOUT if keep_output else subprocess.DEVNULL,
                          check=False)
    seconds = time.perf_counter() - started
    output = proc.stdout.decode(errors="replace") if keep_output else ""
    if log is not None:
        log.write_text(f"$ {' '.join(argv)}\n{output}\nexit {proc.returncode}, {seconds:.3f} s\n")
    return Timed(seconds, proc.returncode, output)


def mc_sync(cfg: BenchConfig, log: Path, *extra: str) -> Timed:
    return run_timed([*mediacourier_argv(), "--config", str(cfg.path), "sync",
                      cfg.source_name, *extra], log)


def summary_seconds(output: str) -> float | None:
    """The in-process ingest time from the sync summary ('X MB in Y s'), if printed."""
    found = SUMMARY.findall(output)
    return float(found[-1][1]) if found else None


def rsync(src: Path, dst: Path, log: Path) -> Timed:
    return run_timed([require_rsync(), "-a", f"{src}/", f"{dst}/"], log)


def find_walk(root: Path) -> float:
    """`find -printf` of size, mtime and path of every file (output discarded)."""
    result = run_timed(["find", str(root), "-type", "f", "-printf", "%s %T@ %P\n"],
                       keep_output=False)
    if result.returncode != 0:
        raise BenchError(f"find over {root} exited with {result.returncode}")
    return result.seconds


def flush_dirty_pages() -> float:
    """Write back dirty pages, so one run's write-back is not billed to the next; seconds."""
    started = time.perf_counter()
    os.sync()
    return time.perf_counter() - started


@contextlib.contextmanager
def scratch_redis(prefix: str) -> Iterator[tuple[Path, str]]:
    """A work folder in the checkout and a private redis-server on it (no append-only file),
    both gone afterwards: what a benchmark run on its own (`python -m bench.X`) needs."""
    work = Path(tempfile.mkdtemp(prefix=prefix, dir=REPO))
    redis = EmbeddedRedis(work / "redis", appendonly=False)
    try:
        yield work, redis.start()
    finally:
        redis.stop()
        shutil.rmtree(work, ignore_errors=True)
