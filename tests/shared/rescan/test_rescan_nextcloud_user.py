"""`nextcloud_user = "{user}"`: the Nextcloud rescan of a library fed by a nextcloud source
scans the path of the user each folder belongs to (the library laid out `{user}/...`)."""

from __future__ import annotations

from pathlib import Path

from shared.config import AppConfig, RescanTarget, build_settings
from shared.rescan.apps import nextcloud_commands, scan_folder
from tests.doubles import RecordingExecutor


def per_user(prefix: str = "", memories: bool = True) -> RescanTarget:
    return RescanTarget(name="nc", command=(), kind="nextcloud",
                        app=AppConfig(nextcloud_user="{user}", files_prefix=prefix,
                                      memories=memories))


def test_each_folder_is_scanned_in_its_own_user_s_files() -> None:
    # Given a per-user target whose library root maps to each user's files/Photos
    target = per_user("Photos")
    # When the commands for two users' folders are built
    alice = nextcloud_commands(target, "alice/2024/07 Summer trip")
    bob = nextcloud_commands(target, "bob/2023")
    # Then each scans its user's path, as one argument, and Memories indexes as that user
    assert alice == [("php", "occ", "files:scan", "-n",
                      "--path=/alice/files/Photos/2024/07 Summer trip"),
                     ("php", "occ", "memories:index", "-n", "-u", "alice", "--folder",
                      "/Photos/2024/07 Summer trip")]
    assert bob[0][-1] == "--path=/bob/files/Photos/2023"


def test_a_library_that_is_the_data_directory_keeps_the_files_folder_once() -> None:
    # Given a library laid out {user}/files/Photos/... (the Nextcloud data directory itself)
    target = per_user(memories=False)
    # When a folder is scanned / Then the path is the user's, without a second files/
    assert nextcloud_commands(target, "carol/files/Photos/2024") == [
        ("php", "occ", "files:scan", "-n", "--path=/carol/files/Photos/2024")]


def test_the_library_root_of_many_users_scans_them_all() -> None:
    # Given folders of several users collapsed into the library root ("" relative to it)
    # When the commands are built / Then every user is scanned, not a made-up user ""
    assert nextcloud_commands(per_user(), "") == [("php", "occ", "files:scan", "-n", "--all"),
                                                  ("php", "occ", "memories:index", "-n")]


def test_a_fixed_user_is_unchanged() -> None:
    target = RescanTarget(name="nc", command=(), kind="nextcloud",
                          app=AppConfig(nextcloud_user="admin", files_prefix="Photos"))
    assert nextcloud_commands(target, "alice/2024")[0][-1] == \
        "--path=/admin/files/Photos/alice/2024"


def test_scan_folder_runs_the_user_s_path_from_the_configuration(tmp_path: Path) -> None:
    # Given a configured [rescan.nc] with nextcloud_user = "{user}" and a library folder
    (tmp_path / "src").mkdir()
    (tmp_path / "lib").mkdir()
    raw = {"sources": {"in": {"path": str(tmp_path / "src"), "library": "main"}},
           "libraries": {"main": {"path": str(tmp_path / "lib"), "layout": "{user}/{name}",
                                  "rescan": ["nc"]}},
           "rescan": {"nc": {"kind": "nextcloud", "nextcloud_user": "{user}",
                             "files_prefix": "Photos"}}}
    target = build_settings(raw, None, tmp_path).rescan_targets["nc"]
    executor = RecordingExecutor()
    # When the folder alice's photos landed in is rescanned
    scan_folder(target, executor, str(tmp_path / "lib" / "alice"), str(tmp_path / "lib"))
    # Then occ scanned alice's path, as the web server's user
    assert executor.calls == [("php", "occ", "files:scan", "-n", "--path=/alice/files/Photos")]
    assert executor.users == ["www-data"]
