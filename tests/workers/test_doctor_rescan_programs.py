"""`doctor` on a rescan command given by path: what is wrong with that file, not "PATH"."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.config import RescanTarget, Settings
from workers.rescan_doctor import check_target


def command_target(program: str) -> RescanTarget:
    return RescanTarget(name="scan", command=(program, "{folder}"))


def test_a_missing_absolute_program_does_not_exist(tmp_path: Path) -> None:
    # Given a rescan command at an absolute path that is not there
    program = str(tmp_path / "bin" / "scan")
    # When doctor checks it / Then it says the file does not exist (PATH plays no part)
    with pytest.raises(FileNotFoundError) as caught:
        check_target(Settings(data_dir=tmp_path), command_target(program))
    assert str(caught.value) == f"{program} does not exist"


@pytest.mark.parametrize("folder", [False, True])
def test_a_program_that_cannot_run_is_not_executable(tmp_path: Path, folder: bool) -> None:
    # Given a rescan command that is a file without the execute bit, or a folder
    program = tmp_path / "scan"
    if folder:
        program.mkdir()
    else:
        program.write_text("#!/bin/sh\n")
        program.chmod(0o644)
    # When doctor checks it / Then it says it is not executable
    with pytest.raises(PermissionError) as caught:
        check_target(Settings(data_dir=tmp_path), command_target(str(program)))
    assert str(caught.value) == f"{program} is not executable"

