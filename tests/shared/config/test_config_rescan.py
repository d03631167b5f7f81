"""The `[rescan.X]` kinds and executors: parsed into RescanTarget; bad tables refused in a line."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from shared.config import build_settings
from shared.errors import ConfigError


def settings_with(tmp_path: Path, **rescan: dict[str, Any]):  # noqa: ANN201
    (tmp_path / "in").mkdir(exist_ok=True)
    (tmp_path / "lib").mkdir(exist_ok=True)
    (tmp_path / "id_ed25519").write_text("not read while parsing\n")
    (tmp_path / "known_hosts").write_text("")
    raw = {"sources": {"in": {"path": "in", "library": "lib"}},
           "libraries": {"lib": {"path": "lib", "rescan": list(rescan)}},
           "rescan": rescan,
           # the NAS that `executor = "ssh"` targets name: an SSH target like any other
           "targets": {"nas": {"kind": "sftp", "host": "nas.lan", "user": "admin",
                               "key_file": "id_ed25519", "known_hosts": "known_hosts",
                               "root": "/volume1/photo"}}}
    return build_settings(raw, tmp_path / "mediacourier.toml", tmp_path)


def test_nextcloud_in_a_compose_container(tmp_path: Path) -> None:
    settings = settings_with(tmp_path, nc={
        "kind": "nextcloud", "executor": "docker",
        "container_label": "com.docker.compose.service=app",
        "nextcloud_user": "alice", "files_prefix": "/Photos/", "memories": True,
        "debounce": "30s"})
    target = settings.rescan_targets["nc"]
    assert target.kind == "nextcloud" and target.debounce_seconds == 30
    assert target.executor.kind == "docker"
    assert target.executor.container_label == "com.docker.compose.service=app"
    assert target.executor.user == "www-data"  # occ runs as the web server user by default
    assert (target.app.nextcloud_user, target.app.files_prefix, target.app.memories) == \
        ("alice", "Photos", True)
    assert target.app.occ == ("php", "occ")


def test_photoprism_and_immich_and_a_command_in_a_container(tmp_path: Path) -> None:
    settings = settings_with(
        tmp_path,
        pp={"kind": "photoprism", "executor": "ssh", "ssh_target": "nas", "service": "pp_app",
            "user": "1000"},
        ppapi={"kind": "photoprism", "mode": "api", "url": "http://pp:2342",
               "token_file": "pp.token"},
        im={"kind": "immich", "url": "http://immich:2283", "api_key_file": "immich.key",
            "library_id": "abc"},
        cmd={"command": ["scan", "{rel_folder}"], "executor": "docker", "container": "x",
             "user": "app"})
    pp, api, im, cmd = (settings.rescan_targets[k] for k in ("pp", "ppapi", "im", "cmd"))
    assert (pp.executor.kind, pp.executor.ssh_target, pp.executor.service, pp.executor.user) == \
        ("ssh", "nas", "pp_app", "1000")
    assert pp.app.mode == "cli" and api.app.mode == "api" and api.app.token_file == "pp.token"
    assert im.app.library_id == "abc" and im.executor.kind == "local"
    assert cmd.kind == "command" and cmd.command == ("scan", "{rel_folder}")
    assert (cmd.executor.kind, cmd.executor.container, cmd.executor.user) == ("docker", "x", "app")


@pytest.mark.parametrize(("table", "message"), [
    ({"kind": "plex"}, '[rescan.t] kind: "plex" is not one of'),
    ({"kind": "nextcloud"}, "'nextcloud_user'"),
    ({"kind": "nextcloud", "nextcloud_user": "a", "executor": "docker"}, "exactly one of"),
    ({"kind": "nextcloud", "nextcloud_user": "a", "container": "x"}, "[rescan.t] container: needs"),
    ({"kind": "nextcloud", "nextcloud_user": "a", "executor": "ssh", "container": "x"},
     "'ssh_target'"),
    ({"kind": "nextcloud", "nextcloud_user": "a", "files_prefix": "../etc"}, "files_prefix"),
    ({"kind": "photoprism", "mode": "api"}, "'url' and 'token_file'"),
    ({"kind": "immich", "url": "http://x"}, "'library_id'"),
    ({"kind": "immich", "url": "u", "api_key_file": "k", "library_id": "l", "token": "x"},
     "[rescan.t] token: unknown key"),
    ({"command": ["x", "{folder}"], "executor": "docker"}, "exactly one of"),
])
def test_bad_tables_are_refused_naming_the_key(tmp_path: Path, table: dict[str, Any],
                                               message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as caught:
        settings_with(tmp_path, t=table)
    assert "mediacourier.toml" in str(caught.value) and "\n" not in str(caught.value)


def test_ssh_target_must_name_a_configured_target(tmp_path: Path) -> None:
    # Given settings that carry [targets] (the SSH targets' own tables, parsed elsewhere)
    from types import SimpleNamespace

    from shared.config.checks import check_ssh_targets

    settings = settings_with(tmp_path, pp={"kind": "photoprism", "executor": "ssh",
                                           "ssh_target": "nas", "container": "pp"})
    check_ssh_targets(SimpleNamespace(targets={"nas": SimpleNamespace(host="nas.lan")},
                                      rescan_targets=settings.rescan_targets), "f.toml")
    with pytest.raises(ConfigError, match="target 'nas' has no SSH host"):
        check_ssh_targets(SimpleNamespace(targets={"nas": SimpleNamespace(host="")},
                                          rescan_targets=settings.rescan_targets), "f.toml")
    with pytest.raises(ConfigError, match=r'f.toml: \[rescan.pp\] ssh_target: '
                                          r'no target named "nas"'):
        check_ssh_targets(SimpleNamespace(targets={}, rescan_targets=settings.rescan_targets),
                          "f.toml")


def test_app_secrets_come_from_a_file_or_the_environment(tmp_path: Path) -> None:
    from shared.secrets import read_secret

    secret = tmp_path / "token"
    secret.write_text("s3cret-token\nignored\n")
    assert read_secret(str(secret), "", "rescan.pp.token") == "s3cret-token"
    assert read_secret("", "PP_TOKEN", "rescan.pp.token", {"PP_TOKEN": "from-env"}) == "from-env"
    with pytest.raises(ConfigError, match="rescan.pp.token: environment variable PP_TOKEN"):
        read_secret("", "PP_TOKEN", "rescan.pp.token", {})
    secret.write_text("\n")
    with pytest.raises(ConfigError, match="is empty") as caught:
        read_secret(str(secret), "", "rescan.pp.token")
    assert "s3cret" not in str(caught.value)
