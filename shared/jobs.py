"""`FileJob`: the frozen, JSON-serialisable record that travels from stage to stage."""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from typing import Any


class Outcome(enum.StrEnum):
    """Where a job has got to. Terminal outcomes end the chain; the runner skips later stages."""

    PENDING = "pending"
    HASHED = "hashed"
    CLAIMED = "claimed"
    TRANSFERRED = "transferred"
    VERIFIED = "verified"
    INGESTED = "ingested"
    DUPLICATE = "duplicate"
    SKIPPED = "skipped"
    FAILED = "failed"
    EMPTY = "empty"  # a zero-byte media file: held in the source, never carried

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL


_TERMINAL = {Outcome.INGESTED, Outcome.DUPLICATE, Outcome.SKIPPED, Outcome.FAILED, Outcome.EMPTY}


@dataclass(frozen=True)
class FileJob:
    """One file version on its way from a source into a library.

    `rel_path` is relative to the source root and uses '/' separators. `size` and `mtime_ns`
    identify the version that was enqueued; a stage that finds another version on disk stops.

    `dev`, `inode`, `size`, `mtime_ns` and `ctime_ns` are the source's identity when its content
    was proven; nothing removes the source unless it still has exactly that identity. After a
    hard-linked placement `ctime_ns` is the one after our link (linking moves the shared inode's
    ctime; the link's read-back then proves the content again). `placed_*` name the library file
    this job put in place (0: not known, e.g. on an SSH target): only that very file, untouched
    since, is ever removed again. Every field has a default, so messages of older versions decode.
    """

    source: str
    rel_path: str
    size: int = -1
    mtime_ns: int = -1
    queued_version: str = ""
    inode: int = 0
    dev: int = 0
    ctime_ns: int = 0
    placed_dev: int = 0
    placed_ino: int = 0
    placed_ctime_ns: int = 0
    sha256: str = ""
    copy_check: str = ""
    outcome: Outcome = Outcome.PENDING
    dest_path: str = ""
    duplicate_of: str = ""
    reason: str = ""
    copied: bool = False
    date_source: str = ""  # which capture date placed it (a DateSource); "" when none was read
    started_at: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    hosts: dict[str, str] = field(default_factory=dict)

    @property
    def owner(self) -> str:
        """Who claims the content: this file version (the same across re-runs of its job)."""
        return f"{self.source}/{self.rel_path}@{self.size}:{self.mtime_ns}"

    def evolve(self, **changes: Any) -> FileJob:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["outcome"] = str(self.outcome)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FileJob:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"FileJob has no fields {sorted(unknown)}")
        values = dict(data)
        values["outcome"] = Outcome(values.get("outcome", Outcome.PENDING))
        return cls(**values)
