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


def journaled_mark(record: FileRecord) -> str:
    """The mark the record stage writes with the journal entry of this record's outcome:
    shared.ingest.recording.outcome_mark (not imported: that would load the whole ingest
    package into the watcher; tests/shared/source/test_outcomes.py holds the two equal)."""
    return f"{record.size}:{record.mtime_ns}:{record.inode}:{record.sha256}:{record.state}"


def duplicate_unjournaled(record: FileRecord | None, mark: str, size: int,
                          mtime_ns: int) -> bool:
    """This version is recorded as a duplicate and no journal entry of it is marked."""
    return (record is not None and record.state == "duplicate"
            and (record.size, record.mtime_ns) == (size, mtime_ns)
            and mark != journaled_mark(record))
