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


class LeaseHeld(FileBusy):
    """Raised when another live worker holds the file's (or the job's) lease: the message is
    a second delivery of work that is already under way, and ends quietly (no retry); if the
    holder dies, the in-flight sweeper sends the file again."""


class LeaseLost(FileBusy):
    """Raised when a lease this worker held ran out or was taken over while it worked (its
    heartbeat could not renew it in time): it stops before its next durable step."""


class StoreUnavailable(RetryableError):
    """Raised when the Redis state store cannot be reached."""


class CommandFailed(RetryableError):
    """Raised when a rescan command exits non-zero or times out."""


class DestinationFull(RetryableError):
    """Raised when the destination has no space left; the source is left untouched."""


class WriteBackFailed(RetryableError):
    """Raised when the filesystem reports a write-back error (syncfs or fsync: EIO and the like)
    while copies are made durable: they may exist only in the page cache, so they are discarded
    and their sources kept; a later try copies them again."""


class ContentClaimed(RetryableError):
    """Raised when identical content is being imported by another job that is still at work:
    this one waits for that job's outcome (a hold like paused work, using up no retry), then
    becomes its duplicate or takes the content over. `countdown`: seconds until it looks again."""

    def __init__(self, message: str, countdown: float = 5.0) -> None:
        super().__init__(message)
        self.countdown = countdown


class SetPartnerPending(ContentClaimed):
    """Raised when a member of a set (a Live Photo's video, the JPEG of a RAW+JPEG pair, a
    sidecar) waits for the first of its set (its image) to land, whose stem and folder it takes:
    a short fixed wait like a twin's, using up no retry. Not raised once that first was given
    up as it is (failed, skipped, empty): the member then lands alone, a sidecar retries."""


class TakeoutJsonPending(ContentClaimed):
    """Raised when a photo or video of a Takeout export arrived moments ago and its JSON (its
    capture date, its place) is not beside it yet: an extraction writes the file, then its
    JSON. A short fixed wait like a set partner's, using up no retry; once the file is
    TAKEOUT_JSON_GRACE seconds old it is placed without one (many Takeout files have none)."""


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


class RobocopyFilesFailed(RetryableError):
    """Raised when robocopy gave up on some files for reasons that may pass (locked, network)."""

    def __init__(self, message: str, report: object = None) -> None:
        super().__init__(message)
        self.report = report


class RobocopyFilesRefused(PermanentError):
    """Raised when robocopy gave up on some files for reasons a retry cannot fix (access denied,
    invalid name, path too long)."""

    def __init__(self, message: str, report: object = None) -> None:
        super().__init__(message)
        self.report = report


class RobocopyFatal(PermanentError):
    """Raised when robocopy could not run the job at all (exit bit 16: bad option, no access to
    source or destination, executable missing)."""

    def __init__(self, message: str, report: object = None) -> None:
        super().__init__(message)
        self.report = report


class DestinationExists(PermanentError):
    """Raised when a destination name is already taken and the caller said not to overwrite."""


class MirrorRefused(PermanentError):
    """Raised when a mirror would delete more than its guard allows and --force was not given."""


class UnknownMirror(PermanentError):
    """Raised when a task or command names a mirror that is not in the configuration."""


class TargetUnreachable(RetryableError):
    """Raised when a target cannot be reached: network down, SSH refused, a timeout, or a local
    target's folder missing (a disk not mounted)."""


class ExecutorUnreachable(RetryableError):
    """Raised when a command executor cannot reach its Docker engine or SSH host."""


class CommandTimedOut(RetryableError):
    """Raised when a command (local, in a container or over SSH) outlives its timeout."""


class ContainerMissing(PermanentError):
    """Raised when no running container matches an executor's name, label or service."""


class RescanRefused(PermanentError):
    """Raised when a photo app refuses a rescan for good: unknown user, path not found."""


class TargetRefused(PermanentError):
    """Raised when a target rejects us for good: failed authentication or an unknown host key."""


class WorkPaused(RetryableError):
    """Raised (only to tell Celery to re-schedule) when a task's source or target is paused."""


class RepairImpossible(PermanentError):
    """Raised when a file cannot be restored from a backup: no mirror holds a copy whose sha256
    is the indexed one, or the target's kind cannot be read back file by file."""


class UnknownConflict(PermanentError):
    """Raised when `resolve` names a path that is not in conflict on that mirror, or a policy
    that the conflict's kind cannot take."""


class BackupFailed(RetryableError):
    """Raised when restic or rclone exits with an error that may pass: the repository or remote
    cannot be reached, is locked by a live run, or the command was cut short."""


class BackupRefused(PermanentError):
    """Raised when a backup repository rejects us for good: a wrong password, no repository at
    the configured place, a snapshot that does not exist, or a restore folder that is not empty."""


class CompressFailed(PermanentError):
    """Raised when a compressed copy cannot be made or fails its check (it does not decode, or
    its dimensions or duration differ from the original's): the copy is removed, the original
    is left as it was."""


class FetchFailed(RetryableError):
    """Raised when a source's fetch step (icloudpd) failed for a reason that may pass: Apple
    throttling or unreachable, the network down, the run cut short by its timeout."""
