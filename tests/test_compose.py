"""The deployment files agree with the code.

No Docker engine is needed: compose.yaml and extra-host.yaml are parsed (with PyYAML) and their
commands are checked against the `mediacourier` parser, the Celery app and the hosts and queues of
compose/mediacourier.toml.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from typing import Any

import pytest

from shared.config import Settings
from shared.config.queues import routing_rows, worker_queues
from tests.docs_helpers import (
    CELERY_SUBCOMMANDS,
    COMPOSE_CONFIG,
    COMPOSE_DIR,
    COMPOSE_FILE,
    CONFIG_CONTAINER_PATH,
    DOCKERFILE,
    ENV_EXAMPLE,
    REPO,
    load_localised,
    mediacourier_subcommands,
)
from workers.cli import build_parser

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


EXTRA_FILE = COMPOSE_DIR / "extra-host.yaml"


def host_of(service: dict[str, Any]) -> str | None:
    """The [hosts.NAME] a container is: `--host` on its command, else MEDIACOURIER_HOST."""
    argv = argv_of(service)
    if "--host" in argv:
        return argv[argv.index("--host") + 1]
    return environment_of(service).get("MEDIACOURIER_HOST")


def worker_services(*files: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: service for file in files for name, service in file["services"].items()
            if argv_of(service)[:2] == ["mediacourier", "worker"]}


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


@pytest.fixture(scope="module")
def extra(raw_compose: dict[str, Any]) -> dict[str, Any]:
    """extra-host.yaml (the second machine) with a filled-in .env."""
    return interpolate(yaml.safe_load(EXTRA_FILE.read_text(encoding="utf-8")), filled_env())


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """compose/mediacourier.toml, its container folders created under a temporary root."""
    return load_localised(COMPOSE_CONFIG, tmp_path_factory.mktemp("compose-config"))[1]


# -- compose ---------------------------------------------------------------------------------


def test_compose_has_redis_watcher_workers_beat_and_flower(compose: dict[str, Any]) -> None:
    assert {"redis", "watcher", "beat", "flower"} <= set(compose["services"])
    assert worker_services(compose), "no `mediacourier worker` service"


@pytest.mark.parametrize("file", ["compose", "extra"])
def test_every_service_command_exists_in_the_package(
    file: str, request: pytest.FixtureRequest, celery_side: dict[str, Any], settings: Settings
) -> None:
    subcommands = mediacourier_subcommands()
    for name, service in request.getfixturevalue(file)["services"].items():
        argv = argv_of(service)
        assert argv, f"service {name} has no command"
        program = argv[0]
        if program == "redis-server":
            continue
        if program == "mediacourier":
            assert argv[1] in subcommands, f"{name}: `mediacourier {argv[1]}` does not exist"
            build_parser().parse_args(argv[1:])  # every option exists (SystemExit otherwise)
        elif program == "celery":
            assert argv[1:3] == ["-A", "tasks"], f"{name}: celery must load the app `tasks`"
            assert argv[3] in CELERY_SUBCOMMANDS, f"{name}: unexpected `celery {argv[3]}`"
            assert argv[3] in celery_side["commands"], f"{name}: celery has no `{argv[3]}`"
        else:
            raise AssertionError(f"service {name} runs {program!r}, not mediacourier or celery")
        host = host_of(service)
        assert host in settings.hosts, f"{name}: host {host!r} is no [hosts.*] of the config"
        assert environment_of(service).get("MEDIACOURIER_HOST") == host, name


def test_every_routed_queue_has_a_worker_and_workers_use_declared_queues(
    compose: dict[str, Any], extra: dict[str, Any], settings: Settings
) -> None:
    consumed: set[str] = set()
    for name, service in worker_services(compose, extra).items():
        argv = argv_of(service)
        roles = [argv[i + 1] for i, arg in enumerate(argv) if arg == "--role"] or None
        queues = worker_queues(settings, host_of(service), roles or ("files", "rescan", "shared"))
        assert queues, name
        consumed.update(queues)
    routed = {queue for queue, what in routing_rows(settings) if what != "-"}
    assert routed <= consumed, f"queues nobody consumes: {sorted(routed - consumed)}"
    assert settings.key_prefix in consumed  # the shared queue


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


def test_flower_has_basic_auth_from_its_environment(
    raw_compose: dict[str, Any], compose: dict[str, Any]
) -> None:
    env = filled_env()
    flower = compose["services"]["flower"]
    assert environment_of(flower)["FLOWER_BASIC_AUTH"] == (
        f"{env['FLOWER_USER']}:{env['FLOWER_PASSWORD']}")
    # Not on the command line, where `ps` on the Docker host would show it
    assert not any("auth" in arg or env["FLOWER_PASSWORD"] in arg for arg in argv_of(flower))
    raw = environment_of(raw_compose["services"]["flower"])["FLOWER_BASIC_AUTH"]
    assert "${FLOWER_USER:?" in raw and "${FLOWER_PASSWORD:?" in raw


def test_exactly_one_beat(compose: dict[str, Any], extra: dict[str, Any]) -> None:
    beats = [name for file in (compose, extra) for name, s in file["services"].items()
             if runs_beat(argv_of(s))]
    assert beats == ["beat"]


def host_folders(host: str) -> list[str]:
    """The container folders a host's containers must have: the config checks they exist."""
    raw = tomllib.loads(COMPOSE_CONFIG.read_text(encoding="utf-8"))
    reach = raw["hosts"][host]
    return ([raw["sources"][s]["path"] for s in reach.get("sources", [])]
            + [raw["libraries"][lib]["path"] for lib in reach.get("libraries", [])])


