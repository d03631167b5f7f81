"""Settings: the TOML file plus MEDIACOURIER_* environment, validated once into a frozen object.

How invalid configurations are refused is in test_config_errors.py.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import pytest

from shared.config import Settings, build_settings, load_settings, parse_duration
from shared.errors import ConfigError
from tests.shared.config_helpers import FULL_EXAMPLE
from tests.shared.config_helpers import minimal_config as _minimal
from tests.shared.config_helpers import write_config as _write_config

# --- the full example ----------------------------------------------------------------------


def test_full_example_parses_into_frozen_settings(folders: Path) -> None:
    # Given a config file that uses every section
    path = _write_config(folders, FULL_EXAMPLE)
    # When it is loaded with an empty environment
    settings = load_settings(str(path), env={}, cwd=Path("/"))
    # Then every value lands where it belongs, relative paths resolved against the file's folder
    assert settings.config_path == path
    assert settings.redis_url == "redis://127.0.0.1:6390/2"
    assert settings.key_prefix == "mc"
    assert settings.data_dir == folders / "state"
    assert (settings.visibility_timeout, settings.max_retries, settings.flower_port) == (
        7200, 5, 5600)
    phone = settings.sources["phone"]
    assert phone.path == folders / "phone"
    assert (phone.library, phone.mode, phone.polling) == ("photos", "copy", "on")
    assert phone.include == ("*.txt",) and phone.exclude == ("Trash/*",)
    assert phone.stability_seconds == 900.0
    camera = settings.sources["camera"]
    assert (camera.mode, camera.stability_seconds, camera.polling) == ("move", 2.0, "auto")
    photos = settings.libraries["photos"]
    assert photos.path == folders / "library"
    assert (photos.layout, photos.duplicates) == ("date", "archive")
    assert photos.archive_path == folders / "archive"
    assert photos.rescan == ("immich",)
    immich = settings.rescan_targets["immich"]
    assert immich.command == ("curl", "-X", "POST", "http://immich/scan?path={folder}")
    assert (immich.debounce_seconds, immich.timeout_seconds, immich.max_folders) == (
        90.0, 7200.0, 7)
    assert settings.schedules["phone"].every_seconds == 900.0
    assert settings.schedules["phone"].cron is None
    assert settings.schedules["camera"].cron == "0 3 * * 1"
    assert settings.schedules["camera"].every_seconds is None
    assert settings.library_of(phone) is photos
    assert not settings.embedded_redis
    # And the object cannot be changed afterwards
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.redis_url = "redis://elsewhere"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        phone.mode = "move"  # type: ignore[misc]


def test_string_command_runs_through_a_shell(tmp_path: Path) -> None:
    # Given a rescan command written as one string
    raw = _minimal(tmp_path, rescan={"t": {"command": "touch {folder}/.scanned"}})
    # When the settings are built
    settings = build_settings(raw, None, tmp_path)
    # Then it becomes `sh -c <string>` with the folder passed as an argument, never pasted in
    assert settings.rescan_targets["t"].command == (
        "sh", "-c", 'touch "$1"/.scanned', "mediacourier-rescan", "{folder}", "{rel_folder}")


def test_string_command_cannot_be_injected_through_a_folder_name(tmp_path: Path) -> None:
    # Given a string command and an uploaded folder named like a command substitution
    from shared.executors.base import LocalExecutor
    from shared.rescan.apps import render

    raw = _minimal(tmp_path, rescan={"t": {"command": "echo {folder} > " + str(tmp_path / "out")}})
    target = build_settings(raw, None, tmp_path).rescan_targets["t"]
    hostile = str(tmp_path / "$(touch pwned)")
    # When the command runs for that folder
    result = LocalExecutor().run(render(target.command, hostile, str(tmp_path)), 10)
    # Then the name is echoed as a name, and nothing was executed
    assert result.ok, result.stderr
    assert (tmp_path / "out").read_text().strip() == hostile
    assert not list(tmp_path.rglob("pwned")) and not os.path.exists("pwned")


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(30, 30.0), (1.5, 1.5), ("45", 45.0), ("90s", 90.0), ("15m", 900.0), ("2h", 7200.0),
     ("1d", 86400.0), (" 3 m ", 180.0)],
)
def test_durations(value: Any, seconds: float) -> None:
    # Given a number or a duration string / When it is parsed / Then it is seconds
    assert parse_duration(value, "x") == seconds


@pytest.mark.parametrize("value", ["15 minutes", "m", "-5", "1w", True])
def test_bad_duration_names_its_key(value: Any) -> None:
    # Given something that is not a duration / When parsed / Then the error names where it was
    with pytest.raises(ConfigError, match=r"sources\.x\.stability"):
        parse_duration(value, "sources.x.stability")


# --- where the configuration comes from ----------------------------------------------------


def test_cli_config_path_missing(tmp_path: Path) -> None:
    # Given --config naming a file that is not there
    missing = tmp_path / "nope.toml"
    # When loading / Then the error names the file
    with pytest.raises(ConfigError, match="does not exist") as caught:
        load_settings(str(missing), env={}, cwd=tmp_path)
    assert str(missing) in str(caught.value)


def test_env_config_path_missing(tmp_path: Path) -> None:
    env = {"MEDIACOURIER_CONFIG": str(tmp_path / "gone.toml")}
    with pytest.raises(ConfigError, match=r"MEDIACOURIER_CONFIG: .*gone\.toml"):
        load_settings(None, env=env, cwd=tmp_path)


def test_config_found_in_cwd(folders: Path) -> None:
    # Given a mediacourier.toml in the working folder and no --config
    _write_config(folders, FULL_EXAMPLE)
    # When loading / Then that file is used
    settings = load_settings(None, env={}, cwd=folders)
    assert settings.config_path == folders / "mediacourier.toml"
    assert set(settings.sources) == {"phone", "camera"}


def test_no_config_gives_default_inbox_and_library(tmp_path: Path) -> None:
    # Given an empty working folder and no configuration anywhere
    # When loading
    settings = load_settings(None, env={}, cwd=tmp_path)
    # Then ./mediacourier-data/inbox → ./mediacourier-data/library is set up, folders created
    data = tmp_path / "mediacourier-data"
    assert settings.config_path is None
    assert settings.data_dir == data
    assert (data / "inbox").is_dir() and (data / "library").is_dir()
    assert settings.sources["inbox"].path == data / "inbox"
    assert settings.sources["inbox"].library == "library"
    assert settings.sources["inbox"].mode == "move"
    assert settings.libraries["library"].path == data / "library"
    assert settings.schedules["inbox"].every_seconds == 3600.0
    assert settings.embedded_redis


def test_env_overrides_redis_url_and_data_dir_over_the_file(folders: Path, tmp_path: Path) -> None:
    # Given a config file with its own redis_url and data_dir
    path = _write_config(folders, FULL_EXAMPLE)
    env = {"MEDIACOURIER_REDIS_URL": "redis://override:6379/0",
           "MEDIACOURIER_DATA_DIR": str(tmp_path / "elsewhere")}
    # When loaded with the environment overrides
    settings = load_settings(str(path), env=env, cwd=folders)
    # Then the environment wins
    assert settings.redis_url == "redis://override:6379/0"
    assert settings.data_dir == tmp_path / "elsewhere"


def test_env_data_dir_moves_the_default_setup(tmp_path: Path) -> None:
    # Given no config file but MEDIACOURIER_DATA_DIR
    data = tmp_path / "custom-data"
    settings = load_settings(None, env={"MEDIACOURIER_DATA_DIR": str(data)}, cwd=tmp_path)
    # Then the default inbox and library live there, and nothing is made in cwd
    assert settings.data_dir == data
    assert settings.sources["inbox"].path == data / "inbox"
    assert (data / "inbox").is_dir() and (data / "library").is_dir()
    assert not (tmp_path / "mediacourier-data").exists()


def test_env_overrides_key_prefix_and_visibility_timeout(tmp_path: Path) -> None:
    env = {"MEDIACOURIER_KEY_PREFIX": "other", "MEDIACOURIER_VISIBILITY_TIMEOUT": "120"}
    settings = load_settings(None, env=env, cwd=tmp_path)
    assert (settings.key_prefix, settings.visibility_timeout) == ("other", 120)


def test_env_visibility_timeout_not_a_number_is_a_config_error(tmp_path: Path) -> None:
    # Given a non-numeric MEDIACOURIER_VISIBILITY_TIMEOUT
    env = {"MEDIACOURIER_VISIBILITY_TIMEOUT": "1h"}
    # When loading / Then a ConfigError names the variable (not a bare ValueError traceback)
    with pytest.raises(ConfigError, match="VISIBILITY_TIMEOUT"):
        load_settings(None, env=env, cwd=tmp_path)


# --- source_for_path -----------------------------------------------------------------------


@pytest.fixture
def two_sources(tmp_path: Path) -> Settings:
    for name in ("src", "src2", "lib"):
        (tmp_path / name).mkdir()
    raw = {
        "sources": {"a": {"path": str(tmp_path / "src"), "library": "lib"},
                    "b": {"path": str(tmp_path / "src2"), "library": "lib"}},
        "libraries": {"lib": {"path": str(tmp_path / "lib")}},
    }
    return build_settings(raw, None, tmp_path)


def test_source_for_path_finds_source_and_relative_path(two_sources: Settings,
                                                        tmp_path: Path) -> None:
    found = two_sources.source_for_path(tmp_path / "src" / "DCIM" / "IMG 1.jpg")
    assert found is not None
    assert (found[0].name, found[1]) == ("a", "DCIM/IMG 1.jpg")
    found = two_sources.source_for_path(tmp_path / "src2" / "x.jpg")
    assert found is not None and (found[0].name, found[1]) == ("b", "x.jpg")


@pytest.mark.parametrize(
    "path",
    [
        "/etc/passwd",
        "src/../lib/x.jpg",  # '..' escapes into the library
        "src/DCIM/../../../etc/passwd",
        "src",  # the source root itself is not a file in it
        "src/",
        "src/.",
        "lib/x.jpg",  # the library is no source
    ],
)
def test_source_for_path_refuses_paths_outside_sources(two_sources: Settings, tmp_path: Path,
                                                       path: str) -> None:
    # Given a path that is not strictly inside a source / When looked up / Then it is refused
    candidate = Path(path) if path.startswith("/") else Path(f"{tmp_path}/{path}")
    assert two_sources.source_for_path(candidate) is None


def test_source_for_path_dotdot_inside_stays_inside(two_sources: Settings,
                                                    tmp_path: Path) -> None:
    found = two_sources.source_for_path(Path(f"{tmp_path}/src/DCIM/../IMG.jpg"))
    assert found is not None and found[1] == "IMG.jpg"
