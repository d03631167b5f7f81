"""The space report of a repository after a run: what it grew by, what it stores, what
deduplication and compression saved.

restic 0.14's `stats` gives three views: `raw-data` the bytes stored (compressed, encrypted),
`blobs-per-file` the distinct content before compression, `restore-size` the files of every
snapshot as restored. Deduplication saved restore-size − distinct; compression's ratio is
distinct / stored.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from shared.backup.repository import SpaceReport


def _stat(stats: Callable[..., str], mode: str) -> dict[str, Any]:
    try:
        data = json.loads(stats("stats", "--json", "--mode", mode))
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def restic_space(stats: Callable[..., str], added: int) -> SpaceReport:
    """`stats(*args)` runs restic with those arguments and returns its stdout."""
    raw = _stat(stats, "raw-data")
    unique = _stat(stats, "blobs-per-file")
    logical = _stat(stats, "restore-size")
    return SpaceReport(added=added, stored=int(raw.get("total_size", 0)),
                       logical=int(logical.get("total_size", 0)),
                       unique=int(unique.get("total_size", 0)),
                       files=int(logical.get("total_file_count", 0)))


def rclone_space(size_json: str, added: int) -> SpaceReport:
    """From `rclone size --json`: a copy stores its files as they are (a crypt remote adds a
    few bytes per file; sizes are the decrypted ones)."""
    try:
        data = json.loads(size_json)
    except ValueError:
        data = {}
    return SpaceReport(added=added, stored=int(data.get("bytes", 0)), logical=0, unique=0,
                       files=int(data.get("count", 0)))
