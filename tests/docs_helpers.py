"""Paths and helpers shared by the tests of the deployment files and the README.

The example configurations are loaded with `shared.config.build_settings` after their folders are
moved into a temporary tree; `celery_side` (exposed by tests/conftest.py) imports `tasks` the way
the containers do.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from shared.config import build_settings, tables
from workers.cli import build_parser

REPO = Path(__file__).resolve().parents[1]
COMPOSE_DIR = REPO / "compose"
COMPOSE_FILE = COMPOSE_DIR / "compose.yaml"
COMPOSE_CONFIG = COMPOSE_DIR / "mediacourier.toml"
ENV_EXAMPLE = COMPOSE_DIR / ".env.example"
DOCKERFILE = COMPOSE_DIR / "Dockerfile"
EXAMPLE_CONFIG = REPO / "mediacourier.example.toml"
README = REPO / "README.md"
DOCS = REPO / "docs"
CONFIG_CONTAINER_PATH = "/config/mediacourier.toml"
CELERY_SUBCOMMANDS = {"worker", "beat", "flower"}
SECTIONS = ("sources", "libraries", "rescan", "schedules", "hosts", "targets")
CELERY_SIDE_PREFIX = "mc-docs"  # MEDIACOURIER_KEY_PREFIX of the `celery_side` process


# -- helpers ---------------------------------------------------------------------------------


def readme() -> str:
    return README.read_text(encoding="utf-8")


def doc(page: str) -> str:
    """One page of the docs site, e.g. doc("configuration")."""
    return (DOCS / f"{page}.md").read_text(encoding="utf-8")


def site_text() -> str:
    """The README and every page of the docs site: what a user can read."""
    pages = sorted(DOCS.glob("*.md"))
    return "\n\n".join([readme(), *(p.read_text(encoding="utf-8") for p in pages)])


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
        "app.loader.import_default_modules()  # the `include` modules a worker imports\n"
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


# -- the configuration schema: every key the loader reads, per table --------------------------

SCHEMA_TABLES = ("top", "security", *SECTIONS, "syncthing", "mirrors", "scrub", "notify", "flows")


def _probe_config(root: Path) -> dict[str, Any]:
    """One configuration with a table of every section, kind, executor and flow step kind
    (names `probe_*`), so that loading it asks for every key the loader knows."""
    for folder in ("in", "lib", "mirror-src", "backup", "backup2", "certs", "icloud",
                   "nc/alice/files/InstantUpload", "out"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for file in ("id_probe", "known_hosts", "worker.key", "worker.pem"):
        (root / file).write_text("probe\n", encoding="utf-8")
    ssh = {"host": "nas.invalid", "user": "photos", "key_file": str(root / "id_probe"),
           "known_hosts": str(root / "known_hosts"), "root": "/volume1/photo"}
    return {
        "security": {"signing_key_file": str(root / "worker.key"),
                     "signing_cert_file": str(root / "worker.pem"),
                     "cert_store": str(root / "certs")},
        "sources": {"probe_src": {"path": str(root / "in"), "library": "probe_lib"},
                    "probe_nc": {"kind": "nextcloud", "path": str(root / "nc"),
                                 "library": "probe_lib"},
                    "probe_icloud": {"kind": "icloud", "path": str(root / "icloud"),
                                     "library": "probe_lib", "icloud_username": "a@b.invalid"}},
        "libraries": {"probe_lib": {"path": str(root / "lib"), "syncthing": "probe_st"},
                      "probe_remote": {"path": "photos", "target": "probe_sftp"}},
        "schedules": {"probe_src": {"every": "1h"}},
        "syncthing": {"probe_st": {
            "folder_id": "photos", "folder_path": str(root / "lib"), "api_key_env": "KEY",
            "devices": ["P56IOI7-MZJNU2Y-IQGDREY-DM2MGTI-MGL3BXN-PQ6W5BM-TBBZ4TJ-XZWICQ2"]}},
        "rescan": {
            "probe_cmd": {"command": ["index", "{folder}"]},
            "probe_nc": {"kind": "nextcloud", "executor": "docker", "container": "nextcloud",
                         "nextcloud_user": "alice"},
            "probe_pp": {"kind": "photoprism", "executor": "ssh", "ssh_target": "probe_sftp",
                         "service": "photos_photoprism"},
            "probe_ppapi": {"kind": "photoprism", "mode": "api", "url": "http://pp:2342",
                            "token_env": "TOKEN"},
            "probe_im": {"kind": "immich", "url": "http://immich:2283", "api_key_env": "KEY",
                         "library_id": "0f5c6bd3"},
        },
        "targets": {"probe_local": {"kind": "local", "root": str(root / "backup")},
                    "probe_local2": {"kind": "local", "root": str(root / "backup2")},
                    "probe_sftp": {"kind": "sftp", **ssh},
                    "probe_rsync": {"kind": "rsync", **ssh, "root": "/volume2/backup"},
                    "probe_restic": {"kind": "restic", "repository": "sftp:/volume1/restic",
                                     "password_env": "RESTIC_PROBE", "keep_daily": 7,
                                     "prune_every": "7d", "host": "nas.invalid", "user": "photos",
                                     "key_file": str(root / "id_probe")},
                    "probe_rclone": {"kind": "rclone", "remote": "b2crypt:", "path": "photos"}},
        "mirrors": {"probe_mir": {"library": "probe_lib", "target": "probe_local"},
                    "probe_mirsrc": {"source_path": str(root / "mirror-src"),
                                     "target": "probe_local2", "schedule": "0 3 * * *"}},
        "scrub": {"probe_scrub": {"library": "probe_lib", "every": "1d"}},
        "notify": {"probe_notify": {"urls": ["json://127.0.0.1:9/hook"]}},
        # A flow with a step of every kind (release needs an earlier deliver or archive)
        "flows": {"probe_flow": {"from": str(root / "icloud"), "steps": [
            {"kind": "deliver", "library": "probe_lib", "batch": 5, "timeout": "10m"},
            {"kind": "archive", "to": str(root / "out")},
            {"kind": "move", "to": str(root / "out")},
            {"kind": "compress", "to": str(root / "out")},
            {"kind": "release", "to": str(root / "out")},
            {"kind": "cleanup", "folder": str(root / "icloud")}]}},
        "hosts": {"probe_host": {"sources": ["probe_src", "probe_nc", "probe_icloud"],
                                 "libraries": ["probe_lib"],
                                 "targets": ["probe_sftp", "probe_local", "probe_local2"],
                                 "rescan": ["probe_cmd", "probe_nc", "probe_pp", "probe_ppapi",
                                            "probe_im"]}},
    }


def _robocopy_keys() -> set[str]:
    """A robocopy target's keys: it is read by shared/robocopy/target.py's own `_KEYS` check."""
    tree = ast.parse((REPO / "shared" / "robocopy" / "target.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "_KEYS"
                                                for t in node.targets):
            return set(ast.literal_eval(node.value))
    raise AssertionError("shared/robocopy/target.py has no _KEYS")


def config_schema(root: Path) -> dict[str, set[str]]:
    """{table: keys} of every key the loader reads, recorded from `Table.get` (through which
    every typed read, choice, list and range goes, and whose `used` keys are the known ones)
    while it loads the probe configuration."""
    root.mkdir(parents=True, exist_ok=True)
    read: list[tuple[str, str]] = []
    original = tables.Table.get

    def recording(self: tables.Table, key: str, *args: Any, **kwargs: Any) -> Any:
        read.append((self.where, key))
        return original(self, key, *args, **kwargs)

    tables.Table.get = recording  # type: ignore[method-assign]
    try:
        build_settings(_probe_config(root), root / "mediacourier.toml", root)
    finally:
        tables.Table.get = original  # type: ignore[method-assign]
    schema: dict[str, set[str]] = {name: set() for name in SCHEMA_TABLES}
    for where, key in read:
        section = re.search(r"(\w+)\.probe_\w+", where)
        if section:
            schema[section.group(1)].add(key)
        elif re.search(r"\bsecurity\b", where):
            schema["security"].add(key)
        elif not key.startswith("probe_"):  # the [syncthing] table's keys are its names
            schema["top"].add(key)
    schema["top"] -= set(SCHEMA_TABLES) | {"security"}
    schema["targets"] |= _robocopy_keys()
    return schema
