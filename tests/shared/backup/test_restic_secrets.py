"""The restic password reaches restic through its environment only: never on a command line,
never from a stray RESTIC_PASSWORD the worker inherited; a wrong one is one clear line."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from shared.backup import ResticRepository
from shared.config import ResticTarget
from shared.errors import BackupRefused

SECRET = "not on any command line"


def _shim(folder: Path) -> Path:
    """A `restic` first on PATH that notes its argv, then runs the real one."""
    real = shutil.which("restic")
    assert real, "restic is not installed (./dev installs it)"
    bin_dir = folder / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "restic"
    shim.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> {folder / "argv.log"}\n'
                    f'exec {real} "$@"\n')
    shim.chmod(0o755)
    return bin_dir


def test_the_password_is_in_the_environment_only(tmp_path: Path) -> None:
    # Given a repository whose password is in MC_TEST_PW, and a wrong RESTIC_PASSWORD inherited
    repo = tmp_path / "repo"
    subprocess.run(["restic", "init", "-q"], env={**os.environ, "RESTIC_REPOSITORY": str(repo),
                                               "RESTIC_PASSWORD": SECRET},
                   check=True, capture_output=True, timeout=120)
    env = {**os.environ, "PATH": f"{_shim(tmp_path)}:{os.environ['PATH']}",
           "MC_TEST_PW": SECRET, "RESTIC_PASSWORD": "an inherited, wrong one"}
    repository = ResticRepository(ResticTarget("vault", str(repo), password_env="MC_TEST_PW"),
                                  "m", env=env)
    # When it is asked for the mirror's latest snapshot
    latest = repository.latest()
    # Then restic opened the repository (the right password reached it), with no secret in argv
    assert latest is None
    argv = (tmp_path / "argv.log").read_text()
    assert "snapshots" in argv and SECRET not in argv


def test_a_wrong_password_is_one_line_naming_the_target(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    subprocess.run(["restic", "init", "-q"], env={**os.environ, "RESTIC_REPOSITORY": str(repo),
                                               "RESTIC_PASSWORD": SECRET},
                   check=True, capture_output=True, timeout=120)
    (tmp_path / "pw").write_text("something else\n")
    repository = ResticRepository(ResticTarget("vault", str(repo), password_file=tmp_path / "pw"),
                                  "m")
    with pytest.raises(BackupRefused) as caught:
        repository.latest()
    assert str(caught.value) == "targets.vault (snapshots): wrong repository password"
