"""`[sources.NAME] kind = "icloud"`: its keys, its defaults, and what loading refuses in one
line (no username, a delete from iCloud with no second copy of the library, the removed
delete_after_download, mode = "move")."""

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
    # Then the defaults hold (never deleting from iCloud, copying), and beat fetches it every
    # 6 h at the bulk task
    assert options is not None
    assert (options.folder_structure, options.until_found,
            options.delete_from_icloud_after_days) == ("{:%Y/%m}", 50, None)
    assert settings.sources["phone"].mode == "copy"
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
    ({"delete_from_icloud_after_days": 30},
     "[sources.phone] delete_from_icloud_after_days: refused"),
    ({"delete_from_icloud_after_days": -1},
     "[sources.phone] delete_from_icloud_after_days: -1 is out of range: must be at least 0"),
    ({"delete_from_icloud_after_days": "30d"},
     '[sources.phone] delete_from_icloud_after_days: expected an integer, got "30d"'),
    ({"delete_after_download": True},
     "[sources.phone] delete_after_download: no longer a key: icloudpd would delete each photo "
     "before its copy is verified; use delete_from_icloud_after_days = N instead"),
    ({"delete_after_download": False}, "use delete_from_icloud_after_days = N instead"),
    ({"mode": "move"}, '[sources.phone] mode: "move" is refused for kind = "icloud": icloudpd '
                       "downloads again every file moved out of its folder"),
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


def test_deleting_from_icloud_is_allowed_once_the_library_has_a_mirror(tmp_path: Path) -> None:
    # Given delete_from_icloud_after_days and a mirror keeping a second copy of the library
    raw = icloud_raw(tmp_path, tmp_path / "icloudpd", delete_from_icloud_after_days=30)
    (tmp_path / "nas").mkdir()
    raw["targets"] = {"nas": {"kind": "local", "root": str(tmp_path / "nas")}}
    raw["mirrors"] = {"offsite": {"library": "photos", "target": "nas"}}
    # When it loads, Then the source may delete what is 30 days old
    options = build_settings(raw, None, tmp_path).sources["phone"].icloud
    assert options is not None and options.delete_from_icloud_after_days == 30


def test_icloud_keys_are_unknown_on_a_folder_source(tmp_path: Path) -> None:
    # Given icloud_username on a source of the folder kind
    raw = icloud_raw(tmp_path, tmp_path / "icloudpd")
    raw["sources"]["phone"]["kind"] = "folder"
    # When it loads, Then the key is refused as unknown there
    with pytest.raises(ConfigError, match="icloud_username: unknown key"):
        build_settings(raw, None, tmp_path)


def test_deleting_from_icloud_is_allowed_with_a_flow_that_releases(tmp_path: Path) -> None:
    # Given delete_from_icloud_after_days = 0 and a flow of the source: archive, then release
    raw = icloud_raw(tmp_path, tmp_path / "icloudpd", delete_from_icloud_after_days=0)
    raw["flows"] = {"relay": {"source": "phone", "steps": [
        {"kind": "archive", "to": str(tmp_path / "nas")},
        {"kind": "release", "to": str(tmp_path / "ready-to-delete")}]}}
    # When it loads, Then the source may delete whatever is verified (0 days)
    options = build_settings(raw, None, tmp_path).sources["phone"].icloud
    assert options is not None and options.delete_from_icloud_after_days == 0


def test_a_folder_source_still_moves_by_default(tmp_path: Path) -> None:
    # Given a folder source next to the iCloud one, with no mode
    raw = icloud_raw(tmp_path, tmp_path / "icloudpd")
    (tmp_path / "inbox").mkdir()
    raw["sources"]["inbox"] = {"path": str(tmp_path / "inbox"), "library": "photos"}
    # When it loads, Then only the iCloud source copies
    sources = build_settings(raw, None, tmp_path).sources
    assert (sources["inbox"].mode, sources["phone"].mode) == ("move", "copy")
