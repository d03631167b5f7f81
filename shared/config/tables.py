"""Reading TOML tables strictly: typed values, ranges, choices, durations, unknown keys.

Every message names the file and the key separately, as TOML spells them (`where` is
`FILE: [sources.phone]` for a table, `FILE` for the top level), and shows values as they are
written in TOML (`true`, `"abc"`), not as Python prints them.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from typing import Any

from shared.errors import ConfigError

DURATION_HINT = '(use e.g. "30s", "5m", "2h" or a number of seconds)'
_KIND_NAMES = {bool: "true or false", int: "an integer", float: "a number", str: "a string",
               list: "a list", dict: "a table"}


def table_at(name: str, table: str) -> str:
    """`FILE: [sources.phone]`: where a table is, for messages."""
    return f"{name}: [{table}]"


def key_at(where: str, key: str) -> str:
    """`FILE: [sources.phone] stability`, or `FILE: max_retries` for a top-level key."""
    return f"{where} {key}" if where.endswith("]") else f"{where}: {key}"


def toml_text(value: Any) -> str:
    """A value as it is written in TOML: `true`, `"abc"`, `[1, 2]`, `a table`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_text(item) for item in value) + "]"
    if isinstance(value, dict):
        return "a table"
    return str(value)


def parse_duration(value: Any, where: str, positive: bool = False) -> float:
    """Seconds from a number or a string such as '90s', '15m', '2h', '1d'; `positive`: a
    duration of 0 is refused (an `every = "0s"` would run without pause)."""
    seconds: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value) if value >= 0 and math.isfinite(value) else None
    elif isinstance(value, str):
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", value)
        if match:
            factor = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
            seconds = float(match.group(1)) * factor
    if seconds is None:
        raise ConfigError(f"{where}: {toml_text(value)} is not a duration {DURATION_HINT}")
    if positive and seconds <= 0:
        raise ConfigError(f"{where}: {toml_text(value)} must be longer than 0 {DURATION_HINT}")
    return seconds


def check_range(value: float, where: str, low: float | None = None,
                high: float | None = None) -> float:
    """`value` when low <= value <= high (either bound may be absent), else a ConfigError."""
    if (low is None or value >= low) and (high is None or value <= high):
        return value
    if low is not None and high is not None:
        need = f"between {low:g} and {high:g}"
    else:
        need = f"at least {low:g}" if low is not None else f"at most {high:g}"
    raise ConfigError(f"{where}: {toml_text(value)} is out of range: must be {need}")


class Table:
    """Reads one TOML table, remembering which keys were used so leftovers are reported."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, dict):
            raise ConfigError(f"{where}: expected a table, got {toml_text(data)}")
        self.data, self.where, self.used = data, where, set()

    def at(self, key: str) -> str:
        return key_at(self.where, key)

    def get(self, key: str, default: Any = None, kind: type | tuple[type, ...] = object,
            low: float | None = None, high: float | None = None) -> Any:
        """The value of `key` (or `default`), of type `kind`, and for a number within
        [low, high] when either is given; None stays None (an optional key not given)."""
        self.used.add(key)
        value = self.data.get(key, default)
        kinds = kind if isinstance(kind, tuple) else (kind,)
        # TOML's true is a Python int too: an integer key must not take it.
        wrong_bool = isinstance(value, bool) and bool not in kinds and object not in kinds
        if value is not None and (wrong_bool or not isinstance(value, kind)):
            raise ConfigError(f"{self.at(key)}: expected {kind_name(kind)}, "
                              f"got {toml_text(value)}")
        if value is not None and (low is not None or high is not None):
            check_range(value, self.at(key), low, high)
        return value

    def choice(self, key: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.get(key, default, str)
        if value not in choices:
            raise ConfigError(f"{self.at(key)}: {toml_text(value)} is not one of "
                              f"{', '.join(choices)}")
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.get(key, [], list)
        if not all(isinstance(item, str) for item in value):
            raise ConfigError(f"{self.at(key)}: expected a list of strings")
        return tuple(value)

    def finish(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise ConfigError(unknown_key(self.where, unknown[0], self.used))


def unknown_key(where: str, key: str, known: set[str] | list[str]) -> str:
    """The message for a key no table knows, with the closest known key as a suggestion."""
    close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"{key_at(where, key)}: unknown key{hint}"


def kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if set(kinds) == {int, float}:
        return "a number"
    return " or ".join(_KIND_NAMES.get(k, k.__name__) for k in kinds)
