"""A library's date keys: `timezone`, `day_starts_at`, `unknown_folder`, `undated`, and the
layout presets, as the loader reads and refuses them."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.config import build_settings
from shared.errors import ConfigError
from shared.media import LayoutOptions
from tests.shared.config_helpers import minimal_config


def test_defaults_keep_the_day_of_the_machine_and_send_undated_files_to_unknown(
        tmp_path: Path) -> None:
    settings = build_settings(minimal_config(tmp_path), None, tmp_path)
    assert settings.libraries["main"].dates == LayoutOptions(
        timezone="local", day_starts_at="00:00", unknown_folder="unknown/", undated="unknown")


def test_the_keys_are_read(tmp_path: Path) -> None:
    # Given a library with every date key and an app's preset
    raw = minimal_config(tmp_path)
    raw["libraries"]["main"].update(layout="immich", timezone="Europe/Berlin",
                                    day_starts_at="04:00", unknown_folder="Undated",
                                    undated="mtime")
    # When loaded / Then each is kept as written
    library = build_settings(raw, None, tmp_path).libraries["main"]
    assert library.layout == "immich"
    assert library.dates == LayoutOptions("Europe/Berlin", "04:00", "Undated", "mtime")


@pytest.mark.parametrize(("key", "value", "message"), [
    ("timezone", "Mars/Olympus", r'\[libraries\.main\] timezone: unknown time zone'),
    ("day_starts_at", "25:00", r"\[libraries\.main\] day_starts_at: '25:00' is not a time"),
    ("unknown_folder", "../outside", r"\[libraries\.main\] unknown_folder: .* inside the library"),
    ("undated", "today", r'\[libraries\.main\] undated: "today" is not one of'),
    ("layout", "{camera}/{name}", r"\[libraries\.main\] layout: unknown placeholder \{camera\}"),
])
def test_a_bad_value_names_the_library_and_key(tmp_path: Path, key: str, value: str,
                                                message: str) -> None:
    raw = minimal_config(tmp_path)
    raw["libraries"]["main"][key] = value
    with pytest.raises(ConfigError, match=message) as raised:
        build_settings(raw, None, tmp_path)
    assert "\n" not in str(raised.value)
