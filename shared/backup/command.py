"""Running restic or rclone: argv without secrets, the environment with them, JSON lines read
as they come, and the child never outliving its caller (an interrupted run stops it)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

from shared.errors import BackupFailed

STOP_GRACE = 15.0  # seconds a child has to clean up (restic removes its lock) after SIGINT


@dataclass(frozen=True)
class Completed:
    code: int
    stdout: str
    stderr: str

    def last_error(self) -> str:
        """The last meaningful stderr line (the tools print the reason last)."""
        lines = [line.strip() for line in self.stderr.splitlines() if line.strip()]
        for line in reversed(lines):
            text = _json_message(line)
            if text:
                return text
        return f"exit status {self.code}"


def _json_message(line: str) -> str:
    if not line.startswith("{"):
        return line
    try:
        data = json.loads(line)
    except ValueError:
        return line
    if data.get("level") in ("error", "critical") or data.get("message_type") == "error":
        return str(data.get("msg") or data.get("error", {}).get("message") or line)
    return ""


def run_tool(argv: Sequence[str], env: Mapping[str, str], what: str,
             on_line: Callable[[dict[str, Any]], None] | None = None, cwd: str | None = None,
             timeout: float | None = None, ok: tuple[int, ...] = (0,)) -> Completed:
    """Run argv; each JSON object it prints (stdout for restic, stderr for rclone's JSON log)
    goes to `on_line` as it arrives. BackupFailed when it cannot start, times out or exits
    with a code not in `ok` (a caller that knows the reasons better allows the code and maps
    the returned Completed itself)."""
    try:
        proc = subprocess.Popen(list(argv), env=dict(env), cwd=cwd, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                errors="replace", start_new_session=True)
    except OSError as exc:
        raise BackupFailed(f"{what}: cannot run {argv[0]}: {exc.strerror or exc}") from None
    assert proc.stdout is not None and proc.stderr is not None
    out: list[str] = []
    err: list[str] = []
    # Both pipes drained at once: a child blocked on a full stderr would never finish stdout.
    readers = [threading.Thread(target=_drain, args=(pipe, sink, on_line), daemon=True)
               for pipe, sink in ((proc.stdout, out), (proc.stderr, err))]
    try:
        for reader in readers:
            reader.start()
        proc.wait(timeout=timeout)
        for reader in readers:
            reader.join()
    except subprocess.TimeoutExpired:
        _stop(proc)
        raise BackupFailed(f"{what}: {argv[0]} did not finish within {timeout:g} s") from None
    finally:
        _stop(proc)
    done = Completed(proc.returncode, "".join(out), "".join(err))
    if done.code not in ok:
        raise BackupFailed(f"{what}: {done.last_error()}")
    return done


def _drain(pipe: IO[str], sink: list[str],
           on_line: Callable[[dict[str, Any]], None] | None) -> None:
    for line in pipe:
        sink.append(line)
        if on_line is not None and line.startswith("{"):
            try:
                data = json.loads(line)
            except ValueError:
                continue  # a partial or non-JSON line: progress only, never the result
            if isinstance(data, dict):
                try:
                    on_line(data)
                except Exception:  # noqa: BLE001 - a progress hook's failure never stops a run
                    continue


def _stop(proc: subprocess.Popen[str]) -> None:
    """An interrupted caller (a time limit, Ctrl-C) stops the child the way restic expects:
    SIGINT first, so it removes its lock; SIGKILL only if it does not end in time."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=STOP_GRACE)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


_STAMP = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$")


def mtime_ns(stamp: str) -> int:
    """Nanoseconds since the epoch from RFC 3339 with up to nine fraction digits (restic and
    rclone both keep a file's full mtime; Python's datetime would drop the last three)."""
    match = _STAMP.match(stamp.strip())
    if match is None:
        return 0
    zone = "+00:00" if match.group(3) == "Z" else match.group(3)
    whole = datetime.fromisoformat(match.group(1) + zone).astimezone(UTC)
    fraction = (match.group(2) or "0")[:9].ljust(9, "0")
    return int(whole.timestamp()) * 1_000_000_000 + int(fraction)
