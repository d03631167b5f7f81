"""TargetConfigs that point at the test sshd, and an independent check of two trees."""

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
