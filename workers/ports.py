"""Is a TCP port free, and if not, which process holds it (read from /proc, Linux only)."""

from __future__ import annotations

import contextlib
import os
import socket
from pathlib import Path

# /proc/net/tcp state codes of a socket that owns its port: LISTEN, and bound-but-idle (CLOSE).
_HOLDING_STATES = {"0A", "07"}


def port_is_free(host: str, port: int) -> bool:
    """Whether a server could bind host:port now, with SO_REUSEADDR as Flower and the metrics
    server use it (so a port left in TIME_WAIT by a stopped server counts as free)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str) -> int:
    """A port on host that was free a moment ago (the kernel picks it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def socket_inodes(port: int, proc: Path = Path("/proc")) -> set[str]:
    """The inodes of the sockets that hold the TCP port (IPv4 and IPv6)."""
    inodes: set[str] = set()
    for table in ("tcp", "tcp6"):
        with contextlib.suppress(OSError):
            lines = (proc / "net" / table).read_text().splitlines()[1:]
            for line in lines:
                fields = line.split()
                local, state, inode = fields[1], fields[3], fields[9]
                if int(local.rsplit(":", 1)[1], 16) == port and state in _HOLDING_STATES:
                    inodes.add(inode)
    inodes.discard("0")
    return inodes


def holder_of(port: int, proc: Path = Path("/proc")) -> int | None:
    """The pid of a process with a socket on the port, or None when it cannot be seen (another
    user's process, another network namespace, no /proc)."""
    wanted = {f"socket:[{inode}]" for inode in socket_inodes(port, proc)}
    if not wanted:
        return None
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in (entry / "fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) in wanted:
                        return int(entry.name)
    return None


def describe_holder(pid: int, proc: Path = Path("/proc")) -> str:
    """'pid 1234: an earlier mediacourier?' or 'pid 1234: nginx'."""
    try:
        argv = (proc / str(pid) / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return f"pid {pid}"
    words = " ".join(part.decode(errors="replace") for part in argv)
    if "workers.cli" in words or "mediacourier" in words or "-A tasks" in words:
        return f"pid {pid}: an earlier mediacourier?"
    name = os.path.basename(argv[0].decode(errors="replace")) if argv and argv[0] else "?"
    return f"pid {pid}: {name}"


def busy_port_line(port: int, setting: str) -> str:
    """One line for a port that is taken: who holds it (when we can see) and what to do."""
    pid = holder_of(port)
    who = f" ({describe_holder(pid)})" if pid is not None else ""
    return f"port {port} is in use{who} — set {setting} or stop it"
