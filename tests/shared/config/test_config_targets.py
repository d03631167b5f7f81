"""[targets.NAME] tables: parsed into TargetConfig, and every mistake a one-line ConfigError."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shared.config import build_settings, load_settings
from shared.config.targets import parse_rate
from shared.errors import ConfigError
from tests.shared.config_helpers import minimal_config


def with_target(tmp_path: Path, **target: Any) -> dict[str, Any]:
    (tmp_path / "id_key").write_text("not read at start-up\n")
    (tmp_path / "known").write_text("")
    table = {"kind": "sftp", "host": "nas.lan", "user": "photos", "key_file": "id_key",
             "known_hosts": "known", "root": "/volume1/photo", **target}
    return minimal_config(tmp_path, targets={"nas": {k: v for k, v in table.items()
                                                     if v is not None}})


def test_a_full_target_and_a_library_on_it(tmp_path: Path) -> None:
    # Given a config file with an SFTP target and a library on it whose folder is not local
    (tmp_path / "src").mkdir()
    (tmp_path / "id_key").write_text("key")
    (tmp_path / "known").write_text("")
    config = tmp_path / "mediacourier.toml"
    config.write_text(f"""
[sources.phone]
path = "src"
library = "nas_photos"

[libraries.nas_photos]
path = "uploads/phone"
target = "nas"

[targets.nas]
kind = "sftp"
host = "nas.lan"
port = 2222
user = "photos"
key_file = "id_key"
known_hosts = "{tmp_path / 'known'}"
root = "/volume1/photo"
parallel = 3
bandwidth_limit = "20MB/s"
""")
    # When loaded
    settings = load_settings(str(config), env={})
    # Then the target is typed, paths are resolved, and the library path is on the target
    nas = settings.targets["nas"]
    assert (nas.kind, nas.host, nas.port, nas.user, nas.parallel) == ("sftp", "nas.lan", 2222,
                                                                      "photos", 3)
    assert nas.key_file == tmp_path / "id_key" and nas.known_hosts == tmp_path / "known"
    assert nas.bandwidth_limit == 20_000_000 and nas.over_ssh
    library = settings.libraries["nas_photos"]
    assert library.target == "nas"
    assert str(library.path) == "/volume1/photo/uploads/phone"
    assert "id_key" not in repr(nas)


@pytest.mark.parametrize(("change", "message"), [
    ({"kind": "ftp"}, r'\[targets\.nas\] kind: "ftp" is not one of local, sftp, rsync, robocopy'),
    ({"kind": None}, r"\[targets\.nas\]: 'kind' is required"),
    ({"root": None}, r"\[targets\.nas\]: 'root' is required"),
    ({"root": "photo"}, r"\[targets\.nas\] root: 'photo' must be an absolute path"),
    ({"user": None}, r"\[targets\.nas\]: 'user' is required"),
    ({"key_file": None}, r"\[targets\.nas\]: 'key_file' is required"),
    ({"key_file": "missing"}, r"\[targets\.nas\] key_file: file '.*missing' does not exist"),
    ({"known_hosts": "nope"}, r"\[targets\.nas\] known_hosts: file '.*nope' does not exist"),
    ({"port": 70000}, r"\[targets\.nas\] port: 70000 is out of range: must be between 1 and 65535"),
    ({"port": "22"}, r'\[targets\.nas\] port: expected an integer, got "22"'),
    ({"parallel": 0}, r"\[targets\.nas\] parallel: 0 is out of range: must be between 1 and 64"),
    ({"bandwidth_limit": "fast"}, r'\[targets\.nas\] bandwidth_limit: "fast" is not a rate'),
    ({"password": "hunter2"}, r"\[targets\.nas\] password: unknown key"),
    ({"host": None}, r"\[targets\.nas\]: kind 'sftp' needs 'host'"),
])
def test_target_mistakes_are_named(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as error:
        build_settings(with_target(tmp_path, **change), None, tmp_path)
    assert "\n" not in str(error.value)
    assert "hunter2" not in str(error.value)


def test_library_naming_an_unknown_target(tmp_path: Path) -> None:
    raw = with_target(tmp_path)
    raw["libraries"]["main"]["target"] = "nsa"
    with pytest.raises(ConfigError, match=r'\[libraries\.main\] target: no target named "nsa"'):
        build_settings(raw, None, tmp_path)


def test_rates() -> None:
    assert parse_rate("20MB/s", "x") == 20_000_000
    assert parse_rate("500 KiB/s", "x") == 512_000
    assert parse_rate("1.5M", "x") == 1_500_000
    assert parse_rate(0, "x") == 0
    with pytest.raises(ConfigError):
        parse_rate("-1MB/s", "x")
