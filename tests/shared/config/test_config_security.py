"""The [security] table and the redaction of secrets in URLs and in Settings' repr."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.config import build_settings
from shared.config.security import redacted_url, signing_config
from shared.errors import ConfigError


def raw_config(tmp_path: Path, **top: object) -> dict:
    for name in ("in", "lib"):
        (tmp_path / name).mkdir(exist_ok=True)
    return {**top, "sources": {"in": {"path": "in", "library": "lib"}},
            "libraries": {"lib": {"path": "lib"}}}


def test_redacted_url_hides_passwords_only() -> None:
    assert redacted_url("redis://:s3cret@h:6379/0") == "redis://:***@h:6379/0"
    assert redacted_url("redis://mc:s3cret@h:6379/0") == "redis://mc:***@h:6379/0"
    assert redacted_url("rediss://mc:p%40ss@h:6380/0?ssl_cert_reqs=required&ssl_ca_certs=/ca") \
        == "rediss://mc:***@h:6380/0?ssl_cert_reqs=required&ssl_ca_certs=/ca"
    assert redacted_url("redis://h:6379/0?password=s3cret") == "redis://h:6379/0?password=***"
    assert redacted_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    assert redacted_url("") == ""


def test_settings_repr_never_shows_a_password(tmp_path: Path) -> None:
    settings = build_settings(raw_config(tmp_path, redis_url="redis://mc:hunter2@h/0",
                                         flower_basic_auth="admin:opensesame"),
                              tmp_path / "mediacourier.toml", tmp_path)
    text = repr(settings)
    assert "hunter2" not in text and "opensesame" not in text
    assert "redis://mc:***@h/0" in text and "key_prefix='mediacourier'" in text


def test_signing_needs_all_three_and_existing_files(tmp_path: Path) -> None:
    path = tmp_path / "mediacourier.toml"
    settings = build_settings(raw_config(tmp_path), path, tmp_path)
    assert not settings.security.signing and signing_config(settings.security) == {}
    with pytest.raises(ConfigError, match=r"\[security\] signing_cert_file: message signing needs"):
        build_settings(raw_config(tmp_path, security={"signing_key_file": "k.pem"}), path,
                       tmp_path)
    files = {"signing_key_file": "k.pem", "signing_cert_file": "c.pem", "cert_store": "certs"}
    with pytest.raises(ConfigError, match=r"\[security\] signing_key_file: file .*k\.pem"):
        build_settings(raw_config(tmp_path, security=files), path, tmp_path)
    (tmp_path / "k.pem").write_text("key")
    (tmp_path / "c.pem").write_text("cert")
    (tmp_path / "certs").mkdir()
    with pytest.raises(ConfigError, match=r"\[security\] signing_kye: unknown key; "
                                          r"did you mean 'signing_key_file'\?"):
        build_settings(raw_config(tmp_path, security={**files, "signing_kye": "x"}), path,
                       tmp_path)
    settings = build_settings(raw_config(tmp_path, security=files), path, tmp_path)
    conf = signing_config(settings.security)
    assert conf["task_serializer"] == "auth" and conf["accept_content"] == ["auth"]
    assert conf["security_key"] == str(tmp_path / "k.pem")
    assert conf["security_cert_store"] == str(tmp_path / "certs" / "*")


def test_flower_address_from_the_environment_is_checked_too(tmp_path: Path) -> None:
    from shared.config import load_settings

    (tmp_path / "mediacourier.toml").write_text(
        '[sources.in]\npath = "in"\nlibrary = "lib"\n[libraries.lib]\npath = "lib"\n')
    raw_config(tmp_path)
    env = {"MEDIACOURIER_FLOWER_ADDRESS": "0.0.0.0"}
    with pytest.raises(ConfigError, match="flower_basic_auth"):
        load_settings(str(tmp_path / "mediacourier.toml"), env=env, cwd=tmp_path)
    settings = load_settings(str(tmp_path / "mediacourier.toml"),
                             env={**env, "MEDIACOURIER_FLOWER_BASIC_AUTH": "a:b"}, cwd=tmp_path)
    assert settings.flower_address == "0.0.0.0"


def test_a_bad_metrics_address_is_a_config_error_at_load(tmp_path: Path) -> None:
    path = tmp_path / "mediacourier.toml"
    with pytest.raises(ConfigError,
                       match=r"mediacourier\.toml: metrics_listen: 'nas' is not an IP address"):
        build_settings(raw_config(tmp_path, metrics_listen="nas:9808"), path, tmp_path)
    assert build_settings(raw_config(tmp_path, metrics_listen=""), path,
                          tmp_path).metrics_listen == ""
