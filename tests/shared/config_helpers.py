"""Configurations for the tests of shared.config: a full example file, and a minimal raw dict."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

FULL_EXAMPLE = """
redis_url = "redis://127.0.0.1:6390/2"
key_prefix = "mc"
data_dir = "state"
visibility_timeout = 7200
max_retries = 5
flower_port = 5600

[sources.phone]
path = "phone"
library = "photos"
mode = "copy"
include = ["*.txt"]
exclude = ["Trash/*"]
stability = "15m"
polling = "on"

[sources.camera]
path = "camera"
library = "photos"

[libraries.photos]
path = "library"
layout = "date"
duplicates = "archive"
archive_path = "archive"
rescan = ["immich"]

[rescan.immich]
command = ["curl", "-X", "POST", "http://immich/scan?path={folder}"]
debounce = "90s"
timeout = "2h"
max_folders = 7

[schedules.phone]
every = "15m"

[schedules.camera]
cron = "0 3 * * 1"
"""


@pytest.fixture
def folders(tmp_path: Path) -> Path:
    """A config folder holding the source and library folders the full example names."""
    for name in ("phone", "camera", "library"):
        (tmp_path / name).mkdir()
    return tmp_path


def write_config(folder: Path, text: str) -> Path:
    path = folder / "mediacourier.toml"
    path.write_text(text, encoding="utf-8")
    return path


def minimal_config(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    """A valid raw config dict with one source and one library under tmp_path."""
    (tmp_path / "src").mkdir(exist_ok=True)
    (tmp_path / "lib").mkdir(exist_ok=True)
    raw: dict[str, Any] = {
        "sources": {"inbox": {"path": str(tmp_path / "src"), "library": "main"}},
        "libraries": {"main": {"path": str(tmp_path / "lib")}},
    }
    raw.update(overrides)
    return raw
