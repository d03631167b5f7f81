"""Sources and an in-memory enqueuer for the watcher tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.config import Settings, SourceConfig
from tests.doubles import RecordingEnqueuer

WINDOW = 0.3  # stability window of every test source


def settings(tmp_path: Path, *names: str, polling: str = "off") -> Settings:
    sources = {}
    for name in names or ("phone",):
        path = tmp_path / name
        path.mkdir()
        sources[name] = SourceConfig(
            name=name, path=path, library="lib", stability_seconds=WINDOW, polling=polling
        )
    return Settings(data_dir=tmp_path / "data", sources=sources)


def paths(enqueuer: RecordingEnqueuer) -> list[str]:
    return sorted(rel for _, rel, _, _ in enqueuer.files)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return tmp_path / "phone"


@pytest.fixture
def enqueuer() -> RecordingEnqueuer:
    return RecordingEnqueuer()
