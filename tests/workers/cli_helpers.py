"""Running `mediacourier` as a subprocess against a Deployment's real redis-server."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import REPO, Deployment


@pytest.fixture
def dep(tmp_path: Path) -> Iterator[Deployment]:
    deployment = Deployment(tmp_path)
    deployment.start_redis()
    yield deployment
    deployment.stop_all()


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIACOURIER_")}
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    # A wide terminal: rich wraps at 80 columns when stdout is a pipe.
    return subprocess.run([sys.executable, "-m", "workers.cli", *args], cwd=REPO,
                          env={**env, "COLUMNS": "250"}, capture_output=True, text=True,
                          timeout=120)


def configure(dep: Deployment, mode: str = "copy", **tables: dict) -> tuple[Path, Path]:
    source, library = dep.folder("inbox"), dep.folder("library")
    dep.tables = {"sources.inbox": {"path": str(source), "library": "library", "mode": mode},
                  "libraries.library": {"path": str(library)}, **tables}
    dep.write_config()
    return source, library
