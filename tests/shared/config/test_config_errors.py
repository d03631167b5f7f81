"""Invalid configurations are refused with a ConfigError naming the file, table and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.config import build_settings, load_settings
from shared.errors import ConfigError
from tests.shared.config_helpers import FULL_EXAMPLE
from tests.shared.config_helpers import minimal_config as _minimal
from tests.shared.config_helpers import write_config as _write_config

# --- errors name what is wrong -------------------------------------------------------------


def test_unknown_top_level_key_is_named(tmp_path: Path) -> None:
    # Given a typo at the top level
    raw = _minimal(tmp_path, redis_ulr="redis://x")
    # When built / Then the error names the unknown key
    with pytest.raises(ConfigError, match=r"redis_ulr: unknown key; did you mean 'redis_url'\?"):
        build_settings(raw, None, tmp_path)


def test_unknown_key_inside_a_source_is_named_with_its_table(tmp_path: Path) -> None:
    # Given a typo inside [sources.inbox]
    raw = _minimal(tmp_path)
    raw["sources"]["inbox"]["moed"] = "copy"
    # When built / Then the error names both the table and the key
    with pytest.raises(ConfigError, match=r"\[sources\.inbox\] moed: unknown key; "
                                          r"did you mean 'mode'\?"):
        build_settings(raw, None, tmp_path)


def test_unknown_key_in_a_file_names_the_file(folders: Path) -> None:
    # Given a config file with an unknown key inside a library
    path = _write_config(folders, FULL_EXAMPLE.replace('layout = "date"', 'layuot = "date"'))
    # When loaded / Then the message names the file, the library and the key
    with pytest.raises(ConfigError) as caught:
        load_settings(str(path), env={}, cwd=folders)
    message = str(caught.value)
    assert str(path) in message
    assert "[libraries.photos] layuot: unknown key" in message


def test_missing_source_folder_is_named(tmp_path: Path) -> None:
    # Given a source whose folder does not exist
    raw = _minimal(tmp_path)
    raw["sources"]["inbox"]["path"] = str(tmp_path / "no-such-folder")
    # When built / Then the error names the folder
    with pytest.raises(ConfigError, match="no-such-folder") as caught:
        build_settings(raw, None, tmp_path)
    assert "does not exist" in str(caught.value)
    assert "[sources.inbox] path: folder" in str(caught.value)


def test_missing_library_folder_is_named(tmp_path: Path) -> None:
    raw = _minimal(tmp_path)
    raw["libraries"]["main"]["path"] = str(tmp_path / "gone-library")
    with pytest.raises(ConfigError, match="gone-library"):
        build_settings(raw, None, tmp_path)


def test_source_needs_path_and_library(tmp_path: Path) -> None:
    raw = _minimal(tmp_path)
    del raw["sources"]["inbox"]["library"]
    with pytest.raises(ConfigError, match=r"\[sources\.inbox\]: 'path' and 'library' are required"):
        build_settings(raw, None, tmp_path)


def test_unknown_library_reference(tmp_path: Path) -> None:
    # Given a source pointing at a library that is not defined
    raw = _minimal(tmp_path)
    raw["sources"]["inbox"]["library"] = "photoz"
    # When built / Then the error names the source and the missing library
    with pytest.raises(ConfigError, match=r'\[sources\.inbox\] library: no library named "photoz"'):
        build_settings(raw, None, tmp_path)


def test_unknown_rescan_target_reference(tmp_path: Path) -> None:
    raw = _minimal(tmp_path)
    raw["libraries"]["main"]["rescan"] = ["plex"]
    message = r'\[libraries\.main\] rescan: no rescan target named "plex"'
    with pytest.raises(ConfigError, match=message):
        build_settings(raw, None, tmp_path)


def test_schedule_for_unknown_source(tmp_path: Path) -> None:
    raw = _minimal(tmp_path, schedules={"phone": {"every": "1h"}})
    with pytest.raises(ConfigError, match=r'\[schedules\.phone\]: no source named "phone"'):
        build_settings(raw, None, tmp_path)


def test_archive_policy_needs_archive_path(tmp_path: Path) -> None:
    # Given duplicates = "archive" with nowhere to archive to
    raw = _minimal(tmp_path)
    raw["libraries"]["main"]["duplicates"] = "archive"
    # When built / Then the error says what is missing
    with pytest.raises(ConfigError, match=r'\[libraries\.main\]: duplicates = "archive" needs '
                                          r"'archive_path'"):
        build_settings(raw, None, tmp_path)


def test_unknown_duplicate_policy(tmp_path: Path) -> None:
    raw = _minimal(tmp_path)
    raw["libraries"]["main"]["duplicates"] = "trash"
    with pytest.raises(ConfigError, match=r'\[libraries\.main\] duplicates: "trash" is not one of'):
        build_settings(raw, None, tmp_path)


def test_unknown_mode(tmp_path: Path) -> None:
    raw = _minimal(tmp_path)
    raw["sources"]["inbox"]["mode"] = "mirror"
    with pytest.raises(ConfigError, match=r'\[sources\.inbox\] mode: "mirror" is not one of'):
        build_settings(raw, None, tmp_path)


def test_bad_layout_placeholder(tmp_path: Path) -> None:
    # Given a layout with a misspelt placeholder
    raw = _minimal(tmp_path)
    raw["libraries"]["main"]["layout"] = "{yaer}/{name}"
    # When built / Then the error names the placeholder and the key
    with pytest.raises(ConfigError, match=r"\[libraries\.main\] layout: "
                                          r"unknown placeholder \{yaer\}"):
        build_settings(raw, None, tmp_path)


def test_rescan_command_without_folder_placeholder(tmp_path: Path) -> None:
    # Given a rescan command that would scan the same thing whatever changed
    raw = _minimal(tmp_path, rescan={"immich": {"command": ["immich", "scan", "--all"]}})
    # When built / Then it is refused, naming the target and the missing placeholder
    with pytest.raises(ConfigError, match=r"\[rescan\.immich\] command: needs a '\{folder\}'"):
        build_settings(raw, None, tmp_path)


def test_rel_folder_placeholder_is_enough(tmp_path: Path) -> None:
    raw = _minimal(tmp_path, rescan={"t": {"command": ["scan", "--path={rel_folder}"]}})
    assert build_settings(raw, None, tmp_path).rescan_targets["t"].command[1] == (
        "--path={rel_folder}")


def test_schedule_needs_exactly_one_of_every_or_cron(tmp_path: Path) -> None:
    raw = _minimal(tmp_path, schedules={"inbox": {"every": "1h", "cron": "0 * * * *"}})
    with pytest.raises(ConfigError, match=r"\[schedules\.inbox\]: give exactly one"):
        build_settings(raw, None, tmp_path)
    raw = _minimal(tmp_path, schedules={"inbox": {}})
    with pytest.raises(ConfigError, match=r"\[schedules\.inbox\]: give exactly one"):
        build_settings(raw, None, tmp_path)


def test_invalid_cron_is_named(tmp_path: Path) -> None:
    raw = _minimal(tmp_path, schedules={"inbox": {"cron": "61 25 * * *"}})
    with pytest.raises(ConfigError, match=r'\[schedules\.inbox\] cron: "61 25 \* \* \*"'):
        build_settings(raw, None, tmp_path)


def test_wrong_type_is_named(tmp_path: Path) -> None:
    raw = _minimal(tmp_path, visibility_timeout="an hour")
    with pytest.raises(ConfigError, match=r'visibility_timeout: expected an integer, '
                                          r'got "an hour"'):
        build_settings(raw, None, tmp_path)


def test_a_source_that_is_not_a_table(tmp_path: Path) -> None:
    raw = _minimal(tmp_path)
    raw["sources"]["inbox"] = "/photos"
    with pytest.raises(ConfigError, match=r'\[sources\.inbox\]: expected a table, got "/photos"'):
        build_settings(raw, None, tmp_path)


def test_unparsable_toml_names_the_file(tmp_path: Path) -> None:
    path = _write_config(tmp_path, "[sources.inbox\npath = 1\n")
    with pytest.raises(ConfigError, match="cannot read configuration") as caught:
        load_settings(str(path), env={}, cwd=tmp_path)
    assert str(path) in str(caught.value)
