"""icloudpd's command line and the reading of its output, case by case, with the output of the
stand-in (icloudpd 1.32.3's own lines, tests/data/icloudpd_standin/README.md)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from shared.config import build_settings
from shared.source import cookie_directory, fetch_command, parse_output
from tests.shared.source.icloud_standin import (
    icloud_raw,
    icloud_settings,
    install_standin,
    tell_standin,
)


@pytest.fixture
def standin(tmp_path: Path) -> Path:
    return install_standin(tmp_path / "bin")


def run_case(tmp_path: Path, standin: Path, case: str, files: list[dict[str, str]] | None = None
             ) -> tuple[str, int, Path]:
    settings = icloud_settings(tmp_path, standin)
    source = settings.sources["phone"]
    assert source.icloud is not None
    cookies = cookie_directory(settings, source)
    tell_standin(cookies, case, files)
    argv = fetch_command(source.icloud, source.path, cookies, password_on_stdin=False)
    done = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          timeout=30, check=False)
    return done.stdout + done.stderr, done.returncode, source.path


def test_command_is_a_list_with_the_configured_options(tmp_path: Path, standin: Path) -> None:
    # Given an iCloud source with a folder structure and until_found
    raw_keys = {"folder_structure": "{:%Y}", "until_found": 7}
    settings = icloud_settings(tmp_path, standin, **raw_keys)
    source = settings.sources["phone"]
    assert source.icloud is not None
    # When its command is built
    argv = fetch_command(source.icloud, source.path, tmp_path / "cookies",
                         password_on_stdin=True)
    # Then it is argv, naming the folder, cookies, structure, count and user, and no password
    assert argv[0] == str(standin)
    pairs = dict(zip(argv[1:], argv[2:], strict=False))
    assert pairs["--directory"] == str(source.path)
    assert pairs["--cookie-directory"] == str(tmp_path / "cookies")
    assert pairs["--folder-structure"] == "{:%Y}"
    assert pairs["--until-found"] == "7"
    assert pairs["--password-provider"] == "console"
    assert argv[-2:] == ["--username", "jappleseed@example.com"]
    assert "--delete-after-download" not in argv
    assert not any(option in argv for option in ("--password", "-p"))


def test_deleting_is_keep_icloud_recent_days_never_delete_after_download(
        tmp_path: Path, standin: Path) -> None:
    # Given a source that may delete what is 30 days old (its library mirrored)
    raw_keys = {"delete_from_icloud_after_days": 30}
    raw = icloud_raw(tmp_path, standin, **raw_keys)
    (tmp_path / "nas").mkdir()
    raw["targets"] = {"nas": {"kind": "local", "root": str(tmp_path / "nas")}}
    raw["mirrors"] = {"offsite": {"library": "photos", "target": "nas"}}
    source = build_settings(raw, None, tmp_path).sources["phone"]
    assert source.icloud is not None
    # When its commands are built without and with the go-ahead to delete
    plain = fetch_command(source.icloud, source.path, tmp_path, password_on_stdin=False)
    deleting = fetch_command(source.icloud, source.path, tmp_path, password_on_stdin=False,
                             delete_older_than_days=30)
    # Then only the second deletes, by age, and neither deletes after download
    assert "--keep-icloud-recent-days" not in plain
    assert deleting[deleting.index("--keep-icloud-recent-days") + 1] == "30"
    assert "--delete-after-download" not in plain + deleting
    assert deleting[-2:] == ["--username", "jappleseed@example.com"]


def test_keyring_when_no_password_is_configured(tmp_path: Path, standin: Path) -> None:
    # Given a source with no password file or variable
    source = icloud_settings(tmp_path, standin).sources["phone"]
    assert source.icloud is not None
    # When its command is built, Then icloudpd is told to use its keyring
    argv = fetch_command(source.icloud, source.path, tmp_path, password_on_stdin=False)
    assert argv[argv.index("--password-provider") + 1] == "keyring"


def test_default_cookie_directory_is_private_under_the_data_dir(tmp_path: Path,
                                                                standin: Path) -> None:
    # Given a source without icloud_cookie_directory
    settings = icloud_settings(tmp_path, standin)
    # When its cookie directory is made
    folder = cookie_directory(settings, settings.sources["phone"])
    # Then it is <data_dir>/icloud/phone with mode 0700
    assert folder == tmp_path / "state" / "icloud" / "phone"
    assert folder.stat().st_mode & 0o777 == 0o700


def test_downloads_and_already_there_are_counted(tmp_path: Path, standin: Path) -> None:
    # Given two photos to download, one of which is already in the folder
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8 a photo")
    files = [{"src": str(photo), "name": "IMG_0001.JPG", "folder": "2024/05"},
             {"src": str(photo), "name": "IMG_0002.JPG", "folder": "2024/05"}]
    (tmp_path / "icloud" / "2024" / "05").mkdir(parents=True)
    (tmp_path / "icloud" / "2024" / "05" / "IMG_0002.JPG").write_bytes(b"old")
    # When the stand-in runs and its output is read
    output, code, folder = run_case(tmp_path, standin, "download", files)
    result = parse_output(output, code)
    # Then one was downloaded (its bytes on disk), one skipped, and the run is complete
    assert (result.downloaded, result.skipped, result.failure) == (1, 1, "")
    assert result.complete and result.ok
    assert result.downloaded_paths == (str(folder / "2024" / "05" / "IMG_0001.JPG"),)
    assert (folder / "2024" / "05" / "IMG_0001.JPG").read_bytes() == photo.read_bytes()


@pytest.mark.parametrize(("case", "kind", "words"), [
    ("auth_2fa", "auth", "Two-factor authentication is required"),
    ("auth_password", "auth", "Invalid email/password combination."),
    ("session_expired", "auth", "Authentication required for Account."),
    ("throttled", "transient", "throttle requests"),
    ("unavailable", "transient", "temporary refusing to serve icloudpd"),
    ("network", "transient", "Cannot connect to Apple iCloud service"),
])
def test_failures_are_classified(tmp_path: Path, standin: Path, case: str, kind: str,
                                 words: str) -> None:
    # Given the stand-in printing one of icloudpd's failures
    output, code, _ = run_case(tmp_path, standin, case)
    # When its output is read
    result = parse_output(output, code)
    # Then the failure has its kind, and the reason is icloudpd's own line
    assert code != 0
    assert result.failure == kind
    assert words in result.reason
    assert result.downloaded == 0 and not result.complete


def test_a_timeout_is_transient_and_an_unknown_exit_is_other() -> None:
    # Given a run cut short, and a run that failed with a line we do not know
    # When their outputs are read
    cut = parse_output("2026-05-30 16:20:46 INFO     Downloading /x/IMG_1.JPG...", -9,
                       timed_out=True)
    odd = parse_output("2026-05-30 16:20:46 ERROR    Unknown library: Shared", 1)
    # Then the first is transient, the second other with its line as the reason
    assert cut.failure == "transient"
    assert odd.failure == "other" and "Unknown library: Shared" in odd.reason
    assert odd.errors == ("Unknown library: Shared",)
