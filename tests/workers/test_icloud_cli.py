"""`mediacourier icloud-auth SOURCE` with the icloudpd stand-in: a login that works lifts the
hold on the source's fetching, one that fails keeps it and says so."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import fakeredis
import pytest
from rich.console import Console

from shared.source import cookie_directory, fetch_hold, fetch_source
from shared.state import RedisStateStore
from tests.shared.source.icloud_standin import (
    icloud_settings,
    install_standin,
    standin_calls,
    tell_standin,
)
from workers.cli import COMMANDS, build_parser
from workers.exit_codes import OK, REFUSED
from workers.icloud_cli import icloud_auth
from workers.report import print_status
from workers.web.data import status_data


def _run(argv: list[str]) -> int:
    return subprocess.call(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)


@pytest.mark.parametrize(("case", "code", "held_after"), [("download", OK, False),
                                                           ("auth_password", REFUSED, True)])
def test_icloud_auth_lifts_the_hold_only_when_the_login_works(
        tmp_path: Path, fake_redis: fakeredis.FakeRedis, case: str, code: int,
        held_after: bool) -> None:
    # Given a source held because its 2FA expired
    settings = icloud_settings(tmp_path, install_standin(tmp_path / "bin"))
    store = RedisStateStore(fake_redis, "t")
    cookies = cookie_directory(settings, settings.sources["phone"])
    tell_standin(cookies, "auth_2fa")
    fetch_source(settings, store, "phone")
    assert fetch_hold(store, "phone") is not None
    # When a person runs icloud-auth and the login works (or not)
    tell_standin(cookies, case)
    out = io.StringIO()
    result = icloud_auth(settings, store, "phone", Console(file=out, width=200), run=_run)
    # Then icloudpd ran --auth-only on the source's cookies, and the hold is lifted or kept
    last = standin_calls(cookies)[-1]["argv"]
    assert "--auth-only" in last and last[last.index("--cookie-directory") + 1] == str(cookies)
    assert result == code
    assert (fetch_hold(store, "phone") is not None) == held_after
    assert ("the hold stays" in out.getvalue()) == held_after


def test_icloud_auth_is_a_command() -> None:
    # Given the command line, When icloud-auth is parsed, Then it names the source and runs
    args = build_parser().parse_args(["icloud-auth", "phone"])
    assert args.source == "phone" and args.command in COMMANDS


def test_status_and_the_web_data_show_a_held_fetch(tmp_path: Path,
                                                   fake_redis: fakeredis.FakeRedis) -> None:
    # Given a source whose fetching is held for its login
    settings = icloud_settings(tmp_path, install_standin(tmp_path / "bin"))
    store = RedisStateStore(fake_redis, "t")
    tell_standin(cookie_directory(settings, settings.sources["phone"]), "session_expired")
    fetch_source(settings, store, "phone")
    # When status is printed and the page's data is read
    out = io.StringIO()
    print_status(Console(file=out, width=300), store, {}, [], {})
    holds = status_data(settings, store)["holds"]
    # Then both name the held source, the reason and the way out
    assert "source phone" in out.getvalue() and "FETCH HELD" in out.getvalue()
    assert "mediacourier icloud-auth phone" in out.getvalue()
    assert [(h["kind"], h["name"]) for h in holds] == [("fetch", "phone")]
    assert "Authentication required for Account." in holds[0]["reason"]
