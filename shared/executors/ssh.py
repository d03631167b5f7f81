"""Run commands on a NAS host over SSH (paramiko), typically `docker exec` into an app's container.

Host keys are verified against the configured known_hosts file and an unknown host is refused
(RejectPolicy), never added. One connection is kept per executor and reopened when it drops.
"""

from __future__ import annotations

import shlex
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shared.errors import CommandTimedOut, ContainerMissing, ExecutorUnreachable, TargetRefused
from shared.executors.base import CommandResult
from shared.executors.docker import ContainerRef

if TYPE_CHECKING:  # imported where a connection is opened: see shared/remote/wire.py
    import paramiko

# What `docker exec` prints (exit code 125/126) when the container is not there or not running.
_NO_CONTAINER = ("no such container", "is not running", "no such object")


@dataclass(frozen=True)
class SshEndpoint:
    """Where to log in; the fields of a `[targets.X]` table (shared/config/targets.py)."""

    host: str
    port: int = 22
    user: str = ""
    key_file: str = ""
    known_hosts: str = ""

    def describe(self) -> str:
        return f"{self.user + '@' if self.user else ''}{self.host}:{self.port}"


class SshExecutor:
    """Runs argv on the host, or with `docker exec [-u USER] CONTAINER argv` when a container
    is given (found by name, or by label / Swarm service with `docker ps` on that host)."""

    def __init__(self, endpoint: SshEndpoint, container: ContainerRef | None = None,
                 docker_command: tuple[str, ...] = ("docker",), connect_timeout: float = 10):
        self.endpoint = endpoint
        self.container = container
        self.docker_command = docker_command
        self.connect_timeout = connect_timeout
        self._client: paramiko.SSHClient | None = None
        self._lock = threading.Lock()

    def describe(self) -> str:
        where = f"ssh {self.endpoint.describe()}"
        return f"{self.container.describe()} via {where}" if self.container else where

    def connect(self) -> paramiko.SSHClient:
        with self._lock:
            transport = self._client.get_transport() if self._client else None
            if transport is not None and transport.is_active():
                return self._client  # type: ignore[return-value]
            self._client = self._open()
            return self._client

    def _open(self) -> paramiko.SSHClient:
        import paramiko

        end = self.endpoint
        client = paramiko.SSHClient()
        try:
            if end.known_hosts:
                client.load_host_keys(end.known_hosts)
        except OSError as exc:
            raise TargetRefused(f"ssh {end.describe()}: cannot read known_hosts "
                                f"{end.known_hosts!r}: {exc.strerror}") from None
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        try:
            client.connect(end.host, port=end.port, username=end.user or None,
                           key_filename=end.key_file or None, timeout=self.connect_timeout,
                           banner_timeout=self.connect_timeout,
                           auth_timeout=self.connect_timeout, allow_agent=False,
                           look_for_keys=False)
        except (paramiko.BadHostKeyException, paramiko.AuthenticationException) as exc:
            raise TargetRefused(f"ssh {end.describe()}: {exc}") from None
        except paramiko.SSHException as exc:
            if "known_hosts" in str(exc):
                raise TargetRefused(f"ssh {end.describe()}: host key not in "
                                    f"{end.known_hosts or 'known_hosts'}") from None
            raise ExecutorUnreachable(f"ssh {end.describe()}: {exc}") from None
        except OSError as exc:  # refused, unreachable, timed out
            raise ExecutorUnreachable(f"ssh {end.describe()}: {exc}") from None
        return client

    def run(self, argv: tuple[str, ...], timeout: float, user: str = "") -> CommandResult:
        started = time.perf_counter()
        remote = self.remote_argv(argv, user, timeout)
        code, stdout, stderr = self._exec(remote, timeout)
        if self.container and code in (125, 126, 1) and \
                any(text in stderr.lower() for text in _NO_CONTAINER):
            raise ContainerMissing(f"{self.describe()}: {stderr.strip()[-300:]}")
        return CommandResult(argv, code, stdout, stderr, time.perf_counter() - started)

    def remote_argv(self, argv: tuple[str, ...], user: str, timeout: float) -> tuple[str, ...]:
        if self.container is None:
            return (*("sudo", "-n", "-u", user, "--"), *argv) if user else argv
        name = self.container.name or self._find_by_label(timeout)
        # `--`: the container name can never be read as an option of `docker exec`.
        return (*self.docker_command, "exec", *(("-u", user) if user else ()), "--", name,
                *argv)

    def _find_by_label(self, timeout: float) -> str:
        assert self.container is not None
        code, stdout, stderr = self._exec(
            (*self.docker_command, "ps", "--filter",
             f"label={self.container.label_filter()}", "--filter", "status=running",
             "--format", "{{.Names}}"), timeout)
        if code != 0:
            raise ExecutorUnreachable(f"{self.describe()}: docker ps failed: "
                                      f"{stderr.strip()[-300:]}")
        names = sorted(stdout.split())
        if not names:
            raise ContainerMissing(f"{self.describe()}: no running container matches")
        return names[0]

    def _exec(self, remote: tuple[str, ...], timeout: float) -> tuple[int, str, str]:
        import paramiko

        client = self.connect()
        try:
            transport = client.get_transport()
            assert transport is not None
            channel = transport.open_session(timeout=self.connect_timeout)
            channel.exec_command(shlex.join(remote))
        except (paramiko.SSHException, OSError, EOFError) as exc:  # EOF: the server went away
            self.close()
            raise ExecutorUnreachable(f"ssh {self.endpoint.describe()}: {exc}") from None
        out, err = bytearray(), bytearray()
        deadline = time.monotonic() + timeout
        try:
            while True:
                busy = _drain(channel, out, err)
                if channel.exit_status_ready() and not channel.recv_ready() and \
                        not channel.recv_stderr_ready():
                    break
                if channel.closed and not busy:
                    self.close()
                    raise ExecutorUnreachable(f"ssh {self.endpoint.describe()}: the connection "
                                              "closed before the command ended")
                if time.monotonic() > deadline:
                    raise CommandTimedOut(f"{' '.join(remote[:4])}… via ssh "
                                          f"{self.endpoint.describe()} timed out after "
                                          f"{timeout:g} s")
                if not busy:
                    time.sleep(0.01)
            code = channel.recv_exit_status()
        finally:
            channel.close()
        return code, out.decode(errors="replace"), err.decode(errors="replace")

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None


def _drain(channel: Any, out: bytearray, err: bytearray) -> bool:
    busy = False
    while channel.recv_ready():
        out += channel.recv(65536)
        busy = True
    while channel.recv_stderr_ready():
        err += channel.recv_stderr(65536)
        busy = True
    return busy
