"""Commands run from any folder: read-only ones find the deployment `up` started (or say in one
line where they looked) and never create state; every error is one line, `-v` adds the
traceback. `.venv/bin/mediacourier` as a user runs it, from a folder of the test's own."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from shared.config import load_settings
from tests.e2e.harness import REPO, Deployment
from tests.workers.cli_helpers import configure
from workers.deployment import remember_deployment

MEDIACOURIER = str(REPO / ".venv" / "bin" / "mediacourier")
READ_ONLY = [["status"], ["history"], ["queues"], ["doctor"], ["trace", "IMG_1.jpg"]]


def run_from(cwd: Path, home: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MEDIACOURIER_", "XDG_"))}
    return subprocess.run([MEDIACOURIER, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60, env={**env, "HOME": str(home), "COLUMNS": "200", **extra})


def everything_under(*roots: Path) -> list[str]:
    return sorted(str(p) for root in roots for p in root.rglob("*"))


@pytest.fixture
def empty(tmp_path: Path) -> tuple[Path, Path]:
    cwd, home = tmp_path / "somewhere", tmp_path / "home"
    cwd.mkdir()
    home.mkdir()
    return cwd, home


@pytest.mark.parametrize("args", READ_ONLY, ids=lambda a: a[0])
def test_a_read_only_command_with_no_deployment_says_where_it_looked_and_creates_nothing(
        empty: tuple[Path, Path], args: list[str]) -> None:
    # Given a folder and a home with no configuration and no deployment
    cwd, home = empty

    # When a read-only command runs there
    done = run_from(cwd, home, *args)

    # Then it exits 2 with exactly one line saying where it looked and how to point it, and
    # neither the folder nor the home holds anything new (no mediacourier-data/)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith("mediacourier: no mediacourier deployment found: looked for --config")
    assert "./mediacourier.toml" in line and "point to one with --config FILE" in line
    assert everything_under(cwd, home) == []


def test_verbose_adds_the_traceback_to_the_one_line(empty: tuple[Path, Path]) -> None:
    # Given no deployment; When `status -v` runs
    cwd, home = empty
    done = run_from(cwd, home, "status", "-v")

    # Then the traceback comes first and the same one line last
    assert done.returncode == 2
    assert done.stderr.startswith("Traceback (most recent call last):")
    assert done.stderr.splitlines()[-1].startswith("mediacourier: no mediacourier deployment")


def test_read_only_commands_find_the_deployment_up_started_from_any_folder(
        dep: Deployment, empty: tuple[Path, Path]) -> None:
    # Given a deployment whose `up` remembered it (as `mediacourier up` does when it starts),
    # with one operation in its journal
    configure(dep)
    cwd, home = empty
    remember_deployment(load_settings(str(dep.config_path), env={}), env={"HOME": str(home)})
    dep.store().journal("paused", kind="source", name="inbox")

    # When status and history run from another folder, without --config
    status = run_from(cwd, home, "status", "--timeout", "0.2")
    history = run_from(cwd, home, "history", "--format", "csv")

    # Then they read that deployment, and create nothing where they ran
    assert status.returncode == 0, status.stdout + status.stderr
    assert "workers online" in status.stdout
    assert history.returncode == 0, history.stdout + history.stderr
    assert ",paused," in history.stdout
    assert everything_under(cwd) == []


def test_history_of_a_deployment_that_never_ran_does_not_start_one(
        empty: tuple[Path, Path]) -> None:
    # Given the default configuration's folders (as a first `sync` leaves them) but no Redis data
    cwd, home = empty
    for sub in ("inbox", "library"):
        (cwd / "mediacourier-data" / sub).mkdir(parents=True)

    # When history runs there
    done = run_from(cwd, home, "history")

    # Then one line says this deployment has not run yet, and no Redis data was created
    assert done.returncode == 2, done.stdout + done.stderr
    [line] = done.stderr.splitlines()
    assert "has not run yet" in line and "--config" in line
    assert not (cwd / "mediacourier-data" / "redis").exists()


def test_a_worker_with_no_redis_is_one_line_with_the_connection_code(
        tmp_path: Path, empty: tuple[Path, Path]) -> None:
    # Given a configuration whose Redis is not running (a closed port)
    cwd, home = empty
    for sub in ("in", "lib"):
        (tmp_path / sub).mkdir()
    config = tmp_path / "mediacourier.toml"
    config.write_text(f'redis_url = "redis://127.0.0.1:1/0"\ndata_dir = "{tmp_path / "data"}"\n'
                      f'[sources.cam]\npath = "{tmp_path / "in"}"\nlibrary = "lib"\n'
                      f'[libraries.lib]\npath = "{tmp_path / "lib"}"\n')

    # When a worker is started
    done = run_from(cwd, home, "--config", str(config), "worker")

    # Then it exits 4 (connection) at once with one line naming the address, no Celery banner
    assert done.returncode == 4, done.stdout + done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith("mediacourier: Redis unreachable") and "127.0.0.1:1" in line
    assert done.stdout == ""


def run_celery_from(cwd: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """What `./dev celery ARGS` runs, from the caller's folder."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MEDIACOURIER_", "XDG_"))}
    python = str(REPO / ".venv" / "bin" / "python")
    return subprocess.run([python, "-m", "workers.deployment", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60,
                          env={**env, "HOME": str(home)})


def test_dev_celery_with_no_deployment_is_one_line(empty: tuple[Path, Path]) -> None:
    # Given no deployment; When `./dev celery inspect ping` runs from an empty folder
    cwd, home = empty
    done = run_celery_from(cwd, home, "inspect", "ping")

    # Then one line says where it looked (not Celery's import traceback), nothing is created
    assert done.returncode == 2, done.stdout + done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith("mediacourier: no mediacourier deployment found")
    assert everything_under(cwd, home) == []


def test_dev_celery_talks_to_the_deployment_found_from_any_folder(
        dep: Deployment, empty: tuple[Path, Path]) -> None:
    # Given a remembered deployment with its Redis up and no worker
    configure(dep)
    cwd, home = empty
    remember_deployment(load_settings(str(dep.config_path), env={}), env={"HOME": str(home)})

    # When `./dev celery inspect ping` runs from another folder
    done = run_celery_from(cwd, home, "inspect", "ping", "--timeout", "0.5")

    # Then Celery reached that Redis and found no worker there (its own answer, not an import
    # error), and nothing was created where it ran
    assert "No nodes replied" in done.stdout + done.stderr, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert everything_under(cwd) == []
