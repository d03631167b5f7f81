"""Named crash points before and after every durable step, for the crash tests.

In the style of SQLite's and restic's fault injection: a test arms one point by name through
the environment (`MEDIACOURIER_CRASH_AT=<name>`, optionally `<name>:<n>` for the n-th time
the point is reached in the process), and the process dies right there with `os._exit`, as a
SIGKILL or a power cut would: no `finally`, no flush, no atexit. With nothing armed a point
costs one dictionary look-up. `MEDIACOURIER_CRASH_FILE=<file name>` narrows the points that
name the file they work on to that file (a poison file among good ones); `:<n>` then counts
the times the point is reached for that file.

The points of the ingest path, in order (see POINTS): a copy's temp file written and fsynced,
linked to its final name, the folder fsynced, the verified record written, the source renamed
aside, the source unlinked, the outcome recorded, the library index updated.
"""

from __future__ import annotations

import os
import sys

ENV = "MEDIACOURIER_CRASH_AT"
FILE_ENV = "MEDIACOURIER_CRASH_FILE"
EXIT_CODE = 86  # what a crashed process exits with, so a test can tell it from a failure

POINTS = (
    "temp-written",       # the copy's bytes are in its temp file, not yet fsynced
    "temp-fsynced",       # the temp file is durable, not yet linked to its final name
    "linked",             # the final name exists (link or rename), its folder not yet fsynced
    "folder-fsynced",     # the final name is durable
    "verified-recorded",  # the record says verified, the source is still in place
    "source-renamed",     # the source is renamed aside for its release, not yet unlinked
    "source-unlinked",    # the source is gone, the outcome not yet recorded
    "outcome-recorded",   # the record says ingested/duplicate, the library index not yet
    "index-updated",      # the library index names the new file
)

_reached: dict[str, int] = {}


def _armed() -> tuple[str, int] | None:
    value = os.environ.get(ENV, "")
    if not value:
        return None
    name, _, nth = value.partition(":")
    return name, int(nth) if nth.isdigit() else 1


def crash_point(name: str, subject: str = "") -> None:
    """Die here if the environment arms this point (for the n-th time it is reached), and
    `subject`, the path the point works on, is the armed file (when one is armed)."""
    armed = _armed()
    if armed is None or armed[0] != name:
        return
    only = os.environ.get(FILE_ENV, "")
    if only and os.path.basename(subject) != only:
        return
    _reached[name] = _reached.get(name, 0) + 1
    if _reached[name] == armed[1]:
        sys.stderr.write(f"mediacourier: crash point {name!r} reached; exiting\n")
        sys.stderr.flush()
        os._exit(EXIT_CODE)
