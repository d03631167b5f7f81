"""Flower never listens beyond loopback without credentials, however it is started.

`mediacourier up` checks `flower_address` against `flower_basic_auth` when the configuration
loads; this covers `celery -A tasks flower …` started by hand or by compose, whose address and
credentials come from Flower's own options and `FLOWER_*` environment variables. (Flower's
default address is every interface.)
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from shared.config.checks import LOOPBACK
from shared.errors import ConfigError

# Celery's global options that take a value (they come before the sub-command).
_VALUE_OPTIONS = {"-A", "--app", "-b", "--broker", "--result-backend", "--loader", "--config",
                  "--workdir"}
_AUTH_OPTIONS = ("--basic-auth", "--basic_auth", "--auth")


def celery_subcommand(argv: Sequence[str]) -> str | None:
    """'worker', 'flower', … when `argv` is a `celery` command line, else None."""
    if not argv:
        return None
    program = argv[0]
    if os.path.basename(program) != "celery" and not program.endswith(
            os.path.join("celery", "__main__.py")):
        return None
    skip = False
    for arg in argv[1:]:
        if skip:
            skip = False
        elif arg in _VALUE_OPTIONS:
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def _option(args: Sequence[str], names: Sequence[str]) -> str | None:
    for index, arg in enumerate(args):
        for name in names:
            if arg == name and index + 1 < len(args):
                return args[index + 1]
            if arg.startswith(name + "="):
                return arg.split("=", 1)[1]
    return None


def check_flower_command(argv: Sequence[str], env: Mapping[str, str]) -> None:
    """ConfigError when `argv` starts Flower beyond loopback without any authentication."""
    if celery_subcommand(argv) != "flower":
        return
    args = list(argv[list(argv).index("flower") + 1:])
    if _option(args, ("--unix-socket", "--unix_socket")) or env.get("FLOWER_UNIX_SOCKET"):
        return
    address = _option(args, ("--address",))
    if address is None:
        address = env.get("FLOWER_ADDRESS", "")
    authenticated = (_option(args, _AUTH_OPTIONS) or env.get("FLOWER_BASIC_AUTH")
                     or env.get("FLOWER_AUTH"))
    if address in LOOPBACK or authenticated:
        return
    where = repr(address) if address else "every interface (Flower's default)"
    raise ConfigError(f"Flower would listen on {where} without credentials: set "
                      "FLOWER_BASIC_AUTH=user:password, or --address=127.0.0.1")
