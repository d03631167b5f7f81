"""Robocopy's exit code, read as the bitmask it is.

Bits 1, 2 and 4 describe a run that worked (files copied, extras seen, mismatches seen); bit 8
means some files could not be copied within the retry limit and bit 16 a fatal error (bad
option, source or destination unreachable): anything at or above 8 is a failure. Exit codes
are 0-31; anything else (or a negative code from an executor that could not run the command)
is treated as fatal.
"""

from __future__ import annotations

from dataclasses import dataclass

COPIED = 1
EXTRAS = 2
MISMATCHED = 4
FAILED = 8
FATAL = 16

_FLAG_WORDS = (
    (COPIED, "files copied"),
    (EXTRAS, "extra files or folders in the destination"),
    (MISMATCHED, "mismatched files or folders"),
    (FAILED, "some files could not be copied"),
    (FATAL, "fatal error, nothing was copied"),
)


@dataclass(frozen=True)
class RobocopyExit:
    code: int

    @property
    def copied(self) -> bool:
        return self._bit(COPIED)

    @property
    def extras(self) -> bool:
        return self._bit(EXTRAS)

    @property
    def mismatched(self) -> bool:
        return self._bit(MISMATCHED)

    @property
    def failed(self) -> bool:
        return self._bit(FAILED)

    @property
    def fatal(self) -> bool:
        return not 0 <= self.code <= 31 or self._bit(FATAL)

    @property
    def ok(self) -> bool:
        return 0 <= self.code < FAILED

    @property
    def flags(self) -> tuple[str, ...]:
        """The names of the bits that are set, smallest first (e.g. ``("copied", "extras")``)."""
        names = ("copied", "extras", "mismatched", "failed", "fatal")
        return tuple(name for name in names if getattr(self, name))

    @property
    def message(self) -> str:
        """One line for people: what the code says happened."""
        if not 0 <= self.code <= 31:
            return f"robocopy exit code {self.code}: not a robocopy result (did it run?)"
        if self.code == 0:
            return "robocopy exit code 0: nothing to copy, source and destination already agree"
        words = [word for bit, word in _FLAG_WORDS if self.code & bit]
        verdict = "failed" if not self.ok else "ok"
        return f"robocopy exit code {self.code} ({verdict}): " + "; ".join(words)

    def _bit(self, bit: int) -> bool:
        return 0 <= self.code <= 31 and bool(self.code & bit)
