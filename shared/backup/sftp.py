"""restic's sftp reaches the host through `ssh`, and ssh's reasons for failing (an unknown host
key, a refused key, a refused connection) must reach us for certain.

restic relays ssh's stderr from a goroutine, and a second one waits for ssh to exit and then
closes that pipe: when ssh fails fast, the pipe is often closed before its last line was read
(restic then says only "unable to start the sftp session, error: EOF" or "... read |0: file
already closed"). Measured with restic 0.14 and a wrong host key: the "Host key verification
failed." line was missing in 7 of 40 runs on an idle machine. So ssh writes its log to a file
of ours instead (`ssh -E FILE`, appended to by every ssh a restic run starts), read after
restic has exited.
"""

from __future__ import annotations

import os
import shlex
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from shared.config import ResticTarget
from shared.errors import TargetRefused, TargetUnreachable


def ssh_command(target: ResticTarget, log: Path) -> str:
    """The `-o sftp.command=` value: ssh with the host key checked, its log to `log`."""
    argv = ["ssh", "-E", str(log), "-p", str(target.port), "-o", "StrictHostKeyChecking=yes",
            "-o", "BatchMode=yes", "-o", f"ConnectTimeout={int(target.timeout)}",
            "-o", "IdentitiesOnly=yes", "-i", str(target.key_file),
            "-o", f"UserKnownHostsFile={target.known_hosts}", f"{target.user}@{target.host}",
            "-s", "sftp"]
    return " ".join(shlex.quote(part) for part in argv)


@contextmanager
def ssh_log() -> Iterator[Path]:
    """An empty file for one restic run's ssh log, removed afterwards."""
    fd, name = tempfile.mkstemp(prefix="mediacourier-ssh-", suffix=".log")
    os.close(fd)
    try:
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)


def ssh_failure(log_text: str, where: str) -> Exception | None:
    """The error ssh's own log names, or None when ssh said nothing that ended the session."""
    lines = [line.strip() for line in log_text.splitlines() if line.strip()]
    if any("Host key verification failed" in line for line in lines):
        return TargetRefused(f"{where}: the host key is not the one in known_hosts")
    for line in reversed(lines):
        if "Permission denied" in line:
            return TargetRefused(f"{where}: the key is refused: {line}")
        if line.startswith("ssh:") or "Connection closed" in line or "timed out" in line:
            return TargetUnreachable(f"{where}: {line}")
    return None
