"""A `[targets.X] kind = "robocopy"` target and the whole-tree mirror step that uses it.

The coupling with the mirror job is kept to two things: `parse_robocopy_target` (the targets
parser calls it for the robocopy kind with the raw TOML table) and `mirror_with_robocopy`,
which runs `robocopy SOURCE ROOT /MIR ...` on the Windows worker and returns a
`MirrorStepSummary` with the counts every mirror run reports (copied, updated, deleted,
skipped, failed, bytes, seconds). Robocopy replaces the per-file Destination steps for such
a target: it cannot hash or rename on the destination, so a robocopy mirror detects no
renames and its verification is robocopy's own (size and timestamp).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.errors import ConfigError, RobocopyFilesFailed, RobocopyFilesRefused
from shared.executors import CommandExecutor
from shared.robocopy.command import MAX_THREADS, RobocopyOptions, windows_path
from shared.robocopy.parse import FileError
from shared.robocopy.run import DEFAULT_TIMEOUT, RobocopyReport, failure_of, run_robocopy


@dataclass(frozen=True)
class RobocopyTarget:
    name: str
    root: str  # on the Windows worker: \\NAS\share\photos or Z:\photos
    retries: int = 3
    wait_seconds: int = 5
    threads: int = 8
    fat_times: bool = True
    log_file: str | None = None  # /UNILOG+ on the worker
    executable: str = "robocopy"
    queue: str = ""  # the Celery queue the Windows worker consumes ("" = the default queue)
    timeout_seconds: float = DEFAULT_TIMEOUT


@dataclass(frozen=True)
class MirrorStepSummary:
    """What one mirror run did (or, with dry_run, would do). `copied` counts new files,
    `updated` replaced ones, `deleted` destination extras removed by /MIR."""

    target: str
    dry_run: bool
    copied: int
    updated: int
    deleted: int
    skipped: int
    mismatched: int
    failed: int
    bytes: int
    seconds: float
    failed_files: tuple[FileError, ...]
    message: str


_KEYS = {"kind", "root", "retries", "wait", "threads", "fft", "log", "executable", "queue",
         "timeout"}


def parse_robocopy_target(name: str, data: Mapping[str, Any],
                          where: str = "") -> RobocopyTarget:
    """The `[targets.NAME]` table of a robocopy target; a ConfigError names `where` + key."""
    prefix = f"{where}: " if where else ""
    key = f"targets.{name}"
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise ConfigError(f"{prefix}{key}.{unknown[0]}: unknown key for a robocopy target "
                          f"(known: {', '.join(sorted(_KEYS))})")
    if data.get("kind", "robocopy") != "robocopy":
        raise ConfigError(f"{prefix}{key}.kind: expected \"robocopy\"")

    def integer(field: str, default: int, low: int, high: int) -> int:
        value = data.get(field, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ConfigError(f"{prefix}{key}.{field} = {value!r}: a whole number "
                              f"{low}-{high} is required")
        return value

    def text(field: str, default: str) -> str:
        value = data.get(field, default)
        if not isinstance(value, str):
            raise ConfigError(f"{prefix}{key}.{field} = {value!r}: a string is required")
        return value

    if "root" not in data:
        raise ConfigError(f"{prefix}{key}.root is required (\\\\NAS\\share\\photos or Z:\\photos)")
    try:
        root = windows_path(data["root"], f"{key}.root")
        log = windows_path(data["log"], f"{key}.log") if data.get("log") else None
    except ConfigError as exc:
        raise ConfigError(f"{prefix}{exc}") from None
    fft = data.get("fft", True)
    if not isinstance(fft, bool):
        raise ConfigError(f"{prefix}{key}.fft = {fft!r}: true or false is required")
    timeout = data.get("timeout", DEFAULT_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise ConfigError(f"{prefix}{key}.timeout = {timeout!r}: seconds above 0 are required")
    return RobocopyTarget(
        name=name, root=root, retries=integer("retries", 3, 0, 1000),
        wait_seconds=integer("wait", 5, 0, 3600), threads=integer("threads", 8, 1, MAX_THREADS),
        fat_times=fft, log_file=log, executable=text("executable", "robocopy"),
        queue=text("queue", ""), timeout_seconds=float(timeout))


def mirror_options(source: str, target: RobocopyTarget, dry_run: bool = False,
                   exclude: tuple[str, ...] = ()) -> RobocopyOptions:
    """Options for mirroring `source` (a Windows path on the worker) onto the target's root.
    Patterns ending in `/` or `\\` exclude folders (/XD), the others files (/XF)."""
    dirs = tuple(p.rstrip("/\\") for p in exclude if p.endswith(("/", "\\")))
    files = tuple(p for p in exclude if not p.endswith(("/", "\\")))
    return RobocopyOptions(
        source=source, destination=target.root, mirror=True, exclude_older=True,
        retries=target.retries, wait_seconds=target.wait_seconds, threads=target.threads,
        fat_times=target.fat_times, unicode_log=target.log_file, exclude_files=files,
        exclude_dirs=dirs, dry_run=dry_run, executable=target.executable)


def mirror_with_robocopy(source: str, target: RobocopyTarget, executor: CommandExecutor,
                         dry_run: bool = False,
                         exclude: tuple[str, ...] = ()) -> MirrorStepSummary:
    """Mirror `source` onto the target with /MIR. Files robocopy gave up on are counted and
    listed (one bad file never stops the rest); a run that could not happen at all raises
    (TargetUnreachable, DestinationFull, CommandTimedOut: retry; RobocopyFatal: permanent)."""
    options = mirror_options(source, target, dry_run, exclude)
    report = run_robocopy(options, executor, target.timeout_seconds, check=False)
    error = failure_of(report)
    if error is not None and not isinstance(error, RobocopyFilesFailed | RobocopyFilesRefused):
        raise error
    return summarise(target.name, report)


def summarise(target: str, report: RobocopyReport) -> MirrorStepSummary:
    summary = report.summary
    files = summary.files if summary else None
    size = summary.bytes if summary else None
    failed = files.failed if files else len(report.failed_files)
    copied_all = files.copied if files else 0
    updated = min(report.updated_files, copied_all)
    return MirrorStepSummary(
        target=target, dry_run=report.dry_run, copied=copied_all - updated, updated=updated,
        deleted=files.extras if files else 0, skipped=files.skipped if files else 0,
        mismatched=files.mismatch if files else 0, failed=failed,
        bytes=size.copied if size else 0,
        seconds=summary.times.total if summary and summary.times else report.seconds,
        failed_files=report.failed_files,
        message=report.message if summary else report.message + "; no summary in the output")
