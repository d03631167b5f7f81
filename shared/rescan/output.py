"""Reading what the photo apps' commands print: they exit 0 on most failures.

Formats (sources in tests/data/apps/SOURCES.md):
- `occ files:scan`: "Starting scan for user 1 out of 1 (alice)", then a Symfony table
  `Folders | Files | New | Updated | Removed | Errors | Elapsed time` (older versions:
  `Folders | Files | Elapsed time`); failures print "Unknown user 1 bob", "Path not found: …",
  "Exception during scan: …", "Home storage for user … not writable"; a locked scan prints
  "Another process is already scanning '…'" and counts no error.
- `occ memories:index`: "User bob not found", a missing folder, or an exception message.
- `photoprism index`: logrus lines `LEVEL[secs] message`; `ERRO`/`FATA` lines are failures,
  "indexed N files in …" the summary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from shared.executors import CommandResult

OK, RETRY, PERMANENT = "ok", "retry", "permanent"

_BUSY = re.compile(r"another process is already scanning|already (?:running|in progress)|"
                   r"indexing already", re.I)
_NEXTCLOUD_PERMANENT = re.compile(r"^(Unknown user .*|Path not found.*|User .* not found|"
                                  r"Folder .*not found.*|Group .* not found)$", re.M)
_NEXTCLOUD_TRANSIENT = re.compile(r"^(Exception (?:during|while) scan.*|Error while scanning.*|"
                                  r"Home storage for user .*)$", re.M)
_LOGRUS = re.compile(r"^(ERRO|FATA|PANI)\[[^\]]*\]\s*(.*)$", re.M)
_PHOTOPRISM_MISSING = re.compile(r"does not exist|not found|no such file", re.I)
_INDEXED = re.compile(r"indexed (\d+) files?", re.I)


@dataclass(frozen=True)
class ScanOutcome:
    """How one app command went: ok, retry later, or permanent; with the parsed counts."""

    status: str
    message: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    exit_code: int = 0

    @property
    def ok(self) -> bool:
        return self.status == OK


def command_outcome(result: CommandResult) -> ScanOutcome:
    """A generic command: its exit code is the whole truth."""
    if result.ok:
        return ScanOutcome(OK, exit_code=0)
    return ScanOutcome(RETRY, _tail(result.stderr or result.stdout), exit_code=result.exit_code)


def summary_table(text: str) -> dict[str, int]:
    """The numeric cells of the last Symfony table, keyed by lower-case header."""
    rows = [line for line in text.splitlines() if line.startswith("|")]
    if len(rows) < 2:
        return {}
    headers = [cell.strip().lower() for cell in rows[-2].strip("|").split("|")]
    values = [cell.strip() for cell in rows[-1].strip("|").split("|")]
    return {h: int(v) for h, v in zip(headers, values, strict=False) if v.isdigit()}


def files_scan_outcome(result: CommandResult) -> ScanOutcome:
    text = result.stdout + "\n" + result.stderr
    counts = summary_table(result.stdout)
    if result.exit_code != 0:
        return ScanOutcome(RETRY, _tail(text), counts, result.exit_code)
    if busy := _BUSY.search(text):
        return ScanOutcome(RETRY, _line_of(text, busy.start()), counts)
    if permanent := _NEXTCLOUD_PERMANENT.search(text):
        return ScanOutcome(PERMANENT, permanent.group(1), counts)
    if transient := _NEXTCLOUD_TRANSIENT.search(text):
        return ScanOutcome(RETRY, transient.group(1), counts)
    if counts.get("errors", 0) > 0:
        return ScanOutcome(RETRY, f"files:scan counted {counts['errors']} errors", counts)
    if not counts:
        return ScanOutcome(RETRY, "files:scan printed no summary table: " + _tail(text), counts)
    return ScanOutcome(OK, "", counts)


def memories_outcome(result: CommandResult) -> ScanOutcome:
    text = result.stdout + "\n" + result.stderr
    if result.exit_code != 0:
        return ScanOutcome(RETRY, _tail(text), {}, result.exit_code)
    if permanent := _NEXTCLOUD_PERMANENT.search(text):
        return ScanOutcome(PERMANENT, permanent.group(1))
    return ScanOutcome(OK)


def photoprism_outcome(result: CommandResult) -> ScanOutcome:
    text = result.stdout + "\n" + result.stderr
    indexed = _INDEXED.findall(text)
    counts = {"indexed": int(indexed[-1])} if indexed else {}
    if result.exit_code != 0:
        return ScanOutcome(RETRY, _tail(text), counts, result.exit_code)
    if busy := _BUSY.search(text):
        return ScanOutcome(RETRY, _line_of(text, busy.start()), counts)
    errors = _LOGRUS.findall(text)
    if errors:
        counts["errors"] = len(errors)
        message = errors[0][1]
        status = PERMANENT if _PHOTOPRISM_MISSING.search(message) else RETRY
        return ScanOutcome(status, message, counts)
    return ScanOutcome(OK, "", counts)


def _line_of(text: str, at: int) -> str:
    start = text.rfind("\n", 0, at) + 1
    end = text.find("\n", at)
    return text[start:end if end >= 0 else None].strip()


def _tail(text: str, limit: int = 500) -> str:
    return text.strip()[-limit:]
