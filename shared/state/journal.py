"""The journal's entries as people and programs read them, and the one log line per file.

Redis streams hold strings only, so every field of an entry is written as text
(store.py `_journal`). Reading them back, `typed_entry` gives each field its type again: counts
and sizes are numbers, `copied` a boolean, `hosts`/`timings` objects, `folders` a list, `at` an
ISO-8601 time with its zone. `outcome_line` is the INFO line a worker logs for each file's
outcome, the one line per file the log keeps at INFO (workers/logs.py).
"""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime
from typing import Any

log = logging.getLogger("mediacourier.files")
# A file's line is for the log of a worker (workers/logs.py turns it on there); a command that
# records outcomes itself (`sync`, with its progress bar and its own failure lines) logs none.
log.setLevel(logging.ERROR)

OUTCOME_EVENTS = frozenset({"ingested", "duplicate", "skipped", "failed", "empty"})
# Fields that are text whatever they look like: a file called "2024" stays a string.
TEXT_FIELDS = frozenset({"id", "event", "source", "path", "dest", "library", "duplicate_of",
                         "sha256", "reason", "host", "name", "kind", "target", "folder", "task",
                         "task_id"})
BOOLEAN_FIELDS = frozenset({"copied"})
LIST_FIELDS = frozenset({"folders"})  # written "\n"-joined (shared/rescan/flush.py)
_INT = re.compile(r"-?\d+")
_FLOAT = re.compile(r"-?\d+\.\d*(?:[eE][-+]?\d+)?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_text(text: str) -> str:
    """Control characters as escapes: a newline or an ANSI escape in a file name must not split
    a row or a log line, nor colour a terminal."""
    return _CONTROL.sub(lambda m: _ESCAPES.get(m.group(), f"\\x{ord(m.group()):02x}"), text)


def iso_time(at: float) -> str:
    """Seconds since the epoch as ISO 8601 in the local zone, with its offset."""
    return datetime.fromtimestamp(at).astimezone().isoformat(timespec="milliseconds")


def typed_value(name: str, text: str) -> Any:
    if name in TEXT_FIELDS:
        return text
    if name in LIST_FIELDS:
        return text.split("\n")
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    if text[:1] in "{[":
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def typed_entry(entry: dict[str, str]) -> dict[str, Any]:
    """One journal entry with typed values, `at` in ISO 8601 with its zone."""
    # `copied` is a flag on a file's entry but a count on a mirror run's.
    flags = BOOLEAN_FIELDS if entry.get("event") != "mirror" else frozenset()
    typed = {name: (value not in ("0", "", "False", "false") if name in flags
                    else typed_value(name, value))
             for name, value in entry.items() if name != "at"}
    try:
        at: Any = iso_time(float(entry.get("at", "")))
    except ValueError:
        at = entry.get("at", "")
    return {"at": at, **typed}


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"  # not reached


def outcome_line(event: str, fields: dict[str, Any]) -> str | None:
    """`inbox:2024/IMG_1.jpg → library:2024/07/IMG_1.jpg, 2.4 MB, 312 ms` (or the duplicate,
    skip or failure and its reason); None for an event that is not a file's outcome."""
    if event not in OUTCOME_EVENTS:
        return None
    name = escape_text(f"{fields.get('source', '')}:{fields.get('path', '')}")
    library = fields.get("library", "")
    tail = []
    if fields.get("bytes") not in (None, ""):
        tail.append(human_size(int(fields["bytes"])))
    if fields.get("seconds") not in (None, ""):
        tail.append(f"{float(fields['seconds']) * 1000:.0f} ms")
    if event == "ingested":
        what = "→ " + escape_text(f"{library}:{fields.get('dest', '')}")
    elif event == "duplicate":
        what = f"duplicate of {escape_text(str(fields.get('duplicate_of') or '?'))}"
    else:
        what = f"{event}: {escape_text(str(fields.get('reason') or 'no reason given'))}"
    return ", ".join([f"{name} {what}", *tail])


def log_outcome(event: str, fields: dict[str, Any]) -> None:
    line = outcome_line(event, fields)
    if line is not None:
        log.log(logging.WARNING if event == "failed" else logging.INFO, "%s", line)
