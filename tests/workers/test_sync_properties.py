"""Property test of `mediacourier sync` (workers.sync.run_sync, its worker processes and a real
Redis) over random trees: photos with repeated contents, sidecars, files already in the library
under the same names, renames between two runs, every mode, duplicate policy and layout.

Invariants, after every run:
- no content is lost: every content present in source ∪ library ∪ archive before the run is
  still present after it; in copy mode none of its copies goes; in move mode a source copy goes
  only where the library holds that content (moved there, or already there as a duplicate);
- no file that was in the library before the run is changed or removed.
"""

from __future__ import annotations

import io
import os
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from shared.config import build_settings
from shared.ingest import Context
from shared.state import RedisStateStore
from workers.sync import run_sync

CONTENTS = [b"\xff\xd8" + bytes([n]) * (50 + 37 * n) for n in range(6)]
NAMES = st.sampled_from(["IMG_1.JPG", "IMG_2.jpg", "clip.mp4", "a.png", "IMG_1.xmp"])
FOLDERS = st.sampled_from(["", "cam", "cam/2024", "x"])
FILE = st.tuples(FOLDERS, NAMES, st.integers(0, len(CONTENTS) - 1),
                 st.integers(1_500_000_000, 1_700_000_000))
LAYOUTS = st.sampled_from(["keep", "date", "{source}/{year}/{stem}.{ext}"])
EXAMPLES = int(os.environ.get("MEDIACOURIER_PROPERTY_EXAMPLES", "500"))


def _tree(root: Path) -> dict[str, bytes]:
    if not root.exists():
        return {}
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*")
            if p.is_file()}


def _write(root: Path, files: list[tuple[str, str, int, int]]) -> None:
    for folder, name, content, mtime in files:
        path = root / folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(CONTENTS[content])
        os.utime(path, (mtime, mtime))


def _contents(*roots: Path) -> Counter[bytes]:
    return Counter(data for root in roots for data in _tree(root).values())


@pytest.fixture(scope="module")
def client(redis_server: Any) -> Any:
    if not redis_server.running:
        redis_server.start()
    connection = redis.Redis.from_url(redis_server.url, decode_responses=True)
    yield redis_server.url, connection
    connection.close()


@pytest.mark.e2e
@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(incoming=st.lists(FILE, min_size=1, max_size=8),
       in_library=st.lists(FILE, max_size=3),
       renames=st.lists(st.tuples(st.integers(0, 7), FOLDERS, NAMES), max_size=2),
       later=st.lists(FILE, max_size=3),
       mode=st.sampled_from(["move", "copy"]),
       duplicates=st.sampled_from(["skip", "archive", "delete"]),
       layout=LAYOUTS)
def test_sync_never_loses_content_nor_touches_the_library(
    tmp_path_factory: pytest.TempPathFactory, client: Any, incoming: list, in_library: list,
    renames: list, later: list, mode: str, duplicates: str, layout: str,
) -> None:
    url, connection = client
    base = tmp_path_factory.mktemp("prop")
    src, lib, archive = base / "src", base / "lib", base / "archive"
    src.mkdir()
    lib.mkdir()
    # Given a library that already holds some files, and a source with new ones
    _write(lib, in_library)
    _write(src, incoming)
    library: dict[str, Any] = {"path": str(lib), "duplicates": duplicates, "layout": layout}
    if duplicates == "archive":
        library["archive_path"] = str(archive)
    raw = {"data_dir": str(base / "data"),
           "sources": {"cam": {"path": str(src), "library": "lib", "mode": mode,
                               "stability": "1s"}},
           "libraries": {"lib": library}}
    prefix = f"mc-prop-{uuid.uuid4().hex[:10]}"
    ctx = Context(build_settings(raw, None, base), RedisStateStore(connection, prefix))
    try:
        for round_number in range(2):
            before = _contents(src, lib, archive)
            library_before = _tree(lib)
            # When sync runs (the second time after renames and new arrivals in the source)
            run_sync(ctx, url, "cam", False, 1, Console(file=io.StringIO()))
            after = _contents(src, lib, archive)
            # Then no content is lost, and a copy only goes where the library holds the content
            in_library = _contents(lib)
            for data, count in before.items():
                floor = count if mode == "copy" else 1
                assert after[data] >= floor and (after[data] >= count or in_library[data]), (
                    f"round {round_number}: content {data[:4]!r}… had {count} copies, now "
                    f"{after[data]} ({in_library[data]} in the library)")
            # … and every file the library held before the run is still there, unchanged
            now = _tree(lib)
            for rel, data in library_before.items():
                assert now.get(rel) == data, f"round {round_number}: library file {rel} changed"
            _rename(src, renames)
            _write(src, later)
    finally:
        keys = list(connection.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            connection.delete(*keys)


def _rename(src: Path, renames: list[tuple[int, str, str]]) -> None:
    present = sorted(p for p in src.rglob("*") if p.is_file())
    for index, folder, name in renames:
        if not present:
            return
        old = present[index % len(present)]
        new = src / folder / name
        if new.exists() or not old.exists():
            continue
        new.parent.mkdir(parents=True, exist_ok=True)
        old.rename(new)
