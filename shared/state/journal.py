"""The journal's entries as people and programs read them, and the one log line per file.

Redis streams hold strings only, so every field of an entry is written as text
(store.py `_journal`). Reading them back, `typed_entry` gives each field its type again: counts
and sizes are numbers, `copied` a boolean, `hosts`/`timings` objects, `folders` a list, `at` an
ISO-8601 time with its zone. `outcome_line` is the INFO line a worker logs for each file's
outcome, the one line per file the log keeps at INFO (workers/logs.py).

An entry is stored compact (`pack_entry`) and read back whole (`unpack_entry`, through
`RedisStateStore.read_journal`): its time is the stream ID's milliseconds (no `at` field), a
file's stage timings are milliseconds in the stages' order instead of a JSON object, and its
`hosts` are left out when every stage ran on the `host` that recorded it. A file's entry went
from 492 to about 200 bytes of Redis memory; what `history` and `trace` show is unchanged.
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
# The stages in the order their timings are packed (shared.ingest.pipeline.STAGES; the state
# package sits below ingest, so the names are repeated here: a new stage packs as JSON).
STAGE_ORDER = ("hash_file", "claim_content", "transfer_file", "verify_copy", "request_rescan",
               "record_outcome")
_STAGE_INDEX = {name: index for index, name in enumerate(STAGE_ORDER)}


def pack_entry(event: str, fields: dict[str, Any]) -> dict[str, str]:
    """A journal entry as stored: text values, empty ones left out, compacted (module doc)."""
    entry = {"event": event}
    entry.update({k: str(v) for k, v in fields.items() if v not in (None, "")})
    timings = _json_object(entry.get("timings", ""))
    if timings is not None and set(timings) <= _STAGE_INDEX.keys():
        if entry.get("hosts") and _json_object(entry["hosts"]) == _hosts_of(timings,
                                                                          entry.get("host")):
            del entry["hosts"]
        slots = [""] * len(STAGE_ORDER)
        for name, seconds in timings.items():
            slots[_STAGE_INDEX[name]] = _ms(float(seconds))
        entry["timings"] = ",".join(slots).rstrip(",")
    return entry


def unpack_entry(entry_id: str, fields: dict[str, str]) -> dict[str, str]:
    """A stored entry as it was journaled: `id`, `at` (seconds, from the ID unless the entry
    has its own), `timings` and `hosts` as JSON objects again."""
    entry = dict(fields, id=entry_id)
    if "at" not in entry:
        millis = entry_id.partition("-")[0]
        entry["at"] = f"{int(millis) / 1000:.3f}" if millis.isdigit() else ""
    packed = entry.get("timings")
    if packed is not None and not packed.startswith("{"):
        timings = {STAGE_ORDER[i]: round(float(ms) / 1000, 6)
                   for i, ms in enumerate(packed.split(",")) if ms and i < len(STAGE_ORDER)}
        entry["timings"] = json.dumps(timings, sort_keys=True)
        if "hosts" not in entry and "host" in entry:
            entry["hosts"] = json.dumps(_hosts_of(timings, entry["host"]), sort_keys=True)
    return entry


def _hosts_of(timings: dict[str, Any], host: str | None) -> dict[str, str | None]:
    """The `hosts` of a file's entry whose every stage ran on `host` (record_outcome's too)."""
    return {**dict.fromkeys(timings, host), "record_outcome": host}


def _ms(seconds: float) -> str:
    """Milliseconds to the microsecond, without trailing zeros: 0.001234 s -> "1.234"."""
    return f"{seconds * 1000:.3f}".rstrip("0").rstrip(".") or "0"


def _json_object(text: str) -> dict[str, Any] | None:
    if not text.startswith("{"):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


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
