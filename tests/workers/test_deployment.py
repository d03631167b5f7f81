"""Finding the deployment a command belongs to (workers/deployment.py): the documented order,
and read-only commands that never create a deployment where there is none."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.errors import ConfigError
from workers.deployment import (
    find_deployment,
    load_deployment,
    remember_deployment,
    remembered_file,
)


def folder_tree(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


def config_file(base: Path, name: str = "mediacourier.toml") -> Path:
    (base / "in").mkdir(parents=True, exist_ok=True)
    (base / "lib").mkdir(exist_ok=True)
    path = base / name
    path.write_text(f'data_dir = "{base / "data"}"\n'
                    f'[sources.cam]\npath = "{base / "in"}"\nlibrary = "lib"\n'
                    f'[libraries.lib]\npath = "{base / "lib"}"\n')
    return path


@pytest.fixture
def home(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "home").mkdir()
    return {"HOME": str(tmp_path / "home")}


@pytest.mark.parametrize("command", ["status", "history", "queues", "doctor", "trace"])
def test_a_read_only_command_with_no_deployment_names_where_it_looked(
        tmp_path: Path, home: dict[str, str], command: str) -> None:
    # Given an empty folder and a home with no configuration and no remembered deployment
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()

    # When a read-only command looks for its deployment
    with pytest.raises(ConfigError) as raised:
        load_deployment(None, command, env=home, cwd=cwd)

    # Then it says where it looked and how to point it, and created nothing
    message = str(raised.value)
    assert "no mediacourier deployment found" in message and "--config" in message
    assert str(remembered_file(home)) in message
    assert folder_tree(cwd) == [] and folder_tree(Path(home["HOME"])) == []


def test_a_writing_command_with_no_deployment_starts_the_default_one_here(
        tmp_path: Path, home: dict[str, str]) -> None:
    # Given an empty folder; When `sync` looks for its deployment
    settings = load_deployment(None, "sync", env=home, cwd=tmp_path)

    # Then it gets the zero-configuration default in this folder
    assert settings.data_dir == tmp_path / "mediacourier-data"
    assert (tmp_path / "mediacourier-data" / "inbox").is_dir()


def test_the_deployment_up_started_is_found_from_another_folder(
        tmp_path: Path, home: dict[str, str]) -> None:
    # Given `up` started with a config file elsewhere (it remembers it)
    started = load_deployment(str(config_file(tmp_path / "deploy")), "up", env=home,
                              cwd=tmp_path)
    remember_deployment(started, env=home)
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()

    # When `status` runs from another folder without --config
    settings = load_deployment(None, "status", env=home, cwd=cwd)

    # Then it has the same configuration, and created nothing in that folder
    assert settings.config_path == (tmp_path / "deploy" / "mediacourier.toml").absolute()
    assert settings.sources["cam"].path == tmp_path / "deploy" / "in"
    assert folder_tree(cwd) == []
    saved = json.loads(remembered_file(home).read_text())
    assert saved["config"] == str(settings.config_path)


def test_a_remembered_default_deployment_is_read_from_its_data_dir(
        tmp_path: Path, home: dict[str, str]) -> None:
    # Given `up` started with the default configuration in one folder
    started = load_deployment(None, "up", env=home, cwd=tmp_path / "repo")
    remember_deployment(started, env=home)

    # When `history` runs from another folder
    settings = load_deployment(None, "history", env=home, cwd=tmp_path)

    # Then it reads that data dir, not a new one here
    assert settings.data_dir == tmp_path / "repo" / "mediacourier-data"
    assert not (tmp_path / "mediacourier-data").exists()


def test_a_remembered_deployment_that_is_gone_is_not_used(
        tmp_path: Path, home: dict[str, str]) -> None:
    # Given a remembered config file that was deleted since
    path = config_file(tmp_path / "deploy")
    remember_deployment(load_deployment(str(path), "up", env=home, cwd=tmp_path), env=home)
    path.unlink()

    # When a read-only command looks; Then it finds nothing (and says so) instead of failing
    # on a missing file
    with pytest.raises(ConfigError, match="no mediacourier deployment found"):
        load_deployment(None, "status", env=home, cwd=tmp_path / "deploy")


def test_the_order_config_env_cwd_then_user_config(tmp_path: Path,
                                                   home: dict[str, str]) -> None:
    # Given a config in the user's config folder and one in the current folder
    user = config_file(Path(home["HOME"]) / ".config" / "mediacourier")
    here = config_file(tmp_path / "here")

    # When looked up from here, from elsewhere, and with $MEDIACOURIER_CONFIG
    from_here = find_deployment(None, home, tmp_path / "here", "status")
    from_elsewhere = find_deployment(None, home, tmp_path, "status")
    from_env = find_deployment(None, {**home, "MEDIACOURIER_CONFIG": str(user)},
                               tmp_path / "here", "status")

    # Then ./mediacourier.toml wins over the user's, and the environment over both
    assert from_here is not None and from_here.config == here
    assert from_elsewhere is not None and from_elsewhere.config == user
    assert from_env is not None and from_env.config == user
