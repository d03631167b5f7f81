"""`./dev mc ARGS` and `./dev celery ARGS` forward to the checkout's venv, in the caller's folder
(so --config and ./mediacourier.toml are the caller's). Run on a copy of `dev` beside a stand-in
venv whose programs print where and how they were called."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.e2e.harness import REPO

SHOW = '#!/bin/sh\necho "$0|$(pwd)|$*"\n'


def checkout(tmp_path: Path) -> Path:
    repo = tmp_path / "checkout"
    (repo / ".venv" / "bin").mkdir(parents=True)
    shutil.copy(REPO / "dev", repo / "dev")
    (repo / "pyproject.toml").write_text("")
    for name in ("mediacourier", "python", "pip"):
        program = repo / ".venv" / "bin" / name
        program.write_text(SHOW)
        program.chmod(0o755)
    (repo / ".venv" / ".installed").touch()  # newer than pyproject.toml: no install
    return repo


def dev(repo: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(repo / "dev"), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=30, env={"PATH": os.environ["PATH"], "HOME": str(cwd)})


def test_dev_mc_runs_the_cli_in_the_callers_folder(tmp_path: Path) -> None:
    # Given a checkout and a folder of the user's elsewhere
    repo, here = checkout(tmp_path), tmp_path / "photos"
    here.mkdir()

    # When `dev mc status --config ./my.toml` runs from that folder
    done = dev(repo, here, "mc", "--config", "./my.toml", "status")

    # Then the checkout's mediacourier ran, in that folder, with the arguments as given
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (f"{repo}/.venv/bin/mediacourier|{here}|"
                                   "--config ./my.toml status")


def test_dev_celery_runs_celery_for_the_deployment_found(tmp_path: Path) -> None:
    # When `dev celery inspect ping` runs from a folder of the user's
    repo, here = checkout(tmp_path), tmp_path / "photos"
    here.mkdir()
    done = dev(repo, here, "celery", "inspect", "ping")

    # Then the venv's python runs workers.deployment (which finds the deployment and becomes
    # `celery -A tasks`) in that folder
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (f"{repo}/.venv/bin/python|{here}|"
                                   "-m workers.deployment inspect ping")


def test_dev_usage_lists_mc_and_celery(tmp_path: Path) -> None:
    # When dev runs with no command; Then its usage names both forwarding commands
    done = dev(checkout(tmp_path), tmp_path, "")
    assert done.returncode == 2
    assert "./dev mc ARGS" in done.stderr and "./dev celery ARGS" in done.stderr
