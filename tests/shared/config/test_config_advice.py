"""Settings that are valid but can never take effect are warned about, not refused."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from shared.config import build_settings, load_settings
from tests.shared.config_helpers import minimal_config, write_config


def test_archive_on_a_copy_mode_only_library_is_a_warning(tmp_path: Path) -> None:
    # Given a library whose only source copies, with duplicates = "archive"
    raw = minimal_config(tmp_path)
    raw["sources"]["inbox"]["mode"] = "copy"
    raw["libraries"]["main"].update(duplicates="archive", archive_path=str(tmp_path / "dups"))
    # When built / Then it loads, with one warning naming the file, the key and why
    settings = build_settings(raw, tmp_path / "mediacourier.toml", tmp_path)
    assert settings.libraries["main"].duplicates == "archive"
    assert settings.warnings == (
        f'{tmp_path / "mediacourier.toml"}: [libraries.main] duplicates: "archive" never '
        'applies: every source of this library has mode = "copy", which leaves duplicates in '
        "the source untouched",)


def test_delete_with_one_move_source_is_no_warning(tmp_path: Path) -> None:
    # Given a library fed by a copy source and a move source, duplicates = "delete"
    raw = minimal_config(tmp_path)
    (tmp_path / "card").mkdir()
    raw["sources"]["inbox"]["mode"] = "copy"
    raw["sources"]["card"] = {"path": str(tmp_path / "card"), "library": "main"}
    raw["libraries"]["main"]["duplicates"] = "delete"
    # When built / Then nothing is warned: the move source's duplicates are deleted
    assert build_settings(raw, None, tmp_path).warnings == ()


def test_settings_that_are_never_used_are_warnings(tmp_path: Path) -> None:
    # Given an archive folder with duplicates = "skip", a rescan target no library lists and
    # a Syncthing table no library names
    raw = minimal_config(tmp_path)
    raw["libraries"]["main"]["archive_path"] = str(tmp_path / "dups")
    raw["rescan"] = {"orphan": {"command": ["scan", "{folder}"]}}
    raw["syncthing"] = {"phone": {"folder_id": "p", "folder_path": str(tmp_path),
                                  "devices": ["A" * 7 + ("-" + "A" * 7) * 7],
                                  "api_key_env": "ST_KEY"}}
    # When built / Then each is one warning
    warnings = build_settings(raw, None, tmp_path).warnings
    assert warnings == (
        'default configuration: [libraries.main] archive_path: never used: duplicates is '
        '"skip", not "archive"',
        "default configuration: [rescan.orphan]: never runs: no library lists it in 'rescan'",
        'default configuration: [syncthing.phone]: never checked: no library says '
        'syncthing = "phone"')


def test_loading_prints_the_warnings(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # Given a file whose rescan target no library lists
    (tmp_path / "src").mkdir()
    (tmp_path / "lib").mkdir()
    path = write_config(tmp_path, '[sources.phone]\npath = "src"\nlibrary = "lib"\n'
                                  '[libraries.lib]\npath = "lib"\n'
                                  '[rescan.app]\ncommand = ["scan", "{folder}"]\n')
    # When loaded / Then it is warned about once, at WARNING, and the settings load
    with caplog.at_level(logging.WARNING, logger="mediacourier.config"):
        settings = load_settings(str(path), env={}, cwd=tmp_path)
    assert "app" in settings.rescan_targets
    assert [r.getMessage() for r in caplog.records] == [
        f"{path}: [rescan.app]: never runs: no library lists it in 'rescan'"]
