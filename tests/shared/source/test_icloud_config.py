"""`[sources.NAME] kind = "icloud"`: its keys, its defaults, and what loading refuses in one
line (no username, a delete from iCloud with no second copy of the library)."""

from __future__ import annotations

from pathlib import Path

import pytest

from beat.schedule import beat_schedule
from shared.config import build_settings
from shared.errors import ConfigError
from tests.shared.source.icloud_standin import icloud_raw


def test_defaults_and_the_fetch_schedule(tmp_path: Path) -> None:
    # Given an iCloud source with only its username
    raw = icloud_raw(tmp_path, tmp_path / "icloudpd")
    # When the configuration loads
    settings = build_settings(raw, None, tmp_path)
    options = settings.sources["phone"].icloud
    # Then the defaults hold and beat fetches it every 6 h at the bulk task
    assert options is not None
    assert (options.folder_structure, options.until_found, options.delete_after_download) == (
        "{:%Y/%m}", 50, False)
    entry = beat_schedule(settings)["fetch-phone"]
    assert entry["task"] == "mediacourier.fetch_icloud" and entry["args"] == ["phone"]
    assert entry["schedule"].total_seconds() == 6 * 3600


def test_fetch_every_is_a_duration(tmp_path: Path) -> None:
    # Given fetch_every = "30m", When it loads, Then beat runs it every 1800 s
    settings = build_settings(icloud_raw(tmp_path, tmp_path / "x", fetch_every="30m"), None,
                              tmp_path)
    assert beat_schedule(settings)["fetch-phone"]["schedule"].total_seconds() == 1800


@pytest.mark.parametrize(("keys", "words"), [
    ({"icloud_username": ""}, "[sources.phone] icloud_username: required"),
    ({"delete_after_download": True}, "[sources.phone] delete_after_download: refused"),
    ({"until_found": 0}, "[sources.phone] until_found"),
    ({"fetch_every": "often"}, "[sources.phone] fetch_every"),
    ({"folder_structure": "by-year"}, "[sources.phone] folder_structure"),
    ({"fetch_timeout": "1h"}, "must be below task_time_limit"),
])
def test_bad_keys_are_one_line_naming_the_key(tmp_path: Path, keys: dict[str, object],
                                              words: str) -> None:
    # Given an iCloud source with one bad key
    raw = icloud_raw(tmp_path, tmp_path / "icloudpd", **keys)
    # When it loads, Then one line names the source and the key
    with pytest.raises(ConfigError) as caught:
        build_settings(raw, None, tmp_path)
    assert words in str(caught.value)
    assert "\n" not in str(caught.value)


def test_delete_after_download_is_allowed_once_the_library_has_a_mirror(tmp_path: Path) -> None:
    # Given delete_after_download and a mirror keeping a second copy of the library
    raw = icloud_raw(tmp_path, tmp_path / "icloudpd", delete_after_download=True)
    (tmp_path / "nas").mkdir()
    raw["targets"] = {"nas": {"kind": "local", "root": str(tmp_path / "nas")}}
    raw["mirrors"] = {"offsite": {"library": "photos", "target": "nas"}}
    # When it loads, Then the source deletes after download
    options = build_settings(raw, None, tmp_path).sources["phone"].icloud
    assert options is not None and options.delete_after_download


def test_icloud_keys_are_unknown_on_a_folder_source(tmp_path: Path) -> None:
    # Given icloud_username on a source of the folder kind
    raw = icloud_raw(tmp_path, tmp_path / "icloudpd")
    raw["sources"]["phone"]["kind"] = "folder"
    # When it loads, Then the key is refused as unknown there
    with pytest.raises(ConfigError, match="icloud_username: unknown key"):
        build_settings(raw, None, tmp_path)


def test_delete_after_download_is_allowed_with_a_flow_that_releases(tmp_path: Path) -> None:
    # Given delete_after_download and a flow of the source: archive, then release
    raw = icloud_raw(tmp_path, tmp_path / "icloudpd", delete_after_download=True)
    raw["flows"] = {"relay": {"source": "phone", "steps": [
        {"kind": "archive", "to": str(tmp_path / "nas")},
        {"kind": "release", "to": str(tmp_path / "ready-to-delete")}]}}
    # When it loads, Then the source deletes after download
    options = build_settings(raw, None, tmp_path).sources["phone"].icloud
    assert options is not None and options.delete_after_download
