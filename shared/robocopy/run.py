"""Running robocopy through a CommandExecutor and turning what it says into a report or an error.

    report = run_robocopy(RobocopyOptions(r"D:\\Photos", r"\\\\NAS\\photo"), LocalExecutor())

The command runs wherever the executor runs it: `LocalExecutor` on the Windows worker itself
(robocopy.exe is part of Windows). Exit codes 0-7 give a `RobocopyReport`; 8 and above raise
(see `failure_of`): a job robocopy could not start is permanent unless the output shows the
network or a full disk, which pass; files robocopy gave up on are retryable unless every one
failed for a reason no retry fixes (access denied, bad name, path too long).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from shared.errors import (
    CommandTimedOut,
    DestinationFull,
    MediacourierError,
    RobocopyFatal,
    RobocopyFilesFailed,
    RobocopyFilesRefused,
    TargetUnreachable,
)
from shared.executors import CommandExecutor, CommandResult, LocalExecutor
from shared.robocopy.command import RobocopyOptions, build_command
from shared.robocopy.exit_codes import RobocopyExit
from shared.robocopy.parse import FileError, Summary, parse_output

DEFAULT_TIMEOUT = 6 * 3600.0

# Windows system error codes robocopy prints as `ERROR <code> (0x...)`.
NETWORK_ERRORS = frozenset({51, 53, 59, 64, 65, 67, 121, 1231})
DISK_FULL_ERRORS = frozenset({39, 112})
# Errors another try cannot fix: access denied, file/path not found (the source moved away),
# invalid name, path too long, logon failure.
PERMANENT_ERRORS = frozenset({2, 3, 5, 123, 206, 1326})


@dataclass(frozen=True)
class RobocopyReport:
    argv: tuple[str, ...]
    exit: RobocopyExit
    summary: Summary | None
    file_errors: tuple[FileError, ...]
    dry_run: bool
    seconds: float
    stderr: str = ""
    updated_files: int = 0  # replaced rather than new, when robocopy's tags were readable
    job_errors: tuple[str, ...] = ()  # robocopy's "ERROR : ..." lines about the whole job

    @property
    def ok(self) -> bool:
        return self.exit.ok

    @property
    def failed_files(self) -> tuple[FileError, ...]:
        """The errors robocopy gave up on ("RETRY LIMIT EXCEEDED"); when it never said so
        (older versions, /R:0) every error counts. A file that failed and then copied on a
        retry is left out, and a run whose exit code has no failure bit has none."""
        if not (self.exit.failed or self.exit.fatal):
            return ()
        final = tuple(error for error in self.file_errors if error.gave_up)
        return final or self.file_errors

    @property
    def message(self) -> str:
        """One line: the exit code's meaning, the file counts, the first failed file."""
        parts = [self.exit.message]
        if self.job_errors:
            parts.append(self.job_errors[0])
        files = self.summary.files if self.summary else None
        if files:
            parts.append(f"files: {files.copied} copied, {files.skipped} skipped, "
                         f"{files.failed} failed, {files.extras} extra of {files.total}")
        if self.failed_files:
            first = self.failed_files[0]
            more = f" (+{len(self.failed_files) - 1} more)" if len(self.failed_files) > 1 else ""
            parts.append(f"error {first.code} on {first.path or first.action}: "
                         f"{first.message}{more}")
        if self.dry_run:
            parts.append("dry run (/L): nothing changed")
        return "; ".join(parts)


def run_robocopy(options: RobocopyOptions, executor: CommandExecutor,
                 timeout: float = DEFAULT_TIMEOUT, check: bool = True,
                 read_log: bool | None = None) -> RobocopyReport:
    """Run one robocopy job. With `check`, an exit code of 8 or more raises the error
    `failure_of` names (it carries the report as `.report`); otherwise the report is returned
    whatever the code, for callers that record per-file failures themselves.

    Robocopy writes its console output in the OEM code page, so names with accents can come
    out garbled; its /UNILOG file is UTF-16. When this process can read that log (`read_log`;
    by default: on Windows with the LocalExecutor), the part this run appended is parsed
    instead of the console output."""
    argv = build_command(options)
    if read_log is None:
        read_log = os.name == "nt" and isinstance(executor, LocalExecutor)
    log = Path(options.validated().unicode_log) if read_log and options.unicode_log else None
    offset = _size(log)
    result = executor.run(argv, timeout)
    text = _appended_text(log, offset) if log else ""
    report = report_from(result, dry_run=options.dry_run, text=text or None)
    error = failure_of(report)
    if check and error is not None:
        raise error
    return report


def report_from(result: CommandResult, dry_run: bool, text: str | None = None) -> RobocopyReport:
    """The report for one run; `text` (the run's part of the Unicode log) replaces stdout."""
    parsed = parse_output(result.stdout if text is None else text)
    return RobocopyReport(result.argv, RobocopyExit(result.exit_code), parsed.summary,
                          parsed.file_errors, dry_run, result.seconds, result.stderr.strip(),
                          parsed.updated_files, parsed.job_errors)


def failure_of(report: RobocopyReport) -> MediacourierError | None:
    """The error a failed run maps to, or None for exit codes 0-7."""
    if report.ok:
        return None
    codes = {error.code for error in report.failed_files}
    where = f"robocopy {_short(report.argv)}"
    if report.exit.code < 0:  # the executor could not run it or stopped it
        if "timed out" in report.stderr:
            return CommandTimedOut(f"{where}: {report.stderr}")
        return RobocopyFatal(f"{where}: {report.stderr or 'could not be started'}", report)
    if codes & DISK_FULL_ERRORS:
        return DestinationFull(f"{where}: the destination is full; {report.message}")
    if codes & NETWORK_ERRORS and (report.exit.fatal or codes <= NETWORK_ERRORS):
        return TargetUnreachable(f"{where}: network path unreachable; {report.message}")
    if report.exit.fatal:
        return RobocopyFatal(f"{where}: {report.message}", report)
    if codes and codes <= PERMANENT_ERRORS:
        return RobocopyFilesRefused(f"{where}: {report.message}", report)
    return RobocopyFilesFailed(f"{where}: {report.message}", report)


def _short(argv: Iterable[str]) -> str:
    args = list(argv)
    return " ".join(args[1:3]) if len(args) >= 3 else " ".join(args)


def _size(path: Path | None) -> int:
    try:
        return path.stat().st_size if path else 0
    except OSError:
        return 0


def _appended_text(path: Path, offset: int) -> str:
    """What the run added to a UTF-16 (/UNILOG+) log; "" when it cannot be read."""
    try:
        with path.open("rb") as handle:
            handle.seek(offset - offset % 2)
            data = handle.read()
    except OSError:
        return ""
    if data.startswith(b"\xff\xfe"):
        data = data[2:]
    return data.decode("utf-16-le", errors="replace")
