"""The deployment files agree with the code.

No Docker engine is needed: compose.yaml is parsed (with PyYAML) and its commands are checked
against the `mediacourier` parser and the Celery app.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from typing import Any

import pytest

from tests.docs_helpers import (
    CELERY_SUBCOMMANDS,
    COMPOSE_CONFIG,
    COMPOSE_DIR,
    COMPOSE_FILE,
    CONFIG_CONTAINER_PATH,
    DOCKERFILE,
    ENV_EXAMPLE,
    REPO,
    mediacourier_subcommands,
)

try:
    import yaml
except ImportError:  # reported by the `compose` fixture: pyyaml belongs in the test extras
    yaml = None


# -- helpers ---------------------------------------------------------------------------------


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
