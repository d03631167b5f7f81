"""Whether a duplicate's outcome was journaled, for the sweeper and a reconcile.

A move's duplicate is recorded ('duplicate') before its source is deleted, and journaled after
(shared/ingest/duplicates.py, recording.py): a delivery that died in between leaves the record
and no journal entry. The outcome mark `P:outcome:…` written with the journal entry tells the
two apart while it lives; the in-flight marker, cleared in the same transaction, tells them
apart after it expired. A file left so is sent again: its next delivery journals the duplicate
(`hash_file`: source gone, record 'duplicate', no mark).
"""

from __future__ import annotations

from shared.state import FileRecord


def duplicate_unjournaled(record: FileRecord | None, mark: str, size: int,
                          mtime_ns: int) -> bool:
    """This version is recorded as a duplicate and no journal entry of it is marked."""
    return (record is not None and record.state == "duplicate"
            and (record.size, record.mtime_ns) == (size, mtime_ns)
            and mark != record.outcome_mark())