@pytest.mark.parametrize("file", ["compose", "extra"])
def test_every_mediacourier_service_gets_redis_and_the_config(
    file: str, request: pytest.FixtureRequest
) -> None:
    env_file = filled_env()
    password = env_file["REDIS_PASSWORD"]
    redis_address = "redis:6379" if file == "compose" else f"{env_file['REDIS_HOST']}:6379"
    for name, service in request.getfixturevalue(file)["services"].items():
        if name == "redis":
            continue
        env = environment_of(service)
        assert env["MEDIACOURIER_REDIS_URL"] == f"redis://:{password}@{redis_address}/0", name
        assert env["MEDIACOURIER_CONFIG"] == CONFIG_CONTAINER_PATH, name
        mounts = mounts_of(service)
        assert mounts.get(CONFIG_CONTAINER_PATH) == "./mediacourier.toml", name
        # Loading the config checks that the folders of the container's host exist.
        for folder in host_folders(host_of(service)):
            assert folder in mounts, f"{name}: {folder} (from mediacourier.toml) is not mounted"
        if file == "compose":
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


def test_file_workers_can_write_their_sources_and_library(
    compose: dict[str, Any], extra: dict[str, Any]
) -> None:
    # Move mode deletes from the source; the file stages write the library.
    for name, service in worker_services(compose, extra).items():
        argv = argv_of(service)
        if "--role" in argv and "files" not in argv:
            continue
        folders = host_folders(host_of(service))
        for volume in service["volumes"]:
            if isinstance(volume, str) and volume.split(":")[1] in folders:
                assert not volume.endswith(":ro"), (name, volume)


def test_env_example_lists_every_variable_compose_needs(raw_compose: dict[str, Any]) -> None:
    needed = set()
    text = COMPOSE_FILE.read_text(encoding="utf-8") + EXTRA_FILE.read_text(encoding="utf-8")
    for match in _VARIABLE.finditer(text):
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
    for pattern in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]:
        package = pattern.rstrip("*")
        assert re.search(rf"^COPY (\S+ )*{package}/? ", text, re.M), f"{package} not copied"
