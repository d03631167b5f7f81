"""A real OpenSSH server for the benchmarks and the tests: /usr/sbin/sshd on 127.0.0.1, a free
port, its own host key and config, key authentication for root, and a known_hosts file that
names its host key.

`stop()` kills the server *and* its per-connection children (they call setsid(), so a process
group signal would miss them) by PID, as a pulled network cable would; `start()` brings it back
on the same port.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

SSHD = "/usr/sbin/sshd"
PRIVSEP_DIR = Path("/run/sshd")  # sshd refuses to start without it


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_key(path: Path) -> Path:
    """A fresh ed25519 key pair without passphrase at path (and path.pub)."""
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "mc-test", "-f",
                    str(path)], check=True, capture_output=True)
    return path


def _children(pid: int, only: str = "") -> list[int]:
    """Every descendant of pid (whose command name is `only`, if given), read from /proc."""
    parents: dict[int, list[tuple[int, str]]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        name, rest = stat.split("(", 1)[1].rsplit(")", 1)
        parents.setdefault(int(rest.split()[1]), []).append((int(entry), name))
    found, todo = [], [pid]
    while todo:
        for child, name in parents.get(todo.pop(), []):
            if not only or name == only:
                found.append(child)
            todo.append(child)
    return found


@dataclass
class SshServer:
    """One private sshd. Attributes match what shared.config.targets.TargetConfig needs."""

    root: Path
    host: str = "127.0.0.1"
    user: str = "root"
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.host_key = make_key(self.root / "host_key")
        self.key_file = make_key(self.root / "client_key")
        self.authorized_keys = self.root / "authorized_keys"
        self.authorized_keys.write_text(Path(f"{self.key_file}.pub").read_text())
        self.known_hosts = self.root / "known_hosts"
        self.known_hosts.write_text(self.known_hosts_line())
        self.log = self.root / "sshd.log"

    def known_hosts_line(self) -> str:
        kind, blob = Path(f"{self.host_key}.pub").read_text().split()[:2]
        return f"[{self.host}]:{self.port} {kind} {blob}\n"

    def _write_config(self) -> Path:
        config = self.root / "sshd_config"
        config.write_text("\n".join([
            f"Port {self.port}",
            f"ListenAddress {self.host}",
            f"HostKey {self.host_key}",
            f"PidFile {self.root / 'sshd.pid'}",
            f"AuthorizedKeysFile {self.authorized_keys}",
            "StrictModes no",
            "UsePAM no",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PubkeyAuthentication yes",
            "PermitRootLogin prohibit-password",
            "Subsystem sftp internal-sftp",
            "MaxStartups 64:30:128",
            "MaxSessions 64",
            "UseDNS no",
            "LogLevel ERROR",
        ]) + "\n")
        return config

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 10) -> None:
        """Start (or restart) sshd on self.port and wait until it greets."""
        if self.running:
            return
        PRIVSEP_DIR.mkdir(mode=0o755, parents=True, exist_ok=True)
        config = self._write_config()
        check = subprocess.run([SSHD, "-t", "-f", str(config)], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"sshd rejects its test config: {check.stderr.strip()}")
        deadline = time.monotonic() + timeout
        while True:
            with self.log.open("ab") as log:
                self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdout=log,
                                             stderr=subprocess.STDOUT, start_new_session=True)
            if self._wait_greeting(deadline):
                return
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"sshd did not start on port {self.port}: "
                                   f"{self.log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.2)  # the port may still be held by a dying predecessor: try again

    def _wait_greeting(self, deadline: float) -> bool:
        while time.monotonic() < deadline:
            if not self.running:
                return False
            try:
                with socket.create_connection((self.host, self.port), timeout=1) as sock:
                    if sock.recv(64).startswith(b"SSH-"):
                        return True
            except OSError:
                time.sleep(0.05)
        return False

    def stop(self) -> None:
        """Kill sshd and every session process it serves, by PID: open connections drop at
        once. The commands those sessions run are not killed but see their connection go, as
        on a real host: a SIGKILLed login shell would leave its start-up files' locks behind
        (pyenv's rehash lock, for one, then stalls every later login for 60 s)."""
        if self.proc is None:
            return
        for pid in [*_children(self.proc.pid, only="sshd"), self.proc.pid]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue
        self.proc.wait(timeout=10)
        self.proc = None

    def make_key(self, name: str) -> Path:
        """A key pair the server does not know (for refused-login tests)."""
        return make_key(self.root / name)

    def ssh_command(self, key: Path | None = None) -> list[str]:
        """`ssh` argv for this server, checking its host key against known_hosts."""
        return ["ssh", "-p", str(self.port), "-i", str(key or self.key_file),
                "-o", f"UserKnownHostsFile={self.known_hosts}", "-o", "StrictHostKeyChecking=yes",
                "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", f"{self.user}@{self.host}"]
