"""A source, a library, a real Redis store and the Context over them, for stage tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis

from shared.config import build_settings
from shared.ingest.context import Context
from shared.ingest.pipeline import run_all
from shared.jobs import FileJob
from shared.state.store import RedisStateStore


@dataclass
class Rig:
    """One source folder, one library, a real Redis store and the Context over them."""

    base: Path
    ctx: Context
    flushes: list[tuple[str, float]] = field(default_factory=list)

    @property
    def src(self) -> Path:
        return self.ctx.settings.sources["cam"].path

    @property
    def lib(self) -> Path:
        return self.ctx.settings.libraries["lib"].path

    @property
    def store(self) -> RedisStateStore:
        return self.ctx.store

    def put(self, rel: str, data: bytes) -> Path:
        path = self.src.joinpath(*rel.split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    def ingest(self, rel: str) -> FileJob:
        return run_all(FileJob("cam", rel), self.ctx)


@pytest.fixture
def make_rig(tmp_path: Path, redis_client: redis.Redis, key_prefix: str):
    """Build a Rig; every call gets its own folders and its own key prefix on the real server."""
    counter = iter(range(1000))

    def make(mode: str = "move", duplicates: str = "skip", layout: str = "keep",
             rescan: bool = False, library_path: Path | None = None) -> Rig:
        base = tmp_path / f"rig{next(counter)}"
        (base / "src").mkdir(parents=True)
        lib = library_path or base / "lib"
        lib.mkdir(exist_ok=True)
        library: dict[str, Any] = {"path": str(lib), "duplicates": duplicates, "layout": layout}
        raw: dict[str, Any] = {
            "sources": {"cam": {"path": str(base / "src"), "library": "lib", "mode": mode}},
            "libraries": {"lib": library},
        }
        if duplicates == "archive":
            library["archive_path"] = str(base / "archive")
        if rescan:
            library["rescan"] = ["scanner"]
            raw["rescan"] = {"scanner": {"command": ["scan", "{folder}"], "debounce": 30}}
        settings = build_settings(raw, None, base)
        store = RedisStateStore(redis_client, f"{key_prefix}-{base.name}")
        flushes: list[tuple[str, float]] = []
        ctx = Context(settings, store, schedule_flush=lambda t, c: flushes.append((t, c)),
                      hostname="test-host")
        return Rig(base, ctx, flushes)

    return make


@pytest.fixture
def rig(make_rig) -> Rig:
    return make_rig()
