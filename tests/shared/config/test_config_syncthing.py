"""`[syncthing.X]` tables and `libraries.X.syncthing`: parsed strictly, errors in one line."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from shared.config import build_settings
from shared.errors import ConfigError

DEVICE = "MFZWI3D-BONSGYC-YLTMRWG-C43ENR5-QXGZDMM-FZWI3DP-BONSGYY-LTMRWAD"


def raw_config(tmp_path: Path, **syncthing: Any) -> dict[str, Any]:
    folder = tmp_path / "synced"
    (folder / "library").mkdir(parents=True, exist_ok=True)
    (tmp_path / "inbox").mkdir(exist_ok=True)
    (tmp_path / "st.key").write_text("the-secret-key\n")
    table = {"url": "http://127.0.0.1:8384", "api_key_file": "st.key", "folder_id": "photos",
             "folder_path": "synced", "devices": [DEVICE], **syncthing}
    return {"data_dir": "data",
            "sources": {"inbox": {"path": "inbox", "library": "photos"}},
            "libraries": {"photos": {"path": "synced/library", "syncthing": "phone"}},
            "syncthing": {"phone": {k: v for k, v in table.items() if v is not None}}}


def test_a_full_table_is_parsed_and_the_key_is_read_from_its_file(tmp_path: Path) -> None:
    settings = build_settings(raw_config(tmp_path, timeout="2m"), tmp_path / "mc.toml", tmp_path)
    config = settings.syncthing["phone"]
    assert settings.libraries["photos"].syncthing == "phone"
    assert (config.folder_path, config.devices, config.timeout_seconds) == (
        tmp_path / "synced", (DEVICE,), 120.0)
    assert config.api_key() == "the-secret-key"
    assert "the-secret-key" not in repr(settings)


def test_the_key_can_come_from_the_environment(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MC_TEST_ST_KEY", "from-env")
    raw = raw_config(tmp_path, api_key_file=None, api_key_env="MC_TEST_ST_KEY")
    settings = build_settings(raw, tmp_path / "mc.toml", tmp_path)
    assert settings.syncthing["phone"].api_key() == "from-env"


@pytest.mark.parametrize(("change", "message"), [
    ({"devices": []}, "[syncthing.phone] devices: list at least one device ID"),
    ({"devices": ["phone"]}, "'phone' is not a Syncthing device ID"),
    ({"folder_id": None}, "'folder_id' and 'folder_path' are required"),
    ({"api_key_env": "X"}, "give exactly one of 'api_key_file' or 'api_key_env'"),
    ({"url": "localhost:8384"}, "is not an http(s) URL"),
    ({"folder_path": "elsewhere"}, "is not inside [syncthing.phone] folder_path"),
    ({"colour": "red"}, "[syncthing.phone] colour: unknown key"),
])
def test_bad_tables_are_one_line_errors(tmp_path: Path, change: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as err:
        build_settings(raw_config(tmp_path, **change), tmp_path / "mc.toml", tmp_path)
    assert "\n" not in str(err.value) and "the-secret-key" not in str(err.value)


def test_a_library_naming_a_missing_table_is_refused(tmp_path: Path) -> None:
    raw = raw_config(tmp_path)
    raw["libraries"]["photos"]["syncthing"] = "tablet"
    with pytest.raises(ConfigError, match=r"\[libraries.photos\] syncthing: "
                                          r"no \[syncthing.tablet\]"):
        build_settings(raw, tmp_path / "mc.toml", tmp_path)


def test_a_missing_key_file_is_reported_when_the_key_is_needed(tmp_path: Path) -> None:
    # Read at use (doctor reports it), so commands that need no key still start
    raw = raw_config(tmp_path, api_key_file="missing.key")
    config = build_settings(raw, tmp_path / "mc.toml", tmp_path).syncthing["phone"]
    with pytest.raises(ConfigError, match=r"syncthing.phone.api_key: cannot read secret file "
                       r".*missing.key"):
        config.api_key()
