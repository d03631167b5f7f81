"""SFTP and rsync-over-SSH destinations: upload to a temp name, resume, verify, rename.

Upload: the bytes go to `.mediacourier-<id>.tmp` beside the final name, the id fixed by the
path, size and mtime of the version sent, so a retry after a dropped connection finds its own
partial temp. It resumes only after the temp's prefix hashes like the source's first bytes
(otherwise it starts over). The temp is then checked (size, sha256 on the target), given the
source's mtime and renamed into place: without replace by OpenSSH's SFTP rename, which is
link(2)+unlink(2) and so fails atomically on a taken name (race-free; on filesystems that
cannot hard-link OpenSSH falls back to stat+rename, which is not); with replace by
posix-rename@openssh.com, an atomic rename(2) over the old file.

Durable before the source may go: the checked temp is fsynced on the target (OpenSSH's
fsync@openssh.com, or `sync -f`) before its rename, and its folder after it; rsync also runs
with --fsync when both ends know it (3.2.4+), and always with --protect-args.
"""

from __future__ import annotations

import hashlib
import logging
import os
import posixpath
import re
import stat
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from shared.config import TargetConfig
from shared.errors import (
    DestinationExists,
    DestinationFull,
    FileBusy,
    TargetRefused,
    TargetUnreachable,
    WriteBackFailed,
)
from shared.remote.bandwidth import UNLIMITED, Bandwidth, TokenBucket
from shared.remote.bandwidth_redis import RedisTokenBucket
from shared.remote.session_pool import HealthHook, SessionPool
from shared.remote.sftp_session import SftpSession
from shared.remote.ssh import ssh_command_string
from shared.remote.ssh_master import ControlMaster
from shared.remote.wire import Progress, wire
from shared.transfer import TMP_PREFIX, RemoteEntry, open_regular

log = logging.getLogger(__name__)
RSYNC_FSYNC = (3, 2, 4)  # the first rsync with --fsync


def temp_name(final: str, size: int, mtime_ns: int) -> str:
    tag = hashlib.sha1(f"{final}\0{size}\0{mtime_ns}".encode("utf-8", "surrogateescape"))
    return f"{TMP_PREFIX}{tag.hexdigest()[:20]}.tmp"


