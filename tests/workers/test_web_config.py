"""The web page's configuration keys and how `up` plans it: plain logic, no services."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from shared.config import build_settings
from shared.errors import ConfigError
from workers.up import Supervisor


def settings_with(tmp_path: Path, **top: object):
    raw = {"data_dir": str(tmp_path / "data"), "redis_url": "redis://127.0.0.1:1/0", **top}
    return build_settings(raw, tmp_path / "mediacourier.toml", tmp_path)


def test_beyond_loopback_without_credentials_is_one_clear_line(tmp_path: Path) -> None:
    # Given the page on every interface and no password / When the settings load
    with pytest.raises(ConfigError) as raised:
        settings_with(tmp_path, web_listen="0.0.0.0:8080")
    # Then the message names the file and the key, and what to set
    message = str(raised.value)
    assert message.startswith(f"{tmp_path / 'mediacourier.toml'}: web_listen: ")
    assert '"0.0.0.0:8080" is not loopback' in message and "web_basic_auth" in message
    assert "\n" not in message


def test_beyond_loopback_with_a_password_or_a_token_file_loads(tmp_path: Path) -> None:
    # Given a password, and separately a token file / When the settings load
    token = tmp_path / "token"
    token.write_text("abc123\n")
    by_password = settings_with(tmp_path, web_listen="0.0.0.0:8080",
                                web_basic_auth="anna:pw,ben:pw2").web
    by_token = settings_with(tmp_path, web_listen="[::]:8080", web_token_file="token").web
    # Then both are accepted; the password never shows in the repr of the settings
    assert by_password.users() == {"anna": "pw", "ben": "pw2"}
    assert "pw2" not in repr(settings_with(tmp_path, web_basic_auth="anna:pw2"))
    assert by_token.token() == "abc123" and by_token.host == "::"


@pytest.mark.parametrize("top, expected", [
    ({"web_listen": "8080"}, "web_listen: '8080' is not HOST:PORT"),
    ({"web_root_path": "mediacourier"}, "web_root_path: \"mediacourier\" must start with '/'"),
    ({"web_basic_auth": "anna"}, "web_basic_auth: each entry must be 'user:password'"),
    ({"web_token_file": "missing"}, "web_token_file: file"),
])
def test_bad_web_keys_name_the_key_and_the_reason(tmp_path: Path, top: dict,
                                                  expected: str) -> None:
    with pytest.raises(ConfigError, match=expected.replace("(", r"\(")):
        settings_with(tmp_path, **top)


def test_up_plans_the_page_as_an_optional_child_and_moves_it_off_a_taken_port(
    tmp_path: Path,
) -> None:
    # Given web_listen on a port another program already listens on
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    taken = holder.getsockname()[1]
    try:
        supervisor = Supervisor(settings_with(tmp_path, web_listen=f"127.0.0.1:{taken}",
                                              web_root_path="/mc/", metrics_listen=""),
                                with_flower=False)
        # When `up` checks its ports and plans its children
        supervisor.check_ports()
        children = {child.name: child for child in supervisor.plan()}
    finally:
        holder.close()
    # Then the page moves to a free port, saying so in one line, and runs there, optional
    moved = int(supervisor.web_listen.rsplit(":", 1)[1])
    assert moved != taken
    assert len(supervisor.notes) == 1 and "web_listen" in supervisor.notes[0]
    assert f"web runs on 127.0.0.1:{moved} meanwhile" in supervisor.notes[0]
    web = children["web"]
    assert web.optional and web.argv[-3:] == ["web", "--listen", f"127.0.0.1:{moved}"]


def test_up_starts_no_page_when_web_listen_is_empty(tmp_path: Path) -> None:
    supervisor = Supervisor(settings_with(tmp_path, web_listen=""), with_flower=False)
    supervisor.check_ports()
    assert "web" not in {child.name for child in supervisor.plan()}
