"""Numbers in range, durations that mean something, and messages in TOML's own words.

Every message names the file and the key separately (`FILE: [sources.inbox] stability:`), shows
values as TOML writes them (`true`, `"abc"`) and suggests the known key closest to a typo.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from shared.config import build_settings, load_settings
from shared.errors import ConfigError
from tests.shared.config_helpers import minimal_config, write_config


def refused(tmp_path: Path, raw: dict[str, Any]) -> str:
    """The one-line message a configuration is refused with, built as `mediacourier.toml`."""
    with pytest.raises(ConfigError) as caught:
        build_settings(raw, tmp_path / "mediacourier.toml", tmp_path)
    message = str(caught.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("max_retries", -1, "max_retries: -1 is out of range: must be at least 0"),
    ("flower_port", 99999, "flower_port: 99999 is out of range: must be between 1 and 65535"),
    ("flower_port", 0, "flower_port: 0 is out of range: must be between 1 and 65535"),
    ("verify_attempts", 0, "verify_attempts: 0 is out of range: must be at least 1"),
    ("batch_files", 0, "batch_files: 0 is out of range: must be at least 1"),
    ("batch_bytes", -5, "batch_bytes: -5 is out of range: must be at least 1"),
    ("retry_backoff_max", 0, "retry_backoff_max: 0 is out of range: must be at least 1"),
    ("restore_interval", 0, "restore_interval: 0 is out of range: must be at least 1"),
    ("visibility_timeout", 0, "visibility_timeout: 0 is out of range: must be at least 1"),
    ("task_time_limit", 0, "task_time_limit: 0 is out of range: must be at least 1"),
    ("lease_seconds", 0, "lease_seconds: 0 is out of range: must be at least 1"),
    ("max_retries", True, "max_retries: expected an integer, got true"),
    ("metrics_listen", "127.0.0.1:0",
     "metrics_listen: port 0 is out of range: must be between 1 and 65535"),
])
def test_top_level_numbers_out_of_range_are_refused(
    tmp_path: Path, key: str, value: Any, expected: str
) -> None:
    # Given a top-level number that can never work
    raw = minimal_config(tmp_path, **{key: value})
    # When built / Then one line names the file, then the key, and the range it must be in
    assert refused(tmp_path, raw) == f"{tmp_path / 'mediacourier.toml'}: {expected}"


@pytest.mark.parametrize(("table", "change", "expected"), [
    ("schedules.inbox", {"every": "0s"},
     '[schedules.inbox] every: "0s" must be longer than 0'),
    ("schedules.inbox", {"every": 0}, "[schedules.inbox] every: 0 must be longer than 0"),
    ("rescan.app", {"command": ["scan", "{folder}"], "timeout": "0s"},
     '[rescan.app] timeout: "0s" must be longer than 0'),
    ("rescan.app", {"command": ["scan", "{folder}"], "max_folders": 0},
     "[rescan.app] max_folders: 0 is out of range: must be at least 1"),
    ("rescan.nc", {"kind": "nextcloud", "nextcloud_user": "alice", "max_folders": -2},
     "[rescan.nc] max_folders: -2 is out of range: must be at least 1"),
    ("sources.inbox", {"stability": "abc"},
     '[sources.inbox] stability: "abc" is not a duration (use e.g. "30s", "5m"'),
    ("sources.inbox", {"stability": True}, "[sources.inbox] stability: true is not a duration"),
    ("sources.inbox", {"stability": -3}, "[sources.inbox] stability: -3 is not a duration"),
    ("targets.nas", {"kind": "local", "root": "lib", "timeout": 0},
     "[targets.nas] timeout: 0 must be above 0"),
    ("targets.nas", {"kind": "local", "root": "lib", "parallel": True},
     "[targets.nas] parallel: expected an integer, got true"),
    ("targets.nas", {"kind": "local", "root": "lib", "timeout": "soon"},
     '[targets.nas] timeout: expected a number, got "soon"'),
    ("mirrors.m", {"library": "main", "target": "disk", "every": "0m"},
     '[mirrors.m] every: "0m" must be longer than 0'),
    ("mirrors.m", {"library": "main", "target": "disk", "max_delete": -1},
     "[mirrors.m] max_delete: -1 is out of range: must be at least 0"),
    ("mirrors.m", {"library": "main", "target": "disk", "max_delete_share": 1.5},
     "[mirrors.m] max_delete_share: 1.5 is out of range: must be between 0 and 1"),
])
def test_numbers_and_durations_in_tables_are_range_checked(
    tmp_path: Path, table: str, change: dict[str, Any], expected: str
) -> None:
    # Given a table with a count, duration or share that can never work
    raw = minimal_config(tmp_path)
    raw["targets"] = {"disk": {"kind": "local", "root": str(tmp_path / "disk")}}
    kind, name = table.split(".")
    section = raw.setdefault(kind, {}).setdefault(name, {})
    section.update(change)
    # When built / Then the message names the file, the table in brackets, the key and why
    message = refused(tmp_path, raw)
    assert message.startswith(f"{tmp_path / 'mediacourier.toml'}: {expected}"), message


def test_zero_where_zero_means_something_is_accepted(tmp_path: Path) -> None:
    # Given zeros that mean "none": no retries, no stability wait, no debounce, and a mirror
    # guard that refuses every deletion
    raw = minimal_config(tmp_path, max_retries=0)
    raw["sources"]["inbox"]["stability"] = 0
    raw["rescan"] = {"app": {"command": ["scan", "{folder}"], "debounce": 0}}
    raw["libraries"]["main"]["rescan"] = ["app"]
    raw["targets"] = {"disk": {"kind": "local", "root": str(tmp_path / "disk")}}
    raw["mirrors"] = {"m": {"library": "main", "target": "disk", "max_delete": 0,
                            "max_delete_share": 0}}
    # When built / Then they are kept as written, with no error and no warning
    settings = build_settings(raw, None, tmp_path)
    assert settings.warnings == ()
    assert settings.max_retries == 0 and settings.sources["inbox"].stability_seconds == 0
    assert settings.rescan_targets["app"].debounce_seconds == 0
    assert settings.mirrors["m"].max_delete_share == 0


@pytest.mark.parametrize(("table", "typo", "suggestion"), [
    ("sources.inbox", "stabilty", "stability"),
    ("libraries.main", "duplicate", "duplicates"),
    ("", "visibilty_timeout", "visibility_timeout"),
    ("", "max_retry", "max_retries"),
])
def test_an_unknown_key_gets_the_closest_known_key(
    tmp_path: Path, table: str, typo: str, suggestion: str
) -> None:
    # Given a misspelt key in a table or at the top level
    raw = minimal_config(tmp_path)
    if table:
        kind, name = table.split(".")
        raw[kind][name][typo] = "x"
        where = f"[{table}] {typo}"
    else:
        raw[typo] = 1
        where = typo
    # When built / Then the message names it and suggests the key of that table closest to it
    assert refused(tmp_path, raw) == (f"{tmp_path / 'mediacourier.toml'}: {where}: unknown key; "
                                      f"did you mean {suggestion!r}?")


def test_an_unknown_key_like_no_known_one_gets_no_suggestion(tmp_path: Path) -> None:
    raw = minimal_config(tmp_path)
    raw["sources"]["inbox"]["colour"] = "red"
    assert refused(tmp_path, raw).endswith("[sources.inbox] colour: unknown key")


def test_a_file_where_a_folder_belongs_is_named_as_a_file(tmp_path: Path) -> None:
    # Given a source path that is a file, not a folder
    raw = minimal_config(tmp_path)
    (tmp_path / "card.jpg").write_bytes(b"\xff\xd8")
    raw["sources"]["inbox"]["path"] = str(tmp_path / "card.jpg")
    # When built / Then the message says it is a file, not that it does not exist
    message = refused(tmp_path, raw)
    assert message.endswith(f"[sources.inbox] path: '{tmp_path / 'card.jpg'}' is a file, "
                            "not a folder"), message


def test_a_folder_where_a_key_file_belongs_is_named_as_a_folder(tmp_path: Path) -> None:
    # Given an SSH target whose key_file is a folder
    raw = minimal_config(tmp_path)
    (tmp_path / "keys").mkdir()
    (tmp_path / "known_hosts").write_text("")
    raw["targets"] = {"nas": {"kind": "sftp", "host": "nas.lan", "user": "u", "root": "/p",
                              "key_file": "keys", "known_hosts": "known_hosts"}}
    # When built / Then the message says it is a folder, not a file
    message = refused(tmp_path, raw)
    assert message.endswith(f"[targets.nas] key_file: '{tmp_path / 'keys'}' is a folder, "
                            "not a file"), message


def test_a_file_in_toml_shows_the_duration_as_written(tmp_path: Path) -> None:
    # Given a TOML file with a boolean where a duration belongs
    (tmp_path / "src").mkdir()
    (tmp_path / "lib").mkdir()
    path = write_config(tmp_path, '[sources.phone]\npath = "src"\nlibrary = "lib"\n'
                                  'stability = true\n[libraries.lib]\npath = "lib"\n')
    # When loaded / Then the message spells the value as TOML does, after file and key
    with pytest.raises(ConfigError, match=re.escape(
            f"{path}: [sources.phone] stability: true is not a duration")):
        load_settings(str(path), env={}, cwd=tmp_path)


def test_a_zero_visibility_timeout_from_the_environment_is_refused(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "lib").mkdir()
    path = write_config(tmp_path, '[sources.phone]\npath = "src"\nlibrary = "lib"\n'
                                  '[libraries.lib]\npath = "lib"\n')
    with pytest.raises(ConfigError, match="MEDIACOURIER_VISIBILITY_TIMEOUT: '0' is not"):
        load_settings(str(path), env={"MEDIACOURIER_VISIBILITY_TIMEOUT": "0"}, cwd=tmp_path)
