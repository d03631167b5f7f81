"""The deployment files and the README agree with the code.

No Docker engine is needed: compose.yaml is parsed (with PyYAML) and its commands are checked
against the `mediacourier` parser and the Celery app; the example configurations are loaded with
`shared.config.build_settings` after their folders are moved into a temporary tree.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from shared import fsdetect, ignore, layout
from shared.config import DUPLICATE_POLICIES, Settings, build_settings
from shared.config_checks import LOOPBACK
from shared.errors import ConfigError
from workers.cli import build_parser

try:
    import yaml
except ImportError:  # reported by the `compose` fixture: pyyaml belongs in the test extras
    yaml = None

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
SECTIONS = ("sources", "libraries", "rescan", "schedules")
CELERY_SIDE_PREFIX = "mc-docs"  # MEDIACOURIER_KEY_PREFIX of the `celery_side` process


# -- helpers ---------------------------------------------------------------------------------


def readme() -> str:
    return README.read_text(encoding="utf-8")


def fenced_blocks(markdown: str) -> list[tuple[str, str]]:
    """(language, body) of every ``` block."""
    blocks, language, body = [], None, []
    for line in markdown.splitlines():
        if line.startswith("```"):
            if language is None:
                language, body = line[3:].strip(), []
            else:
                blocks.append((language, "\n".join(body)))
                language = None
        elif language is not None:
            body.append(line)
    return blocks


def mentions(text: str, word: str) -> bool:
    """`word` appears on its own, not as part of a longer name."""
    return re.search(rf"(?<![\w.]){re.escape(word)}(?![\w])", text) is not None


def mediacourier_subcommands() -> set[str]:
    for action in build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    raise AssertionError("workers.cli.build_parser() has no sub-commands")


_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        current = env.get(name)
        unset_or_empty = not current if op and op.startswith(":") else current is None
        if op in (":-", "-"):
            return arg if unset_or_empty else current
        if op in (":?", "?"):
            if unset_or_empty:
                raise AssertionError(f"compose needs {name}: {arg}")
            return current
        return current or ""

    return _VARIABLE.sub(one, value.replace("$$", "\0")).replace("\0", "$")


def env_example() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def filled_env() -> dict[str, str]:
    """.env.example with its blanks filled, as a user would."""
    return {k: v or f"test-{k.lower()}" for k, v in env_example().items()}


def argv_of(service: dict[str, Any]) -> list[str]:
    def split(value: Any) -> list[str]:
        if value is None:
            return []
        return shlex.split(value) if isinstance(value, str) else [str(v) for v in value]

    return split(service.get("entrypoint")) + split(service.get("command"))


