"""The one exception tree of mediacourier.

Tasks only care about the split between `RetryableError` (try again later, with backoff) and
`PermanentError` (record the failure with its reason, never retry). Skips and duplicates are
results (see `shared.jobs.Outcome`), not exceptions.
"""

from __future__ import annotations


class MediacourierError(Exception):
    """Raised when mediacourier itself detects a problem; the root of every error here."""


class ConfigError(MediacourierError):
    """Raised when the configuration file or environment is invalid; names the key or folder."""


class RetryableError(MediacourierError):
    """Raised when a stage failed for a reason that may pass: retry with backoff."""


class FileBusy(RetryableError):
    """Raised when a file is still changing or locked while a stage reads or writes it."""


class StoreUnavailable(RetryableError):
    """Raised when the Redis state store cannot be reached."""


class CommandFailed(RetryableError):
    """Raised when a rescan command exits non-zero or times out."""


class DestinationFull(RetryableError):
    """Raised when the destination has no space left; the source is left untouched."""


class PermanentError(MediacourierError):
    """Raised when a stage can never succeed for this file: record the reason, do not retry."""


class PathRefused(PermanentError):
    """Raised when a task argument names a path outside every configured source."""


class SourceVanished(PermanentError):
    """Raised when the source file no longer exists when a stage needs it."""


class SourceUnreadable(PermanentError):
    """Raised when the source cannot be read: permissions, not a regular file, I/O error."""


class HashMismatch(PermanentError):
    """Raised when a copy still differs from its source after the allowed number of tries."""


class UnknownSource(PermanentError):
    """Raised when a task names a source that is not in the configuration."""


class TargetUnreachable(RetryableError):
    """Raised when a transfer target cannot be reached (network down, SSH refused, timeout)."""


class TargetRefused(PermanentError):
    """Raised when a target rejects us for good: failed authentication or an unknown host key."""


class DestinationExists(PermanentError):
    """Raised when an upload without replace finds its final name already taken."""
