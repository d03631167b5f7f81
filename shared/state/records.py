"""A file's record in `P:files:<source>` (store.py): one source file version, as the store
knows it, and the mark of its journaled outcome."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

SEP = "\t"


@dataclass(frozen=True)
class FileRecord:
    """What the store knows about one source file version."""

    size: int
    mtime_ns: int
    inode: int = 0
    sha256: str = ""
    state: str = "seen"
    dest: str = ""
    date_source: str = ""  # where the capture date that placed it came from (a DateSource)

    def encode(self) -> str:
        # State, size and mtime first: reconcile compares that prefix without a full parse.
        fields = (self.state, self.size, self.mtime_ns, self.inode, self.sha256, self.dest)
        # The date source after a NUL, which no path holds: a dest with a tab still decodes.
        dated = f"\0{self.date_source}" if self.date_source else ""
        return SEP.join(str(f) for f in fields) + dated

    def outcome_mark(self) -> str:
        """What says this version's outcome is journaled (the value of `P:outcome:…`), "" for
        an outcome that may be journaled again (a failure, a skip). The inode tells a message
        delivered again (the version it carries) from new bytes that arrived under the same
        name, size and mtime. A digest: one is kept per file for a while, so its bytes count."""
        if self.state not in ("ingested", "duplicate"):
            return ""
        version = f"{self.size}:{self.mtime_ns}:{self.inode}:{self.sha256}:{self.state}"
        return hashlib.blake2b(version.encode(), digest_size=10).hexdigest()

    @classmethod
    def decode(cls, raw: str) -> FileRecord:
        state, size, mtime, inode, sha, dest = raw.split(SEP, 5)
        dest, _, dated = dest.partition("\0")
        return cls(int(size), int(mtime), int(inode), sha, state, dest, dated)