def environment_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def mounts_of(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> source, for the short and the long volume syntax."""
    mounts = {}
    for volume in service.get("volumes") or []:
        if isinstance(volume, dict):
            mounts[volume["target"]] = str(volume.get("source", ""))
        else:
            parts = volume.split(":")
            if len(parts) >= 2:
                mounts[parts[1]] = parts[0]
    return mounts


def runs_beat(argv: list[str]) -> bool:
    return argv[:1] == ["celery"] and "beat" in argv or argv[:2] == ["mediacourier", "up"]


def config_path_values(raw: dict[str, Any]) -> list[str]:
    paths = [raw["data_dir"]] if "data_dir" in raw else []
    for source in raw.get("sources", {}).values():
        paths.append(source["path"])
    for library in raw.get("libraries", {}).values():
        paths.append(library["path"])
        if "archive_path" in library:
            paths.append(library["archive_path"])
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


def config_keys() -> set[str]:
    """Every key shared/config.py reads from a table: `.get("key"…)`, `.choice`, `.strings`."""
    tree = ast.parse((REPO / "shared" / "config.py").read_text(encoding="utf-8"))
    keys = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("get", "choice", "strings")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            keys.add(node.args[0].value)
    return keys - set(SECTIONS)


def environment_override_keys() -> list[str]:
    tree = ast.parse((REPO / "shared" / "config.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == "_environment_overrides":
            for loop in ast.walk(node):
                if isinstance(loop, ast.For) and isinstance(loop.iter, ast.Tuple):
                    return [element.value for element in loop.iter.elts]
    raise AssertionError("shared.config._environment_overrides has no key tuple")


# -- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def raw_compose() -> dict[str, Any]:
    if yaml is None:
        pytest.fail("PyYAML is not installed: add 'pyyaml' to the test extras in pyproject.toml")
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def compose(raw_compose: dict[str, Any]) -> dict[str, Any]:
    """compose.yaml as `docker compose` sees it with a filled-in .env."""
    return interpolate(raw_compose, filled_env())


@pytest.fixture(scope="module")
def celery_side(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Import `tasks` the way the containers do (config from MEDIACOURIER_CONFIG, Redis from
    MEDIACOURIER_REDIS_URL; nothing connects) and list Celery's sub-commands and our tasks."""
    root = tmp_path_factory.mktemp("celery-side")
    config, _ = load_localised(COMPOSE_CONFIG, root)
    code = (
        "import json, tasks, tasks.ingest\n"
        "from celery.bin.celery import celery\n"
        "from tasks.app import soft_time_limit\n"
        "conf = tasks.app.conf\n"
        "print(json.dumps({'commands': sorted(celery.commands),"
        " 'tasks': sorted(n for n in tasks.app.tasks if n.startswith('mediacourier.')),"
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


# -- compose ---------------------------------------------------------------------------------


def test_compose_has_the_five_services(compose: dict[str, Any]) -> None:
    assert {"redis", "watcher", "worker", "beat", "flower"} <= set(compose["services"])


def test_every_service_command_exists_in_the_package(
    compose: dict[str, Any], celery_side: dict[str, Any]
) -> None:
    subcommands = mediacourier_subcommands()
    for name, service in compose["services"].items():
        argv = argv_of(service)
        assert argv, f"service {name} has no command"
        program = argv[0]
        if program == "redis-server":
            continue
        if program == "mediacourier":
            assert argv[1] in subcommands, f"{name}: `mediacourier {argv[1]}` does not exist"
        elif program == "celery":
            assert argv[1:3] == ["-A", "tasks"], f"{name}: celery must load the app `tasks`"
            assert argv[3] in CELERY_SUBCOMMANDS, f"{name}: unexpected `celery {argv[3]}`"
            assert argv[3] in celery_side["commands"], f"{name}: celery has no `{argv[3]}`"
        else:
            raise AssertionError(f"service {name} runs {program!r}, not mediacourier or celery")


def test_tasks_app_takes_its_broker_from_the_environment(celery_side: dict[str, Any]) -> None:
    assert celery_side["broker"] == "redis://:secret@redis.invalid:6379/0"
    assert {"mediacourier.ingest", "mediacourier.ingest_batch", "mediacourier.reconcile",
            "mediacourier.flush_rescans"} <= set(celery_side["tasks"])


def test_redis_has_a_password_aof_and_noeviction(
    raw_compose: dict[str, Any], compose: dict[str, Any]
) -> None:
    argv = argv_of(compose["services"]["redis"])
    assert argv[0] == "redis-server"
    assert argv[argv.index("--requirepass") + 1] == filled_env()["REDIS_PASSWORD"]
    assert argv[argv.index("--appendonly") + 1] == "yes"
    assert argv[argv.index("--maxmemory-policy") + 1] == "noeviction"
    raw = argv_of(raw_compose["services"]["redis"])
    # An unset or empty password stops `docker compose` instead of starting an open Redis.
    assert raw[raw.index("--requirepass") + 1].startswith("${REDIS_PASSWORD:?")
    assert compose["services"]["redis"].get("image", "").startswith("redis:7")


def test_flower_has_basic_auth(raw_compose: dict[str, Any], compose: dict[str, Any]) -> None:
    env = filled_env()
    auth = [a for a in argv_of(compose["services"]["flower"]) if a.startswith("--basic_auth=")]
    assert auth == [f"--basic_auth={env['FLOWER_USER']}:{env['FLOWER_PASSWORD']}"]
    raw = next(a for a in argv_of(raw_compose["services"]["flower"])
               if a.startswith("--basic_auth="))
    assert "${FLOWER_USER:?" in raw and "${FLOWER_PASSWORD:?" in raw


def test_exactly_one_beat(compose: dict[str, Any]) -> None:
    beats = [name for name, s in compose["services"].items() if runs_beat(argv_of(s))]
    assert beats == ["beat"]


def test_every_mediacourier_service_gets_redis_and_the_config(compose: dict[str, Any]) -> None:
    raw_config = tomllib.loads(COMPOSE_CONFIG.read_text(encoding="utf-8"))
    folders = [raw_config["sources"][s]["path"] for s in raw_config["sources"]]
    folders += [raw_config["libraries"][lib]["path"] for lib in raw_config["libraries"]]
    password = filled_env()["REDIS_PASSWORD"]
    for name, service in compose["services"].items():
        if name == "redis":
            continue
        env = environment_of(service)
        assert env["MEDIACOURIER_REDIS_URL"] == f"redis://:{password}@redis:6379/0", name
        assert env["MEDIACOURIER_CONFIG"] == CONFIG_CONTAINER_PATH, name
        mounts = mounts_of(service)
        assert mounts.get(CONFIG_CONTAINER_PATH) == "./mediacourier.toml", name
        assert (COMPOSE_DIR / "mediacourier.toml").is_file()
        # Loading the config checks that these folders exist, in every service.
        for folder in folders:
            assert folder in mounts, f"{name}: {folder} (from mediacourier.toml) is not mounted"
        assert service.get("depends_on"), f"{name} should wait for redis"


def test_beat_keeps_its_schedule_on_the_data_volume(compose: dict[str, Any]) -> None:
    raw_config = tomllib.loads(COMPOSE_CONFIG.read_text(encoding="utf-8"))
    beat = compose["services"]["beat"]
    argv = argv_of(beat)
    schedule = argv[argv.index("-s") + 1]
    data_dir = raw_config["data_dir"]
    assert schedule == f"{data_dir}/run/celerybeat-schedule"
    source = mounts_of(beat).get(data_dir)
    assert source in compose["volumes"], f"{data_dir} should be a named volume"


def test_worker_can_write_the_source_and_library(compose: dict[str, Any]) -> None:
    # Move mode deletes from the source; every stage writes the library.
    for volume in compose["services"]["worker"]["volumes"]:
        if isinstance(volume, str) and volume.split(":")[1] in ("/sources/inbox", "/library"):
            assert not volume.endswith(":ro"), volume


def test_env_example_lists_every_variable_compose_needs(raw_compose: dict[str, Any]) -> None:
    needed = set()
    for match in _VARIABLE.finditer(COMPOSE_FILE.read_text(encoding="utf-8")):
        if match.group(2) in (":?", "?", None):
            needed.add(match.group(1))
    assert needed <= set(env_example()), sorted(needed - set(env_example()))


def test_dockerfile_builds_the_package_as_a_non_root_user() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    lines = [line.strip() for line in text.splitlines() if line.strip() and
             not line.strip().startswith("#")]
    assert lines[0] == "FROM python:3.11-slim"
    assert any(re.match(r"RUN .*pip install (--\S+ )*\.( |$)", line) for line in lines)
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    assert any(line.startswith(("CMD", "ENTRYPOINT")) and "mediacourier" in line
               for line in lines)
    # Everything setuptools packages is copied in.
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    for package in pyproject["tool"]["setuptools"]["packages"]:
        assert re.search(rf"^COPY (\S+ )*{package}/? ", text, re.M), f"{package} not copied"


# -- example configurations ------------------------------------------------------------------


@pytest.mark.parametrize("original", [COMPOSE_CONFIG, EXAMPLE_CONFIG], ids=lambda p: p.name)
def test_example_configs_load(original: Path, tmp_path: Path) -> None:
    _, settings = load_localised(original, tmp_path)
    assert settings.sources and settings.libraries
    for folder in [s.path for s in settings.sources.values()] + [
        lib.path for lib in settings.libraries.values()
    ]:
        assert str(folder).startswith(str(tmp_path)), folder


def test_full_example_sets_every_key_and_is_in_the_readme(tmp_path: Path) -> None:
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    for key in sorted(config_keys()):
        assert re.search(rf"^\s*{key}\s*=", text, re.M), f"{key} missing from {EXAMPLE_CONFIG}"
    _, settings = load_localised(EXAMPLE_CONFIG, tmp_path)
    assert settings.rescan_targets and settings.schedules
    assert {"move", "copy"} == {s.mode for s in settings.sources.values()}
    assert any(s.cron for s in settings.schedules.values())
    assert any(s.every_seconds for s in settings.schedules.values())
    assert text.strip() in readme(), "the README's full example differs from the file"


# -- README ----------------------------------------------------------------------------------


def test_readme_has_exactly_the_two_setup_commands() -> None:
    text = readme()
    assert "./dev up" in text and "./dev test" in text
    commands = [
        [line.split("#", 1)[0].strip() for line in block.splitlines()
         if line.split("#", 1)[0].strip()]
        for language, block in fenced_blocks(text) if language in ("", "sh", "bash")
    ]
    assert ["./dev up", "./dev test"] in commands


def test_ci_runs_the_readme_test_command() -> None:
    lines = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()
             if line.strip() and not line.strip().startswith("#")]
    assert any(re.fullmatch(r"(exec )?\./dev test", line) for line in lines), lines
    dev = (REPO / "dev").read_text()
    assert re.search(r"^\s*up\)", dev, re.M) and re.search(r"^\s*test\)", dev, re.M)


def test_readme_documents_every_config_key_and_override() -> None:
    text = readme()
    for key in sorted(config_keys()):
        assert f"`{key}`" in text, f"config key {key} is not in the README"
    for section in SECTIONS:
        assert f"[{section}.NAME]" in text, section
    for key in environment_override_keys():
        assert f"MEDIACOURIER_{key.upper()}" in text, key
    assert "MEDIACOURIER_CONFIG" in text
    for policy in DUPLICATE_POLICIES:
        assert f"`{policy}`" in text, policy


def test_readme_documents_layouts_and_placeholders() -> None:
    text = readme()
    for alias, template in layout.LAYOUT_ALIASES.items():
        assert f"`{alias}`" in text and f"`{template}`" in text, alias
    for field in layout.FIELDS:
        assert f"{{{field}}}" in text, field
    assert "{folder}" in text and "{rel_folder}" in text


def test_readme_lists_the_default_ignore_rules_and_extensions() -> None:
    lowered = readme().lower()
    for ext in ignore.MEDIA_EXTENSIONS | ignore.SIDECAR_EXTENSIONS:
        assert mentions(lowered, ext), f"extension {ext} is not in the README"
    for suffix in ignore.TEMPORARY_SUFFIXES:
        assert f"`{suffix}`" in lowered, suffix
    for name in ignore.CLUTTER_FILES | ignore.CLUTTER_DIRS:
        assert name in lowered, name
    for fs_type in fsdetect.NETWORK_FS_TYPES:
        assert mentions(lowered, fs_type), fs_type


def test_readme_names_real_commands_and_tasks(celery_side: dict[str, Any]) -> None:
    text = readme()
    for sub in mediacourier_subcommands():
        assert f"mediacourier {sub}" in text, sub
    named = set(re.findall(r"(?<![\w-])mediacourier\.[a-z_]+", text))
    for task in named - {"mediacourier.toml", "mediacourier.example"}:
        assert task in celery_side["tasks"], f"the README names {task}, which is not a task"
    for name in ("ingest", "reconcile"):
        assert f".venv/bin/celery -A tasks call mediacourier.{name} --args='[" in text
    assert "mediacourier-data/run/redis.url" in text


# -- README statements checked against the code ----------------------------------------------


def minimal_config(root: Path, **top: Any) -> dict[str, Any]:
    (root / "in").mkdir(exist_ok=True)
    (root / "lib").mkdir(exist_ok=True)
    return {**top, "sources": {"in": {"path": "in", "library": "lib"}},
            "libraries": {"lib": {"path": "lib"}}}


def load_minimal(root: Path, **top: Any) -> Settings:
    return build_settings(minimal_config(root, **top), root / "mediacourier.toml", root)


def test_the_queue_is_named_after_key_prefix(celery_side: dict[str, Any]) -> None:
    assert celery_side["queue"] == CELERY_SIDE_PREFIX
    text = readme() + EXAMPLE_CONFIG.read_text(encoding="utf-8")
    assert "queue named <key_prefix>" in readme() and "queue <key_prefix>" in readme()
    for stale in ("always `mediacourier`", 'always named "mediacourier"', "queue is always",
                  "different Redis databases, not"):
        assert stale not in text, f"stale advice about the queue name: {stale!r}"


def test_time_limit_figures_match_the_code(tmp_path: Path, celery_side: dict[str, Any]) -> None:
    text = readme()
    assert celery_side["time_limit"] == Settings(data_dir=tmp_path).task_time_limit == 1800
    assert load_minimal(tmp_path).task_time_limit == 1800 and "1,800 s" in text
    # Three quarters of a shorter visibility timeout; equal or above it is refused.
    assert load_minimal(tmp_path, visibility_timeout=2000).task_time_limit == 1500
    assert load_minimal(tmp_path, visibility_timeout=2400).task_time_limit == 1800
    assert "three\nquarters of `visibility_timeout` when that is shorter than 2,400 s" in text
    for limit in (3600, 4000):
        with pytest.raises(ConfigError, match="task_time_limit"):
            load_minimal(tmp_path, task_time_limit=limit, visibility_timeout=3600)
    # The soft limit: `hard - min(30, hard // 10 + 1)`, 30 s before the default.
    for hard, soft in celery_side["soft_of"].items():
        assert soft == max(1, int(hard) - min(30, int(hard) // 10 + 1)), hard
    assert celery_side["time_limit"] - celery_side["soft_limit"] == 30
    assert "`min(30, task_time_limit // 10 + 1)`" in text
    # Killed tasks are re-queued; the poison counter stops a message on its sixth delivery.
    assert celery_side["acks_on_timeout"] is False
    assert "`task_acks_on_failure_or_timeout = False`" in text
    assert celery_side["max_deliveries"] == 5
    assert "delivered more than 5 times" in text and "delivered a sixth time" in text


def test_flower_beyond_loopback_needs_basic_auth(tmp_path: Path) -> None:
    text = readme()
    for address in LOOPBACK:
        assert f"`{address}`" in text, address
        assert load_minimal(tmp_path, flower_address=address).flower_basic_auth == ""
    with pytest.raises(ConfigError, match="flower_basic_auth"):
        load_minimal(tmp_path, flower_address="0.0.0.0")
    assert load_minimal(tmp_path, flower_address="0.0.0.0", flower_basic_auth="a:b")
    from workers.up import Supervisor

    settings = load_minimal(tmp_path, flower_address="0.0.0.0", flower_basic_auth="a:secret")
    supervisor = Supervisor(settings)
    assert supervisor.environment("redis://x")["FLOWER_BASIC_AUTH"] == "a:secret"
    assert not any("secret" in arg for _, argv in supervisor.commands() for arg in argv)
    assert "`FLOWER_BASIC_AUTH` environment variable" in text
    assert "does not enforce" not in text and "does not refuse" not in (
        EXAMPLE_CONFIG.read_text(encoding="utf-8"))


def test_string_rescan_commands_get_the_folder_as_arguments(tmp_path: Path) -> None:
    raw = minimal_config(tmp_path)
    raw["rescan"] = {"app": {"command": "index {folder} {rel_folder}"}}
    settings = build_settings(raw, tmp_path / "mediacourier.toml", tmp_path)
    argv = settings.rescan_targets["app"].command
    assert argv == ("sh", "-c", 'index "$1" "$2"', "mediacourier-rescan", "{folder}",
                    "{rel_folder}")
    text = readme()
    assert "`sh -c SCRIPT mediacourier-rescan FOLDER REL_FOLDER`" in text
    assert "`{folder}` replaced by `\"$1\"`" in text and "`{rel_folder}` by `\"$2\"`" in text
    for document in (text, EXAMPLE_CONFIG.read_text(encoding="utf-8")):
        assert "pasted in unquoted" not in document and "folder pasted in" not in document, (
            "stale warning about string rescan commands")


def test_every_source_is_reconciled_hourly_by_default(tmp_path: Path) -> None:
    settings = load_minimal(tmp_path)
    assert settings.schedules["in"].every_seconds == 3600
    assert "**Every source is reconciled every hour by default.**" in readme()
    assert "has no schedules unless" not in readme()
    raw = minimal_config(tmp_path)
    raw["schedules"] = {"in": {"cron": "0 30 3 * * *"}}
    with pytest.raises(ConfigError, match="five-field"):
        build_settings(raw, tmp_path / "mediacourier.toml", tmp_path)
    assert "exactly five fields" in readme()


def test_sync_options_and_exit_codes_are_documented() -> None:
    text = readme()
    sync = next(a for a in build_parser()._actions
                if isinstance(a, argparse._SubParsersAction)).choices["sync"]
    workers = next(a for a in sync._actions if "--workers" in a.option_strings)
    assert workers.default == 2 * (os.cpu_count() or 1)
    assert "`mediacourier sync SOURCE [--dry-run] [--workers N]`" in text
    assert "(default: two per CPU" in text
    assert "1 if any file failed, 2 on a\n  configuration or Redis error" in text
    for argv in (["sync", "x", "--workers"], ["history", "--limit"], ["up", "--concurrency"],
                 ["worker", "--concurrency"]):
        assert f"`{argv[-1]}`" in text, argv
        build_parser().parse_args([*argv, "1"])
        with pytest.raises(SystemExit):
            build_parser().parse_args([*argv, "0"])


def test_dev_packages_named_in_the_readme() -> None:
    dev = (REPO / "dev").read_text(encoding="utf-8")
    text = readme()

    def packages(variable: str) -> list[str]:
        match = re.search(rf'^{variable}="([^"]*)"', dev, re.M)
        assert match, f"dev has no {variable}"
        return match.group(1).split()

    for variable in ("APT_TEST_PACKAGES", "APT_BENCH_PACKAGES"):
        assert f"`{variable}`" in text, variable
        for package in packages(variable):
            assert f"`{package}`" in text, package
    if "rsync" not in packages("APT_TEST_PACKAGES"):
        assert "`./dev test` does not\n   need `rsync`" in text
