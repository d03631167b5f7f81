"""A named host checks only the files of what it reaches: SSH keys, known_hosts, folders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shared.config import build_settings, load_settings, reached_targets
from shared.errors import ConfigError
from tests.shared.config_helpers import write_config

NAS_SETUP = """
key_prefix = "mc"
[targets.nas]
kind = "sftp"
host = "nas.lan"
user = "photos"
root = "/volume1/photo"
key_file = "keys/nas_ed25519"
known_hosts = "keys/known_hosts"

[sources.inbox]
path = "inbox"
library = "photos"

[libraries.photos]
path = "library"
target = "nas"
rescan = ["app"]

[rescan.app]
command = ["index", "{folder}"]

[targets.disk]
kind = "local"
root = "usb-disk"

[mirrors.offsite]
source_path = "exports"
target = "disk"

[hosts.upload]
sources = ["inbox"]
targets = ["nas"]
mirrors = ["offsite"]

[hosts.nas]
rescan = ["app"]
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """An upload server writing to the NAS over SSH, and the NAS itself running the rescan:
    only the upload server holds the key, the known_hosts and the exports folder."""
    (tmp_path / "inbox").mkdir()
    return write_config(tmp_path, NAS_SETUP)


def load_as(config: Path, host: str | None) -> Any:
    env = {"MEDIACOURIER_HOST": host} if host else {}
    return load_settings(str(config), env=env, cwd=config.parent)


def test_a_host_that_does_not_use_a_target_needs_none_of_its_files(config: Path) -> None:
    # Given no key, known_hosts or exports folder on this machine
    # When loaded as the NAS, which only runs the rescan
    settings = load_as(config, "nas")
    # Then it loads: the NAS never connects to itself over SSH nor runs the mirror
    assert settings.hosts.local == "nas" and reached_targets(settings, "nas") == set()


@pytest.mark.parametrize("host", ["upload", None])
def test_a_host_that_uses_a_target_needs_its_key_file(config: Path, host: str | None) -> None:
    # Given the exports folder but no SSH key
    (config.parent / "exports").mkdir()
    # When loaded as the upload server, or as no host in particular
    # Then the missing key file is named, with the file and the key
    with pytest.raises(ConfigError) as caught:
        load_as(config, host)
    assert str(caught.value) == (f"{config}: [targets.nas] key_file: file "
                                 f"'{config.parent / 'keys/nas_ed25519'}' does not exist")


def test_a_host_that_uses_a_target_needs_its_known_hosts(config: Path) -> None:
    (config.parent / "exports").mkdir()
    (config.parent / "keys").mkdir()
    (config.parent / "keys" / "nas_ed25519").write_text("key")
    with pytest.raises(ConfigError, match=r"\[targets\.nas\] known_hosts: file .* does not"):
        load_as(config, "upload")
    (config.parent / "keys" / "known_hosts").write_text("nas.lan ssh-ed25519 AAAA\n")
    assert reached_targets(load_as(config, "upload"), "upload") == {"nas", "disk"}


def test_a_mirror_folder_is_checked_only_on_the_host_that_runs_it(config: Path) -> None:
    # Given the keys but no exports folder
    (config.parent / "keys").mkdir()
    for name in ("nas_ed25519", "known_hosts"):
        (config.parent / "keys" / name).write_text("x")
    # When loaded as the NAS it loads; as the upload server, which runs the mirror, it is
    # refused naming the folder
    assert load_as(config, "nas").mirrors["offsite"].source_path == config.parent / "exports"
    with pytest.raises(ConfigError, match=r"\[mirrors\.offsite\] source_path: folder .*exports"):
        load_as(config, "upload")


def test_a_rescan_over_ssh_needs_the_key_of_its_ssh_target(tmp_path: Path) -> None:
    # Given a NAS host running a rescan in a container over SSH to the target 'nas'
    raw = {
        "sources": {"inbox": {"path": str(tmp_path / "in"), "library": "lib"}},
        "libraries": {"lib": {"path": str(tmp_path / "lib"), "rescan": ["pp"]}},
        "targets": {"nas": {"kind": "sftp", "host": "nas.lan", "user": "u", "root": "/p",
                            "key_file": str(tmp_path / "missing-key"),
                            "known_hosts": str(tmp_path / "missing-known")}},
        "rescan": {"pp": {"kind": "photoprism", "executor": "ssh", "ssh_target": "nas",
                          "container": "photoprism"}},
        "hosts": {"pc": {"sources": ["inbox"], "libraries": ["lib"]},
                  "nas": {"rescan": ["pp"]}},
    }
    (tmp_path / "lib").mkdir()
    (tmp_path / "in").mkdir()
    # When built as the PC it loads (it never runs the rescan); as the NAS the key is named
    assert build_settings({**raw, "host": "pc"}, None, tmp_path).hosts.local == "pc"
    with pytest.raises(ConfigError, match=r"\[targets\.nas\] key_file: file .*missing-key"):
        build_settings({**raw, "host": "nas"}, None, tmp_path)
