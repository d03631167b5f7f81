"""Paths and helpers shared by the tests of the deployment files and the README.

The example configurations are loaded with `shared.config.build_settings` after their folders are
moved into a temporary tree; `celery_side` (exposed by tests/conftest.py) imports `tasks` the way
the containers do.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from shared.config import build_settings
from workers.cli import build_parser

REPO = Path(__file__).resolve().parents[1]
COMPOSE_DIR = REPO / "compose"
COMPOSE_FILE = COMPOSE_DIR / "compose.yaml"
COMPOSE_CONFIG = COMPOSE_DIR / "mediacourier.toml"
ENV_EXAMPLE = COMPOSE_DIR / ".env.example"
DOCKERFILE = COMPOSE_DIR / "Dockerfile"
EXAMPLE_CONFIG = REPO / "mediacourier.example.toml"
README = REPO / "README.md"
CONFIG_CONTAINER_PATH = "/config/mediacourier.toml"
CELERY_SUBCOMMANDS = {"worker", "beat", "flower"}
SECTIONS = ("sources", "libraries", "rescan", "schedules", "hosts", "targets")
CELERY_SIDE_PREFIX = "mc-docs"  # MEDIACOURIER_KEY_PREFIX of the `celery_side` process


# -- helpers ---------------------------------------------------------------------------------


def readme() -> str:
    return README.read_text(encoding="utf-8")


def mediacourier_subcommands() -> set[str]:
    for action in build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    raise AssertionError("workers.cli.build_parser() has no sub-commands")


def config_path_values(raw: dict[str, Any]) -> list[str]:
    paths = [raw["data_dir"]] if "data_dir" in raw else []
    for source in raw.get("sources", {}).values():
        paths.append(source["path"])
    for library in raw.get("libraries", {}).values():
        paths.append(library["path"])
        if "archive_path" in library:
            paths.append(library["archive_path"])
    for syncthing in raw.get("syncthing", {}).values():
        if syncthing["folder_path"] not in paths:  # often a library's own folder
            paths.append(syncthing["folder_path"])
    for target in raw.get("targets", {}).values():
        if target.get("kind") == "local":
            paths.append(target["root"])
    return paths


def localised(text: str, root: Path) -> str:
    """The configuration text with every absolute folder moved under `root`, folders created."""
    for value in config_path_values(tomllib.loads(text)):
        expanded = os.path.expanduser(value)
        if os.path.isabs(expanded):
            moved = root / expanded.lstrip("/")
            quoted = json.dumps(value)
            assert quoted in text, f"{value!r} is not written as a plain quoted string"
            text = text.replace(quoted, json.dumps(str(moved)))
        else:
            moved = root / expanded
        moved.mkdir(parents=True, exist_ok=True)
    return text


def load_localised(original: Path, root: Path):
    config = root / original.name
    config.write_text(localised(original.read_text(encoding="utf-8"), root), encoding="utf-8")
    settings = build_settings(tomllib.loads(config.read_text(encoding="utf-8")), config, root)
    return config, settings


@pytest.fixture(scope="module")
def celery_side(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Import `tasks` the way the containers do (config from MEDIACOURIER_CONFIG, Redis from
    MEDIACOURIER_REDIS_URL; nothing connects) and list Celery's sub-commands and our tasks."""
    root = tmp_path_factory.mktemp("celery-side")
    config, _ = load_localised(COMPOSE_CONFIG, root)
    code = (
        "import json, tasks.ingest\n"
        "from celery.app.utils import find_app\n"
        "from celery.bin.celery import celery\n"
        "from tasks.app import soft_time_limit\n"
        "app = find_app('tasks')  # what `celery -A tasks` resolves\n"
        "conf = app.conf\n"
        "print(json.dumps({'commands': sorted(celery.commands),"
        " 'tasks': sorted(n for n in app.tasks if n.startswith('mediacourier.')),"
        " 'broker': conf.broker_url, 'queue': conf.task_default_queue,"
        " 'time_limit': conf.task_time_limit, 'soft_limit': conf.task_soft_time_limit,"
        " 'soft_of': {n: soft_time_limit(n) for n in (1800, 600, 100, 10, 1)},"
        " 'acks_on_timeout': conf.task_acks_on_failure_or_timeout,"
        " 'max_deliveries': tasks.ingest.MAX_DELIVERIES}))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIACOURIER_")}
    env.update(MEDIACOURIER_REDIS_URL="redis://:secret@redis.invalid:6379/0",
               MEDIACOURIER_KEY_PREFIX=CELERY_SIDE_PREFIX,
               MEDIACOURIER_CONFIG=str(config),
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])))
    done = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, f"`tasks` does not load:\n{done.stderr[-3000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])