class SftpDestination:
    """A tree under `target.root` on an SSH host, written with paramiko's SFTP."""

    stale_temp_after = 86400.0  # seconds untouched before a temp file counts as abandoned
    _warned_not_durable = False

    def __init__(self, target: TargetConfig, on_health: HealthHook | None = None,
                 bucket: Bandwidth | None = None) -> None:
        self.name = target.name
        self.target = target
        self.pool = SessionPool(target, on_health)
        # Without a bucket from shared/remote/targets.py (and so no Redis): this process's own.
        self.bucket: Bandwidth = bucket or (TokenBucket(target.bandwidth_limit)
                                            if target.bandwidth_limit else UNLIMITED)

    def path(self, rel_path: str) -> str:
        return posixpath.join(self.target.root, rel_path)

    # Destination ---------------------------------------------------------------------------
    def list_files(self) -> Iterator[RemoteEntry]:
        """Every file but our temp files; a temp file untouched for a day (an upload given up
        on) is removed on the way, so partial uploads do not pile up on the NAS."""
        with self.pool.session() as session:
            listed = session.find_files(self.target.root)
            if listed is None:  # no GNU find there: walk over SFTP (names must be UTF-8)
                every = list(self._walk(session, self.target.root, ""))
            else:
                every = [RemoteEntry(rel, size, mtime_ns) for rel, size, mtime_ns in
                         sorted(listed)]
            stale_before = (time.time() - self.stale_temp_after) * 1e9
            found = []
            for entry in every:
                if not posixpath.basename(entry.rel_path).startswith(TMP_PREFIX):
                    found.append(entry)
                elif entry.mtime_ns < stale_before:
                    session.remove_quietly(self.path(entry.rel_path))
        yield from found

    def _walk(self, session: SftpSession, folder: str, rel: str) -> Iterator[RemoteEntry]:
        try:
            entries = session.sftp.listdir_attr(wire(folder))  # type: ignore[arg-type]
        except FileNotFoundError:
            return
        except OSError as exc:
            raise session.fail(exc, folder) from exc
        for entry in sorted(entries, key=lambda e: e.filename):
            child = posixpath.join(rel, entry.filename)
            mode = entry.st_mode or 0
            if stat.S_ISDIR(mode):
                yield from self._walk(session, posixpath.join(folder, entry.filename), child)
            elif stat.S_ISREG(mode):
                yield RemoteEntry(child, entry.st_size or 0,
                                  int(entry.st_mtime or 0) * 1_000_000_000)

    def sha256(self, rel_path: str) -> str | None:
        with self.pool.session() as session:
            return session.sha256(self.path(rel_path))

    def put(self, src: Path, rel_path: str, mtime_ns: int, replace: bool,
            progress: Progress = None) -> str:
        done = self.upload(str(src), self.path(rel_path), mtime_ns, replace, None, progress)
        if done is None:
            raise DestinationExists(f"{self.name}:{rel_path}: exists; not overwritten")
        return done[0]

    def rename(self, old: str, new: str) -> None:
        with self.pool.session() as session:
            session.makedirs(posixpath.dirname(self.path(new)))
            if not session.rename_noreplace(self.path(old), self.path(new)):
                raise DestinationExists(f"{self.name}:{new}: exists; {old!r} not renamed")
            self._prune(session, old)  # a moved folder leaves no empty husk behind

    def delete(self, rel_path: str) -> None:
        with self.pool.session() as session:
            session.remove_quietly(self.path(rel_path))
            self._prune(session, rel_path)

    def _prune(self, session: SftpSession, rel_path: str) -> None:
        """Remove the folders above rel_path that are now empty, up to the root."""
        folder = posixpath.dirname(rel_path)
        while folder:
            try:
                session.sftp.rmdir(wire(self.path(folder)))
            except OSError:
                break  # not empty (or already gone): stop climbing
            folder = posixpath.dirname(folder)

    def close(self) -> None:
        self.pool.close()

    # the upload ----------------------------------------------------------------------------
    def upload(self, src: str, final: str, mtime_ns: int, replace: bool,
               expected_sha: str | None, progress: Progress) -> tuple[str, int] | None:
        """Put src at the absolute target path final; (sha256, size), or None when final is
        taken and replace is False."""
        fd, info = open_regular(src)
        try:
            with self.pool.session() as session:
                folder = posixpath.dirname(final)
                session.makedirs(folder)
                if not replace and session.stat(final) is not None:
                    return None
                tmp = posixpath.join(folder, temp_name(final, info.st_size, mtime_ns))
                sha = self.send(session, fd, src, info.st_size, tmp, progress)
                after = os.fstat(fd)
                if (after.st_size, after.st_mtime_ns) != (info.st_size, info.st_mtime_ns) or (
                        expected_sha is not None and sha != expected_sha):
                    session.remove_quietly(tmp)
                    raise FileBusy(f"{src}: content changed while it was being uploaded")
                self._check(session, tmp, info.st_size, sha, src)
                session.call("utime", tmp, (mtime_ns / 1e9, mtime_ns / 1e9))
                self._durable(session, tmp, tmp)
                if replace:
                    session.call("posix_rename", tmp, final)
                elif not session.rename_noreplace(tmp, final):
                    session.remove_quietly(tmp)
                    return None
                # The new name too; a fresh name that may not last is taken back (sent again).
                self._durable(session, folder, None if replace else final)
        finally:
            os.close(fd)
        return sha, info.st_size

    def _durable(self, session: SftpSession, path: str, placed: str | None) -> None:
        """fsync path on the target; on a write-back error `placed` (what this upload just
        wrote) is removed and the error raised, so the source is kept and a retry sends it."""
        try:
            done = session.fsync(path)
        except WriteBackFailed:
            if placed is not None:
                session.remove_quietly(placed)
            raise
        if not done and not self._warned_not_durable:
            self._warned_not_durable = True
            log.warning("target %s offers no fsync (neither fsync@openssh.com nor a shell with "
                        "sync -f): uploads are checked but not forced to its disk", self.name)

    def _check(self, session: SftpSession, tmp: str, size: int, sha: str, src: str) -> None:
        found = session.stat(tmp)
        # The target hashed this very temp a moment ago (a batch's bytes found in place, see
        # RsyncDestination.send) and nothing wrote it since: that hash is the check.
        known, session.hashed = session.hashed == (tmp, sha), None
        remote_sha = (sha if known else session.sha256(tmp)) if found and found[0] == size \
            else None
        if remote_sha != sha:
            session.remove_quietly(tmp)
            raise FileBusy(f"{src}: the upload to {self.name}:{tmp} does not verify "
                           f"(size {found and found[0]} of {size}); it is sent again")

    def send(self, session: SftpSession, fd: int, src: str, size: int, tmp: str,
             progress: Progress) -> str:
        """Write src into tmp, resuming a verified partial temp; the sha256 of src's bytes."""
        hasher, offset = self._resume_point(session, fd, size, tmp)
        if offset:
            _report(progress, offset)
        session.write_from(fd, tmp, offset, size, hasher, self.bucket, progress)
        return hasher.hexdigest()

    def _resume_point(self, session: SftpSession, fd: int, size: int,
                      tmp: str) -> tuple[hashlib._Hash, int]:
        found = session.stat(tmp)
        if found is None or not 0 < found[0] <= size:
            return hashlib.sha256(), 0
        hasher, have = hashlib.sha256(), found[0]
        _hash_range(fd, hasher, have)
        if session.sha256(tmp, length=have) == hasher.hexdigest():
            return hasher, have
        return hashlib.sha256(), 0  # not a prefix of this file: start over


