"""Crash-point tests, in the style of SQLite's and restic's: for every named point before and
after a durable step, an ingest (chain and batch, move and copy mode) dies there, is delivered
again, and a reconcile runs. Whatever the point: every content is in the library exactly once
and byte-identical, a source is gone only if its content is in the library, and no temp file is
left behind."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import redis

from shared.config import load_settings
from shared.crashpoints import ENV, EXIT_CODE, POINTS
from shared.ingest import Context, run_all
from shared.jobs import FileJob
from shared.source import plan_source, vanished_library_files
from shared.state import RedisStateStore
from shared.transfer import TMP_PREFIX

REPO = Path(__file__).resolve().parents[3]
FILES = {  # two contents, one of them twice (a duplicate), and a sidecar of the first image
    "a.jpg": b"\xff\xd8 first photo " * 3000,
    "sub/b.jpg": b"\xff\xd8 second photo " * 5000,
    "sub/c.jpg": b"\xff\xd8 first photo " * 3000,
    "a.xmp": b"<x:xmpmeta>rating 5</x:xmpmeta>",
}


def _config(base: Path, mode: str) -> Path:
    for name in ("src", "lib"):
        (base / name).mkdir(parents=True, exist_ok=True)
    config = base / "mediacourier.toml"
    config.write_text(
        f'data_dir = "{base / "data"}"\n'
        f'[sources.cam]\npath = "{base / "src"}"\nlibrary = "lib"\nmode = "{mode}"\n'
        f'[libraries.lib]\npath = "{base / "lib"}"\nduplicates = "delete"\n', encoding="utf-8")
    return config


def _put(src: Path) -> None:
    for rel, data in FILES.items():
        path = src / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, ns=(1_600_000_000 * 10**9, 1_600_000_000 * 10**9))


def _run(config: Path, url: str, prefix: str, runner: str, state: Path,
         point: str | None) -> int:
    env = {k: v for k, v in os.environ.items() if k != ENV}
    env["PYTHONPATH"] = str(REPO)
    if point:
        env[ENV] = point
    done = subprocess.run(
        [sys.executable, "-m", "tests.shared.ingest.crash_runner", str(config), url, prefix,
         runner, str(state)], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode in (0, EXIT_CODE), done.stderr[-3000:]
    return done.returncode


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in root.rglob("*") if p.is_file() or p.is_symlink()}


def _reconcile(config: Path, url: str, prefix: str) -> None:
    """What beat's reconcile does after a crash: sweep abandoned temps, re-plan what is left."""
    settings = load_settings(str(config))
    ctx = Context(settings, RedisStateStore.from_url(url, prefix), hostname="reconcile")
    vanished_library_files(ctx.store, "lib", str(settings.libraries["lib"].path), 0)
    plan = plan_source(ctx.store, settings.sources["cam"], stale_after=0, retry_failed=True,
                       now=2**40)
    for entry in plan.to_ingest:
        run_all(FileJob("cam", entry.rel_path, entry.size, entry.mtime_ns), ctx)


def _crash_and_recover(base: Path, url: str, prefix: str, point: str, mode: str,
                       runner: str) -> bool:
    """One ingest that dies at `point`, its redelivery and a reconcile; True if it died."""
    config = _config(base, mode)
    src, lib, state = base / "src", base / "lib", base / "state"
    state.mkdir()
    _put(src)
    # When the ingest dies at the crash point …
    crashed = _run(config, url, prefix, runner, state, point) == EXIT_CODE
    # … then a source file is gone only if its content is already in the library, intact
    in_library = set(_files(lib).values())
    for rel, data in FILES.items():
        if not (src / rel).exists():
            assert data in in_library, f"{rel} left the source before its copy was in place"
    # When its message is delivered again and a reconcile runs
    assert _run(config, url, prefix, runner, state, None) == 0
    _reconcile(config, url, prefix)
    # Then every content is in the library exactly once, byte-identical …
    library = _files(lib)
    contents = Counter(hashlib.sha256(d).hexdigest() for r, d in library.items()
                       if not r.endswith(".xmp"))
    wanted = {hashlib.sha256(d).hexdigest() for r, d in FILES.items() if not r.endswith(".xmp")}
    assert set(contents) == wanted and all(n == 1 for n in contents.values()), library.keys()
    assert FILES["a.xmp"] in library.values()
    # … no temp file is left, and move mode released every source (copy mode kept them)
    assert not [r for r in library if Path(r).name.startswith((TMP_PREFIX, ".mc-"))]
    left = _files(src)
    assert left == ({} if mode == "move" else FILES), left.keys()
    return crashed


@pytest.mark.e2e
@pytest.mark.parametrize("runner", ["chain", "batch"])
@pytest.mark.parametrize("point", POINTS)
def test_a_crash_at_any_point_loses_and_doubles_nothing(
    tmp_path: Path, redis_url: str, redis_client: redis.Redis, key_prefix: str,
    point: str, runner: str,
) -> None:
    # Given a source with two photos, a duplicate of one and a sidecar, in move and copy mode
    crashed = [mode for mode in ("move", "copy")
               if _crash_and_recover(tmp_path / mode, redis_url, f"{key_prefix}-{mode}", point,
                                     mode, runner)]
    # Then (beyond the checks of each run) the point was really reached in one mode at least
    assert crashed, f"{runner} never reached the crash point {point!r}"
