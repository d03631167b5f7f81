"""TargetConfigs that point at the test sshd, an independent check of two trees, and the ssh
processes that use a folder."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

from bench.sshd import SshServer
from shared.config.targets import TargetConfig


def target_for(server: SshServer, root: Path, kind: str = "sftp",
               **changes: object) -> TargetConfig:
    target = TargetConfig(name="nas", kind=kind, root=str(root), host=server.host,
                          port=server.port, user=server.user, key_file=server.key_file,
                          known_hosts=server.known_hosts, parallel=4, timeout=5.0)
    return dataclasses.replace(target, **changes)


def rsync_differences(left: Path, right: Path, *extra: str) -> list[str]:
    """What `rsync -rcn` (checksums, dry run) would still transfer from left to right."""
    done = subprocess.run(["rsync", "-rcn", "--out-format=%n", *extra, f"{left}/", f"{right}/"],
                          capture_output=True, text=True, check=True)
    return [line for line in done.stdout.splitlines() if line and not line.endswith("/")]


def ssh_processes_under(folder: Path) -> list[str]:
    """The living `ssh` processes whose command line names folder (a ControlPath inside it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        line = " ".join(part.decode(errors="replace") for part in argv)
        if argv[0] == b"ssh" and str(folder) in line:
            found.append(f"{entry.name}: {line}")
    return found