def _hash_range(fd: int, hasher: hashlib._Hash, length: int) -> None:
    position = 0
    while position < length:
        chunk = os.pread(fd, min(1 << 20, length - position), position)
        if not chunk:
            break
        hasher.update(chunk)
        position += len(chunk)


def _report(progress: Progress, amount: int) -> None:
    if progress is not None:
        progress(amount)


class RsyncDestination(SftpDestination):
    """The bytes move by the system rsync over ssh (delta transfer, `--inplace` into our temp
    name: a partial temp from a dropped connection is its basis, checked block by block by
    rsync's checksums); listing, verification and the rename go over SFTP as above."""

    def __init__(self, target: TargetConfig, on_health: HealthHook | None = None,
                 bucket: Bandwidth | None = None) -> None:
        super().__init__(target, on_health, bucket)
        self._master = ControlMaster(target)

    def _multiplexing(self) -> list[str]:
        """One ssh connection shared by this process's rsync runs (a ControlMaster, a child of
        this process: see ssh_master), instead of a handshake per file."""
        return self._master.options()

    def close(self) -> None:
        super().close()
        self._master.stop()

    _fsync_ok: bool | None = None

    def _fsync_known(self, session: SftpSession) -> bool:
        """Whether rsync here and on the target both know --fsync (asked once)."""
        if self._fsync_ok is None:
            local = subprocess.run(["rsync", "--version"], capture_output=True, text=True,
                                   errors="replace", stdin=subprocess.DEVNULL, check=False)
            remote = session.run("rsync --version")
            self._fsync_ok = rsync_version(local.stdout) >= RSYNC_FSYNC and remote is not None \
                and rsync_version(remote[1].decode("utf-8", "replace")) >= RSYNC_FSYNC
        return self._fsync_ok

    def _rsync_rate(self, size: int) -> int:
        """KiB/s for --bwlimit. rsync is a process of its own: through Redis it books the file's
        bytes and waits its turn, then runs at the target's limit; else each of the parallel
        runs gets an equal share of it."""
        limit = self.target.bandwidth_limit
        if isinstance(self.bucket, RedisTokenBucket) and self.bucket.wait_turn(size):
            return max(1, limit // 1024)
        return max(1, limit // self.target.parallel // 1024)

    def send(self, session: SftpSession, fd: int, src: str, size: int, tmp: str,
             progress: Progress) -> str:
        hasher = hashlib.sha256()
        _hash_range(fd, hasher, size)
        found = session.stat(tmp)
        if found is not None and found[0] == size and session.sha256(tmp) == hasher.hexdigest():
            _report(progress, size)  # sent ahead with its batch (preupload.py), whole and right
            session.hashed = (tmp, hasher.hexdigest())
            return hasher.hexdigest()
        target = self.target
        # -s (--protect-args): the remote path reaches rsync as is, never split by its shell.
        argv = ["rsync", "-s", "--inplace", "--no-whole-file",
                "--timeout", str(int(target.timeout * 4)),
                "-e", ssh_command_string(target, *self._multiplexing())]
        if self._fsync_known(session):
            argv.append("--fsync")
        if target.bandwidth_limit:
            argv.append(f"--bwlimit={self._rsync_rate(size)}")
        argv += ["--", src, f"{target.user}@{target.host}:{tmp}"]
        done = subprocess.run(argv, capture_output=True, text=True, errors="replace",
                              stdin=subprocess.DEVNULL, check=False)
        if done.returncode != 0:
            error = rsync_error(target, done.returncode, done.stderr.strip() or done.stdout, tmp)
            free = session.free_bytes(posixpath.dirname(tmp)) if done.returncode in (11, 23) \
                else None
            if free is not None and free < size:  # rsync says only "error in file IO"
                raise DestinationFull(f"{target.name}:{tmp}: no space left on the target")
            raise error
        _report(progress, size)
        return hasher.hexdigest()


def rsync_version(text: str) -> tuple[int, ...]:
    """(3, 2, 7) from `rsync --version` output; () when there is none."""
    found = re.search(r"rsync\s+version\s+v?(\d+)\.(\d+)\.(\d+)", text)
    return tuple(int(n) for n in found.groups()) if found else ()


def rsync_error(target: TargetConfig, code: int, stderr: str, path: str) -> Exception:
    last = stderr.splitlines()[-1] if stderr else f"exit code {code}"
    if "No space left" in stderr or "Disk quota" in stderr:
        return DestinationFull(f"{target.name}:{path}: no space left on the target")
    if "Host key verification failed" in stderr or "Permission denied (publickey" in stderr:
        return TargetRefused(f"{target.name}: {target.address} refused rsync's ssh: {last}")
    if code in (10, 12, 30, 35, 255):
        return TargetUnreachable(f"{target.name}: rsync to {target.address} failed: {last}")
    return FileBusy(f"{target.name}:{path}: rsync exit {code}: {last}")


DestinationFactory = Callable[..., SftpDestination]
KINDS: dict[str, DestinationFactory] = {"sftp": SftpDestination, "rsync": RsyncDestination}
