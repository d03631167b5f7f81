"""Nextcloud sources: users found in a data directory, the filters, the config errors, and a
reconcile that walks only the users' folders."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import fakeredis
import pytest

from shared.config import SourceConfig, build_settings
from shared.errors import ConfigError
from shared.source import discover_users, plan_source, user_folders, user_of, walk_starts
from shared.state import RedisStateStore
from tests.shared.source.nextcloud_helpers import make_data_dir


def raw_config(data: Path, **source: Any) -> dict[str, Any]:
    (data.parent / "lib").mkdir(exist_ok=True)
    return {"sources": {"nc": {"path": str(data), "library": "main", "kind": "nextcloud",
                               **source}},
            "libraries": {"main": {"path": str(data.parent / "lib")}}}


def nc_source(data: Path, **source: Any) -> SourceConfig:
    return build_settings(raw_config(data, **source), None, data.parent).sources["nc"]


def test_users_are_the_folders_with_a_user_folder_and_nextcloud_s_own_are_never_users(
        tmp_path: Path) -> None:
    # Given a data directory with two users who have InstantUpload, one who has not, and
    # Nextcloud's own folders (appdata_*, __groupfolders, files_external, updater-*, dot-folders)
    data = make_data_dir(tmp_path, {"alice": ["files/InstantUpload"],
                                    "bob": ["files/InstantUpload"], "carol": ["files/Photos"]})
    # When its users are discovered
    found = discover_users(nc_source(data))
    # Then alice and bob are users, carol is left out with the reason, the rest is not a user
    assert found.users == ("alice", "bob")
    assert found.excluded == {"carol": "no files/InstantUpload"}
    assert user_folders(nc_source(data)) == {"alice/files/InstantUpload": "alice",
                                             "bob/files/InstantUpload": "bob"}


def test_several_user_folders_and_the_include_exclude_globs(tmp_path: Path) -> None:
    # Given users with InstantUpload and/or Photos, and filters on the user id
    data = make_data_dir(tmp_path, {"alice": ["files/InstantUpload", "files/Photos"],
                                    "bob": ["files/Photos"], "admin": ["files/Photos"],
                                    "test-1": ["files/Photos"], "zed": ["files/Photos"]})
    source = nc_source(data, user_folder=["files/InstantUpload", "files/Photos"],
                       users_include=["a*", "b*", "t*"], users_exclude=["admin", "test-*"])
    # When discovered
    found = discover_users(source)
    # Then only the users both filters keep are watched, each folder of theirs that exists
    assert found.users == ("alice", "bob")
    assert found.excluded == {"admin": "users_exclude 'admin'",
                              "test-1": "users_exclude 'test-*'", "zed": "not in users_include"}
    assert walk_starts(source) == ["alice/files/InstantUpload", "alice/files/Photos",
                                   "bob/files/Photos"]


def test_a_user_folder_reached_through_a_symlink_is_not_watched(tmp_path: Path) -> None:
    # Given alice's InstantUpload is a link to a folder outside the data directory
    data = make_data_dir(tmp_path, {"alice": ["files"], "bob": ["files/InstantUpload"]})
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", data / "alice/files/InstantUpload")
    # When discovered / Then only bob is watched: alice's files would lie outside the root
    assert discover_users(nc_source(data)).users == ("bob",)


def test_the_user_of_a_path_is_its_first_folder() -> None:
    assert user_of("alice/files/InstantUpload/IMG_1.jpg") == "alice"
    assert user_of("nextcloud.log") == ""


def test_an_ordinary_source_walks_its_whole_root(tmp_path: Path) -> None:
    source = SourceConfig(name="cam", path=tmp_path, library="main")
    assert walk_starts(source) == [""] and user_folders(source) == {}


def test_reconcile_walks_only_the_users_folders(tmp_path: Path) -> None:
    # Given two users' uploads, a photo outside the user folder, and appdata previews
    data = make_data_dir(tmp_path, {"alice": ["files/InstantUpload"],
                                    "bob": ["files/InstantUpload/Camera"]})
    (data / "alice/files/InstantUpload/IMG_1.jpg").write_bytes(b"a")
    (data / "bob/files/InstantUpload/Camera/IMG_2.jpg").write_bytes(b"b")
    (data / "alice/files/Documents").mkdir()
    (data / "alice/files/Documents/scan.jpg").write_bytes(b"not an upload")
    (data / "top.jpg").write_bytes(b"at the top")
    store = RedisStateStore(fakeredis.FakeRedis(decode_responses=True), "mc-nc")
    # When the source is reconciled
    plan = plan_source(store, nc_source(data), stale_after=600, now=time.time() + 10)
    # Then exactly the two uploads are planned, with their user as the first folder
    assert sorted(e.rel_path for e in plan.to_ingest) == [
        "alice/files/InstantUpload/IMG_1.jpg", "bob/files/InstantUpload/Camera/IMG_2.jpg"]


@pytest.mark.parametrize(("options", "message"), [
    ({"user_folder": 3},
     r"\[sources\.nc\] user_folder: expected a string or a list, got 3$"),
    ({"user_folder": ["files/Photos", 7]},
     r"\[sources\.nc\] user_folder: expected a folder or a list of folders"),
    ({"user_folder": "../etc"}, r"\[sources\.nc\] user_folder: '\.\./etc' must be a folder "
                                r"inside each user's folder"),
    ({"user_folder": []}, r"\[sources\.nc\] user_folder: expected a folder"),
    ({"users_exclude": "admin"}, r"\[sources\.nc\] users_exclude: expected a list"),
    ({"users_exclude": ["*"]}, r"\[sources\.nc\] path: every Nextcloud user in .* is left out "
                               r"by users_include / users_exclude \(alice\)$"),
])
def test_bad_nextcloud_keys_are_one_line_naming_the_key(
        tmp_path: Path, options: dict[str, Any], message: str) -> None:
    # Given a nextcloud source with a bad key / When built / Then one line names the key
    data = make_data_dir(tmp_path, {"alice": ["files/InstantUpload"]})
    with pytest.raises(ConfigError, match=message) as caught:
        build_settings(raw_config(data, **options), None, tmp_path)
    assert "\n" not in str(caught.value)


def test_a_data_directory_without_any_user_is_refused_naming_path(tmp_path: Path) -> None:
    # Given a folder that holds Nextcloud's own folders but no user with InstantUpload
    data = make_data_dir(tmp_path, {"carol": ["files/Photos"]})
    # When built / Then the error names the source's path and what it looked for
    with pytest.raises(ConfigError, match=r"\[sources\.nc\] path: no Nextcloud user found in "
                       r".*\(no folder <user>/files/InstantUpload\); is it the Nextcloud data "
                       r"directory\?$"):
        build_settings(raw_config(data), None, tmp_path)


def test_nextcloud_keys_in_an_ordinary_source_are_unknown_keys(tmp_path: Path) -> None:
    data = make_data_dir(tmp_path, {"alice": ["files/InstantUpload"]})
    raw = raw_config(data, users_exclude=["admin"])
    del raw["sources"]["nc"]["kind"]
    with pytest.raises(ConfigError, match=r"\[sources\.nc\] users_exclude: unknown key"):
        build_settings(raw, None, tmp_path)
