"""`mediacourier icloud-auth SOURCE`: log an iCloud source in again at this terminal (the
password and the 2FA code typed into icloudpd --auth-only, its session saved in the source's
cookie directory), then lift the hold on its fetching."""

from __future__ import annotations

import argparse
import subprocess
from collections.abc import Callable

from rich.console import Console

from shared.config import Settings, broker_url
from shared.errors import ConfigError
from shared.source import auth_command, cookie_directory, fetch_hold, lift_fetch_hold
from shared.state import RedisStateStore
from workers.exit_codes import OK, REFUSED

Runner = Callable[[list[str]], int]


def icloud_auth(settings: Settings, store: RedisStateStore, name: str, console: Console,
                run: Runner = subprocess.call) -> int:
    """Run icloudpd's login for source `name` with this terminal; lift its hold when it worked."""
    source = settings.sources.get(name)
    if source is None or source.icloud is None:
        icloud = [n for n, s in settings.sources.items() if s.icloud is not None]
        raise ConfigError(f"no iCloud source named {name!r}; configured: "
                          f"{', '.join(icloud) or 'none'}")
    hold = fetch_hold(store, name)
    if hold is not None:
        console.print(f"source {name}: fetching held: {hold.reason}", highlight=False)
    code = run(auth_command(source.icloud, cookie_directory(settings, source)))
    if code != 0:
        console.print(f"source {name}: icloudpd --auth-only exited with {code}; "
                      "the hold stays", highlight=False)
        return REFUSED
    lifted = lift_fetch_hold(store, name, "logged in again with mediacourier icloud-auth")
    console.print(f"source {name}: logged in; " + ("the hold is lifted, " if lifted else "")
                  + "its next scheduled fetch runs icloudpd", highlight=False)
    return OK


def cmd_icloud_auth(settings: Settings, args: argparse.Namespace) -> int:
    store = RedisStateStore.from_url(broker_url(settings), settings.key_prefix)
    store.ping()
    return icloud_auth(settings, store, args.source, Console(highlight=False))


def add_icloud_parser(command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    auth = command("icloud-auth", "log an iCloud source in again (password, 2FA code) and "
                   "lift the hold on its fetching")
    auth.add_argument("source", help="a [sources.NAME] table of kind \"icloud\"")


ICLOUD_COMMANDS = {"icloud-auth": cmd_icloud_auth}
