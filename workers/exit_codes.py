"""The exit codes of every `mediacourier` command: one table, so that a cron wrapper or a
script can tell "some files failed" from "a guard refused" from "the NAS is down".

| code | meaning                                                                          |
|------|----------------------------------------------------------------------------------|
| 0    | done, or nothing to do                                                           |
| 1    | done, but some files (or doctor checks) failed; the rest went through            |
| 2    | the configuration or the command line is wrong, or no deployment was found       |
| 3    | refused by a guard: a mirror's delete guard, a paused source (without --force)   |
| 4    | a connection failed: Redis, a target, SSH (unreachable, a wrong host key, auth)  |
| 70   | an internal error (a bug): `-v` shows the traceback                              |
| 130  | interrupted (Ctrl-C)                                                             |
"""

from __future__ import annotations

import kombu.exceptions
import redis

from shared.errors import (
    ConfigError,
    ExecutorUnreachable,
    MirrorRefused,
    StoreUnavailable,
    TargetRefused,
    TargetUnreachable,
    WorkPaused,
)

OK = 0
FILES_FAILED = 1
CONFIG = 2  # argparse's own code for a usage error, too
REFUSED = 3
CONNECTION = 4
INTERNAL = 70  # sysexits' EX_SOFTWARE
INTERRUPTED = 130  # what a shell reports for SIGINT

# The first class in this order that an error is an instance of decides its code; errors not
# listed (other MediacourierErrors) are about what the user asked for: CONFIG.
_CODES: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], int], ...] = (
    ((MirrorRefused, WorkPaused), REFUSED),
    ((StoreUnavailable, TargetUnreachable, TargetRefused, ExecutorUnreachable,
      redis.RedisError, kombu.exceptions.OperationalError, ConnectionError), CONNECTION),
    (ConfigError, CONFIG),
)


def code_for(exc: BaseException) -> int:
    """The exit code of a command that ended with `exc`."""
    for kinds, code in _CODES:
        if isinstance(exc, kinds):
            return code
    return CONFIG


def describe() -> str:
    """The table, for `mediacourier --help`."""
    return ("exit codes: 0 done, 1 some files failed, 2 configuration or usage error "
            "(or no deployment found), 3 refused by a guard, 4 connection error "
            "(Redis, a target, SSH), 70 internal error")
