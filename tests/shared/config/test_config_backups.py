"""[targets.NAME] of kind restic and rclone: parsed into their settings, every mistake one line
naming the key, and no password ever read into the settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shared.config import RcloneTarget, ResticTarget, build_settings
from shared.errors import ConfigError
from tests.shared.config_helpers import minimal_config


def settings_with(tmp_path: Path, **target: Any) -> Any:
    raw = minimal_config(tmp_path, targets={"vault": target},
                         mirrors={"m": {"library": "main", "target": "vault"}})
    return build_settings(raw, tmp_path / "mediacourier.toml", tmp_path)


def test_a_local_restic_target(tmp_path: Path) -> None:
    # Given a restic target with a relative repository, a password file, tags and a retention
    (tmp_path / "pw").write_text("s3cret\n")
    settings = settings_with(tmp_path, kind="restic", repository="usb/restic",
                             password_file="pw", compression="max", tags=["photos", "nas"],
                             keep_daily=7, keep_monthly=12, prune_every="7d")
    # When it is parsed
    target = settings.targets["vault"]
    backup = target.backup
    # Then the repository is an absolute path beside the config, and the policy is kept
    assert isinstance(backup, ResticTarget)
    assert backup.repository == str(tmp_path / "usb" / "restic")
    assert target.root == backup.repository  # the overlap checks see the repository's folder
    assert backup.password_file == tmp_path / "pw"
    assert (backup.compression, backup.tags) == ("max", ("photos", "nas"))
    assert backup.keep == (("keep_daily", 7), ("keep_monthly", 12))
    assert backup.prune_every == 7 * 86400
    # And the password is nowhere in the settings
    assert "s3cret" not in repr(settings) and "s3cret" not in repr(backup.__dict__)


def test_an_sftp_repository_goes_through_the_targets_ssh_settings(tmp_path: Path) -> None:
    settings = settings_with(tmp_path, kind="restic", repository="sftp:/srv/restic",
                             password_env="RESTIC_PW", host="nas.lan", port=2222,
                             user="backup", key_file="id_key", known_hosts="known")
    backup = settings.targets["vault"].backup
    assert backup.repository == "sftp:backup@nas.lan:/srv/restic"
    assert (backup.port, backup.key_file, backup.known_hosts) == (
        2222, tmp_path / "id_key", tmp_path / "known")


def test_a_backend_url_is_passed_as_it_is(tmp_path: Path) -> None:
    settings = settings_with(tmp_path, kind="restic", repository="s3:http://127.0.0.1:9/bkt",
                             password_env="RESTIC_PW")
    assert settings.targets["vault"].backup.repository == "s3:http://127.0.0.1:9/bkt"


def test_an_rclone_target(tmp_path: Path) -> None:
    settings = settings_with(tmp_path, kind="rclone", remote="b2crypt:", path="photos/",
                             config_file="rclone.conf")
    backup = settings.targets["vault"].backup
    assert isinstance(backup, RcloneTarget)
    assert backup.location == "b2crypt:photos"
    assert backup.config_file == tmp_path / "rclone.conf"


@pytest.mark.parametrize(("target", "message"), [
    ({"kind": "restic", "password_env": "X"}, "[targets.vault]: 'repository' is required"),
    ({"kind": "restic", "repository": "/r"}, "give exactly one of 'password_file' or "
     "'password_env'"),
    ({"kind": "restic", "repository": "/r", "password_env": "X", "password_file": "pw"},
     "give exactly one of 'password_file' or 'password_env'"),
    ({"kind": "restic", "repository": "/r", "password_env": "X", "compression": "zstd"},
     '[targets.vault] compression: "zstd" is not one of auto, max, off'),
    ({"kind": "restic", "repository": "/r", "password_env": "X", "tags": ["a,b"]},
     "[targets.vault] tags"),
    ({"kind": "restic", "repository": "/r", "password_env": "X", "prune_every": "1d"},
     "[targets.vault] prune_every: needs a retention policy"),
    ({"kind": "restic", "repository": "/r", "password_env": "X", "keep_daily": 0},
     "[targets.vault] keep_daily: 0 is out of range"),
    ({"kind": "restic", "repository": "sftp:/srv/r", "password_env": "X"},
     "[targets.vault] repository: an sftp repository needs 'host', 'user' and 'key_file'"),
    ({"kind": "restic", "repository": "/r", "password_env": "X", "host": "nas"},
     "[targets.vault] host: only for an sftp repository"),
    ({"kind": "restic", "repository": "/r", "password_env": "X", "root": "/x"},
     "[targets.vault] root: unknown key"),
    ({"kind": "rclone", "path": "x"}, "[targets.vault]: 'remote' is required"),
    ({"kind": "rclone", "remote": "s3:", "path": "a/../b"}, "[targets.vault] path"),
])
def test_mistakes_are_one_line_naming_the_key(tmp_path: Path, target: dict[str, Any],
                                              message: str) -> None:
    # Given a restic or rclone target with one mistake, When the settings are built
    with pytest.raises(ConfigError) as caught:
        settings_with(tmp_path, **target)
    # Then the error is one line that names the table and key
    text = str(caught.value)
    assert message in text, text
    assert "\n" not in text
