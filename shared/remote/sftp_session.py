"""One SFTP connection to a target (session_pool.py keeps a few for parallel transfers).

Every call maps failures onto the error tree: a dropped connection is TargetUnreachable (the
pool then throws the session away), a full disk DestinationFull, anything else FileBusy.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import os
import posixpath
import shlex
import stat
from collections.abc import Callable
from typing import TYPE_CHECKING

from shared.config import TargetConfig
from shared.errors import (
    DestinationFull,
    FileBusy,
    PermanentError,
    TargetUnreachable,
    WriteBackFailed,
)
from shared.remote.bandwidth import UNLIMITED, Bandwidth
from shared.remote.ssh import connect
from shared.remote.wire import Progress, wire
from shared.transfer import CHUNK

# One sha256sum per line read; "-" when it fails (a missing file, no sha256sum).
HASH_LOOP = 'while IFS= read -r p; do sha256sum -- "$p" 2>/dev/null || echo -; done'
# A wider SSH window than paramiko's 2 MiB keeps more pipelined writes in flight.
WINDOW = 16 * 1024 * 1024
if TYPE_CHECKING:
    import paramiko


@functools.cache
def lost() -> tuple[type[BaseException], ...]:
    """The errors that mean the connection is gone. paramiko is imported here, when a session is
    first used, not when this module is (shared/remote/wire.py says why)."""
    import paramiko

    return (paramiko.SSHException, EOFError, TimeoutError, ConnectionError, BrokenPipeError)


class SftpSession:
    """An authenticated SSH connection with its SFTP channel, used by one thread at a time."""

    def __init__(self, target: TargetConfig) -> None:
        import paramiko

        self.target = target
        self.client = connect(target)
        try:
            self.sftp = paramiko.SFTPClient.from_transport(  # type: ignore[assignment]
                self.client.get_transport(), window_size=WINDOW)
            self.sftp.get_channel().settimeout(target.timeout * 4)
        except lost() as exc:
            self.client.close()
            raise TargetUnreachable(f"{target.name}: no SFTP on {target.address}: {exc}") from exc
        self._exec_ok: bool | None = None
        # (path, sha256) the target just hashed for this session and nothing has written since
        self.hashed: tuple[str, str] | None = None
        self._hash_in: paramiko.ChannelFile | None = None
        self._hash_out: paramiko.ChannelFile | None = None

    @property
    def alive(self) -> bool:
        transport = self.client.get_transport()
        return transport is not None and transport.is_active()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close()

    # errors -------------------------------------------------------------------------------
    def fail(self, exc: BaseException, path: str, need: int = 0) -> Exception:
        """The mediacourier error for a failed SFTP call on path."""
        dropped = isinstance(exc, OSError) and exc.errno in (
            errno.ECONNRESET, errno.EPIPE, errno.ETIMEDOUT, errno.ECONNABORTED)
        if isinstance(exc, lost()) or dropped or not self.alive:
            return TargetUnreachable(f"{self.target.name}: connection to {self.target.address} "
                                     f"lost: {exc or type(exc).__name__}")
        if isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM):
            return PermanentError(f"{self.target.name}:{path}: not writable on the target")
        if need and self.free_bytes(posixpath.dirname(path)) is not None \
                and self.free_bytes(posixpath.dirname(path)) < need:  # type: ignore[operator]
            return DestinationFull(f"{self.target.name}:{path}: no space left on the target")
        return FileBusy(f"{self.target.name}:{path}: {exc}")

    # remote commands ----------------------------------------------------------------------
    def run(self, command: str) -> tuple[int, bytes] | None:
        """(exit code, stdout) of a command on the target; None when it has no shell for us."""
        import paramiko

        if self._exec_ok is False:
            return None
        try:
            _, out, _ = self.client.exec_command(command, timeout=self.target.timeout * 20)
            data = out.read()
            code = out.channel.recv_exit_status()
        except paramiko.ChannelException:
            self._exec_ok = False  # an SFTP-only account: fall back to reading back
            return None
        except lost() as exc:
            raise self.fail(exc, command) from exc
        if self._exec_ok is None:
            self._exec_ok = code != 127  # no such command: a restricted shell
        return code, data

    def free_bytes(self, folder: str) -> int | None:
        done = self.run(f"df -Pk -- {shlex.quote(folder or '/')}")
        if done is None or done[0] != 0:
            return None
        try:
            return int(done[1].decode().splitlines()[-1].split()[3]) * 1024
        except (IndexError, ValueError):
            return None

    def _hash_line(self, path: str) -> str | None:
        """One line from a `sha256sum` loop kept running on the target: a session costs the
        target a fork and a login (≈ 0.2 s measured on loopback), a loop turn only the hash.
        None when no loop can run there."""
        import paramiko

        if self._exec_ok is False:
            return None
        try:
            if self._hash_out is None:
                channel = self.client.get_transport().open_session()  # type: ignore[union-attr]
                channel.settimeout(self.target.timeout * 20)
                channel.exec_command(HASH_LOOP)
                self._hash_in, self._hash_out = channel.makefile_stdin("wb"), \
                    channel.makefile("rb")
            self._hash_in.write(path.encode("utf-8", "surrogateescape") + b"\n")
            self._hash_in.flush()
            line = self._hash_out.readline()
        except paramiko.ChannelException:
            self._exec_ok = False
            return None
        except (OSError, *lost()) as exc:
            self._hash_out = None
            raise self.fail(exc, path) from exc
        if not line:  # the loop ended (no shell for us): hash by reading back from now on
            self._exec_ok, self._hash_out = False, None
            return None
        return line.decode("ascii", "replace").strip()

    def sha256(self, path: str, length: int | None = None) -> str | None:
        """Hex sha256 of the file (its first `length` bytes), by `sha256sum` on the target
        when it has one, else read back; None when the file is absent."""
        if length is None and "\n" not in path:
            line = self._hash_line(path)
            digest = line.lstrip("\\")[:64] if line else ""
            if len(digest) == 64 and all(c in "0123456789abcdef" for c in digest):
                return digest
            return self.read_back(path)  # absent (None), or no sha256sum there
        quoted = shlex.quote(path)
        command = (f"sha256sum -- {quoted}" if length is None
                   else f"head -c {int(length)} -- {quoted} | sha256sum")
        done = self.run(f"test -f {quoted} || exit 3; {command}")
        if done is not None and done[0] == 3:
            return None
        if done is not None and done[0] == 0 and len(done[1]) >= 64:
            return done[1][:64].decode()
        return self.read_back(path, length)

    def read_back(self, path: str, length: int | None = None,
                  hasher: Callable[[], hashlib._Hash] = hashlib.sha256) -> str | None:
        digest = hasher()
        try:
            with self.sftp.open(wire(path), "rb") as handle:
                size = handle.stat().st_size or 0
                todo = size if length is None else min(length, size)
                handle.prefetch(todo)
                while todo > 0:
                    chunk = handle.read(min(CHUNK, todo))
                    if not chunk:
                        break
                    digest.update(chunk)
                    todo -= len(chunk)
        except FileNotFoundError:
            return None
        except (OSError, *lost()) as exc:
            raise self.fail(exc, path) from exc
        return digest.hexdigest()

    def find_files(self, root: str) -> list[tuple[str, int, int]] | None:
        """(rel_path, size, mtime_ns) of every regular file under root by the target's `find`
        (one round trip; names keep their bytes); None when the target has no GNU find."""
        done = self.run(f"cd -- {shlex.quote(root)} 2>/dev/null || exit 3; "
                        "find . -type f -printf '%s %T@ %P\\0'")
        if done is None or done[0] not in (0, 3):
            return None
        found = []
        for item in done[1].split(b"\0") if done[0] == 0 else []:
            if not item:
                continue
            size, stamp, name = item.split(b" ", 2)
            seconds, _, fraction = stamp.decode().partition(".")
            mtime_ns = int(seconds) * 1_000_000_000 + int((fraction + "000000000")[:9])
            found.append((os.fsdecode(name), int(size), mtime_ns))
        return found

    # files --------------------------------------------------------------------------------
    def stat(self, path: str) -> tuple[int, int] | None:
        """(size, mtime_ns) of a regular file; (-1, 0) for anything else; None when absent."""
        try:
            attrs = self.sftp.lstat(wire(path))
        except FileNotFoundError:
            return None
        except (OSError, *lost()) as exc:
            raise self.fail(exc, path) from exc
        if not stat.S_ISREG(attrs.st_mode or 0):
            return -1, 0
        return attrs.st_size or 0, int(attrs.st_mtime or 0) * 1_000_000_000

    def makedirs(self, folder: str) -> None:
        missing = []
        while folder not in ("/", "") and self.stat(folder) is None:
            missing.append(folder)
            folder = posixpath.dirname(folder)
        for path in reversed(missing):
            try:
                self.sftp.mkdir(wire(path))
            except (OSError, *lost()) as exc:
                if self.stat(path) is None:  # not made by a parallel transfer either
                    raise self.fail(exc, path, need=1) from exc

    def call(self, what: str, path: str, *args: object) -> None:
        try:
            getattr(self.sftp, what)(wire(path), *(wire(a) if isinstance(a, str) else a
                                                   for a in args))
        except (OSError, *lost()) as exc:
            raise self.fail(exc, path) from exc

    def rename_noreplace(self, old: str, new: str) -> bool:
        """Rename that never overwrites: OpenSSH's SFTP v3 rename is link(2) + unlink(2), which
        fails atomically when `new` exists. False when the name is taken."""
        try:
            self.sftp.rename(wire(old), wire(new))
        except (OSError, *lost()) as exc:
            if self.stat(new) is not None:
                return False
            raise self.fail(exc, new) from exc
        return True

    def fsync(self, path: str) -> bool:
        """Make a file, or a folder's entries, durable on the target before a source may go:
        OpenSSH's fsync@openssh.com on a handle of it (a folder opened read-only is a handle
        too), else `sync -f` over the shell. WriteBackFailed when the target's disk refuses;
        False when the target offers neither way (not OpenSSH's sftp-server, no shell)."""
        try:
            handle = self.sftp.open(wire(path), "rb")
        except (OSError, *lost()) as exc:
            if isinstance(exc, (*lost(), FileNotFoundError)):
                raise self.fail(exc, path) from exc
            return self._sync_by_shell(path)  # a server that will not open a folder
        try:
            with handle:
                from paramiko.sftp import CMD_EXTENDED

                self.sftp._request(CMD_EXTENDED, "fsync@openssh.com", handle.handle)
        except (OSError, *lost()) as exc:
            if isinstance(exc, lost()) or "unsupported" not in str(exc).lower():
                raise WriteBackFailed(f"{self.target.name}:{path}: the target could not write "
                                      f"it to disk (fsync: {exc}); the source is kept") from exc
            return self._sync_by_shell(path)
        return True

    def _sync_by_shell(self, path: str) -> bool:
        done = self.run(f"sync -f -- {shlex.quote(path)}")
        if done is None or done[0] == 127:
            return False
        if done[0] != 0:
            raise WriteBackFailed(f"{self.target.name}:{path}: the target could not write it "
                                  f"to disk (sync -f exit {done[0]}); the source is kept")
        return True

    def remove_quietly(self, path: str) -> None:
        """Remove path; one that is not there is no error (`call` would make it FileBusy)."""
        try:
            self.sftp.remove(wire(path))
        except FileNotFoundError:
            return
        except (OSError, *lost()) as exc:
            raise self.fail(exc, path) from exc

    def write_from(self, fd: int, path: str, offset: int, size: int, hasher: hashlib._Hash,
                   bucket: Bandwidth = UNLIMITED, progress: Progress = None) -> None:
        """Send bytes offset..size of the local fd into path (appending at offset)."""
        try:
            with self.sftp.open(wire(path), "r+b" if offset else "wb") as handle:
                handle.seek(offset)
                handle.set_pipelined(True)
                position = offset
                while position < size:
                    chunk = os.pread(fd, min(CHUNK, size - position), position)
                    if not chunk:
                        break
                    bucket.take(len(chunk))
                    handle.write(chunk)
                    hasher.update(chunk)
                    position += len(chunk)
                    if progress is not None:
                        progress(len(chunk))
        except (OSError, *lost()) as exc:
            raise self.fail(exc, path, need=size - offset) from exc
        # Pipelined writes can fail without an error at close (paramiko): trust the size only.
        written = self.stat(path)
        if written is None or written[0] != size:
            missing = size - (written[0] if written else 0)
            raise self.fail(OSError(f"short write ({missing} bytes missing)"), path, need=missing)
