"""Who holds a lease: every token names its holder's machine and process, so a worker on the
same machine can tell a dead holder from a live one at once instead of waiting out its TTL.

That is what keeps a killed pool child's message quick: Celery re-queues it the moment the child
dies (reject on worker lost) and another child of the same worker takes it, finds the lease of a
process that no longer exists, and takes it over. A holder on another machine (or in another
PID namespace: a container) cannot be looked at from here; its lease is waited out.
"""

from __future__ import annotations

import os
import socket
import uuid

SEP = "|"
_MACHINE: str | None = None


def machine() -> str:
    """This machine and PID namespace: where a pid means the same process."""
    global _MACHINE  # noqa: PLW0603 - computed once per process, the same after a fork
    if _MACHINE is None:
        try:
            namespace = str(os.stat("/proc/self/ns/pid").st_ino)
        except OSError:
            namespace = "?"
        _MACHINE = f"{socket.gethostname().replace(SEP, '_')}{SEP}{namespace}"
    return _MACHINE


def new_token() -> str:
    """A token that names this process: "<host>|<pid namespace>|<pid>|<random>"."""
    return SEP.join((machine(), str(os.getpid()), uuid.uuid4().hex))


def holder_gone(token: str, mine: bool) -> bool:
    """True when `token` names a process on this machine that has exited (or is a zombie).
    `mine`: this process holds the token's lease right now. Unknown holders count as alive."""
    holder = token.rpartition(SEP)[0]  # without the random part
    where, _, pid_text = holder.rpartition(SEP)
    if where != machine() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return not mine  # a lease this process took and lost track of (a failed release)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # exists, another user's
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rpartition(")")[2].split()[0] == "Z"
    except (OSError, IndexError):
        return False
