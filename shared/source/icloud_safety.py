"""Whether icloudpd may delete from iCloud on this fetch: only when every file it would delete
has a verified copy recorded.

What icloudpd 1.32.3 deletes with `--keep-icloud-recent-days N` (icloudpd/base.py,
`core_single_run`): each asset it goes through that passes its filters and whose iCloud
creation date is N days old or more, `(now - item.created).days >= N`, whether or not it is
still here. The date is the one it gave the file: it sets a download's mtime to the asset's
creation date (icloudpd/download.py, `update_mtime`). So the files at risk are those whose
mtime is N days old or more; each must be recorded (P:files:<source>) with that size and mtime
as a verified copy with its destination ("verified", "ingested"), or as a duplicate of content
the library already holds. The user's exclude patterns are not applied here: an excluded file
is never carried, so the asset behind it must not be deleted either.

The horizon is moved earlier by a margin: icloudpd reads its clock when it runs, up to
fetch_timeout after this check, and gives mtimes in local time (an hour off across a change of
summer time).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from shared.config import SourceConfig
from shared.media import IgnoreRules
from shared.source.walk import Entry, walk_source
from shared.state import FileRecord, RedisStateStore

DAY = 86400.0
SUMMER_TIME = 3600.0
VERIFIED_STATES = frozenset({"verified", "ingested"})
RECORDS_PER_CALL = 10_000


@dataclass(frozen=True)
class DeleteCheck:
    """The files older than `days` days that are not safe yet: how many, and the first."""

    days: int
    unsafe: int = 0
    first: str = ""  # its absolute path
    checked: int = 0  # files old enough to be deleted, safe or not

    @property
    def safe(self) -> bool:
        return self.unsafe == 0

    def line(self) -> str:
        return (f"not deleting from iCloud yet: {self.unsafe} files older than {self.days} days "
                f"not verified yet (first: {self.first})")


def is_safe(record: FileRecord | None, entry: Entry) -> bool:
    """A verified copy of this very version (same size and mtime), or a duplicate of one."""
    if record is None or not entry.is_regular:
        return False
    if (record.size, record.mtime_ns) != (entry.size, entry.mtime_ns):
        return False  # changed since it was recorded: this version was never verified
    if record.state in VERIFIED_STATES:
        return bool(record.dest)
    return record.state == "duplicate"


def check_icloud_delete(store: RedisStateStore, source: SourceConfig, days: int,
                        margin: float = SUMMER_TIME, now: float | None = None) -> DeleteCheck:
    """Whether every file of `source` that icloudpd would delete with
    `--keep-icloud-recent-days days` is safe; `margin` seconds earlier than the exact age."""
    now = time.time() if now is None else now
    horizon_ns = int((now - days * DAY + margin) * 1e9)
    rules = IgnoreRules(include=source.include)  # excludes not applied (module docstring)
    old = sorted((e for e in walk_source(source.path, rules) if e.mtime_ns <= horizon_ns),
                 key=lambda e: e.rel_path)
    unsafe: list[Entry] = []
    for start in range(0, len(old), RECORDS_PER_CALL):
        chunk = old[start:start + RECORDS_PER_CALL]
        records = store.get_records(source.name, [e.rel_path for e in chunk])
        unsafe += [e for e in chunk if not is_safe(records.get(e.rel_path), e)]
    first = str(source.path / unsafe[0].rel_path) if unsafe else ""
    return DeleteCheck(days=days, unsafe=len(unsafe), first=first, checked=len(old))
