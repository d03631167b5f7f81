"""A restic repository as a mirror's target: one snapshot per run of exactly the plan's files.

Encryption, compression and deduplication are restic's (AES-256-CTR with Poly1305-AES, keys
from scrypt; zstd in repository format 2): nothing of our own. The password reaches restic
only through its environment (RESTIC_PASSWORD_FILE, or RESTIC_PASSWORD from the variable the
target names), never its command line. Snapshots carry the tags `mediacourier` and
`mirror=NAME`; a run's parent is the mirror's latest snapshot, so unchanged files are not
read again. An interrupted run is stopped with SIGINT (restic removes its lock); a killed one
leaves only unreferenced data, which the next run and `prune` ignore or remove.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from shared.backup.command import Completed, mtime_ns, run_tool
from shared.backup.repository import BackupResult, ProgressHook, SpaceReport
from shared.backup.sftp import ssh_command, ssh_failure, ssh_log
from shared.backup.space import restic_space
from shared.config import ResticTarget
from shared.errors import BackupFailed, BackupRefused, TargetUnreachable
from shared.secrets import read_secret
from shared.transfer import RemoteEntry

RESTIC = "restic"
_ENV_DROPPED = ("RESTIC_PASSWORD", "RESTIC_PASSWORD_FILE", "RESTIC_PASSWORD_COMMAND",
                "RESTIC_REPOSITORY", "RESTIC_REPOSITORY_FILE")


class ResticRepository:
    whole_tree = True

    def __init__(self, target: ResticTarget, label: str, state_dir: Path | None = None,
                 env: Mapping[str, str] | None = None) -> None:
        self.target, self.name, self.label = target, target.name, label
        self.state_dir = state_dir
        self._base_env = dict(os.environ if env is None else env)
        self._listing: dict[str, RemoteEntry] | None = None
        self._latest: str | None = None

    # -- running restic --------------------------------------------------------------------

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in self._base_env.items() if k not in _ENV_DROPPED}
        env["RESTIC_REPOSITORY"] = self.target.repository
        env["RESTIC_PROGRESS_FPS"] = "2"  # --json status lines: a few a second are plenty
        if self.target.password_file is not None:
            env["RESTIC_PASSWORD_FILE"] = str(self.target.password_file)
        else:
            env["RESTIC_PASSWORD"] = read_secret(None, self.target.password_env,
                                                 f"targets.{self.name} password_env",
                                                 self._base_env)
        return env

    def _argv(self, args: tuple[str, ...], ssh_log_file: Path | None) -> list[str]:
        if ssh_log_file is None:
            return [RESTIC, *args]
        # restic's own sftp, through ssh with the host key checked
        return [RESTIC, "-o", "sftp.command=" + ssh_command(self.target, ssh_log_file), *args]

    def run(self, *args: str, what: str = "", cwd: str | None = None,
            on_line: Any = None, ok: tuple[int, ...] = (0,)) -> Completed:
        """restic with this repository; its failures mapped to one line naming the target."""
        where = f"targets.{self.name} ({what or args[0]})"
        with ssh_log() if self.target.host else nullcontext() as log:
            try:
                done = run_tool(self._argv(args, log), self._env(), where, on_line, cwd,
                                ok=(*ok, 1, 3, 10, 11, 12))
            except BackupFailed as exc:
                raise BackupFailed(str(exc)) from None
            if done.code in ok:
                return done
            # ssh's own log, not restic's relay of its stderr, which can lose the last line
            failure = ssh_failure(log.read_text(errors="replace"), where) if log else None
        raise failure or _mapped(done, where, self.target.repository)

    # -- the Protocol ----------------------------------------------------------------------

    def latest(self) -> str | None:
        """The id of the mirror's latest snapshot, None before its first run."""
        done = self.run("snapshots", "--json", "--tag", f"mirror={self.label}", "--latest", "1",
                        what="snapshots")
        snapshots = _json(done.stdout, [])
        return snapshots[-1]["id"] if snapshots else None

    def list_files(self) -> Iterator[RemoteEntry]:
        if self._listing is None:
            self._latest = self.latest()
            self._listing = self._snapshot_files(self._latest) if self._latest else {}
        return iter(list(self._listing.values()))

    def _snapshot_files(self, snapshot: str) -> dict[str, RemoteEntry]:
        done = self.run("ls", "--json", snapshot, what="ls")
        files: dict[str, RemoteEntry] = {}
        for line in done.stdout.splitlines():
            node = _json(line, {})
            if node.get("struct_type") == "node" and node.get("type") == "file":
                rel = str(node["path"]).lstrip("/")
                files[rel] = RemoteEntry(rel, int(node.get("size", 0)),
                                         mtime_ns(str(node.get("mtime", ""))))
        return files

    def sha256(self, rel_path: str) -> str | None:
        return None

    def backup(self, root: Path, files: list[str], deletes: list[str],
               progress: ProgressHook | None = None) -> BackupResult:
        """One snapshot of `files`; `deletes` are simply not in it (earlier snapshots keep
        them until the retention policy forgets them)."""
        result = BackupResult(deleted=len(deletes))
        if not files:
            if deletes:
                result.errors.append((".", "nothing left to back up: restic keeps no empty "
                                      "snapshot, the previous one stays the latest"))
            return result
        if self._listing is None:
            list(self.list_files())
        marker = self._marker("running")
        if marker is not None and marker.exists():
            # The last run here did not finish (killed): its lock is stale, and would block
            # prune and check; `unlock` removes only locks of processes that are gone.
            self.run("unlock", what="unlock")
        if marker is not None:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(f"{os.getpid()}\n", encoding="utf-8")
        with tempfile.NamedTemporaryFile("wb", prefix="mediacourier-restic-") as listing:
            # NUL-separated (--files-from-raw: --files-from-verbatim's form for any name, even
            # one with a newline in it): exactly these files, nothing expanded.
            listing.write(b"".join(os.fsencode(f) + b"\0" for f in files))
            listing.flush()
            args = ["backup", "--json", "--files-from-raw", listing.name,
                    "--compression", self.target.compression, "--tag", "mediacourier",
                    "--tag", f"mirror={self.label}"]
            for tag in self.target.tags:
                args += ["--tag", tag]
            if self._latest:
                args += ["--parent", self._latest]
            done = self.run(*args, what="backup", cwd=str(root), ok=(0, 3),
                            on_line=lambda line: _on_backup_line(line, result, progress))
        if marker is not None:
            marker.unlink(missing_ok=True)  # only after restic ended by itself
        if done.code == 3 and not result.errors:
            result.errors.append((".", "restic could not read some files: " + done.last_error()))
        if result.snapshot:
            self._verify(root, files, result)
        return result

    def _verify(self, root: Path, files: list[str], result: BackupResult) -> None:
        """Every file named is in the new snapshot with the size it has on disk."""
        stored = self._snapshot_files(result.snapshot)
        failed = {rel for rel, _ in result.errors}
        for rel in files:
            entry = stored.get(rel)
            if rel in failed:
                continue
            if entry is None:
                result.errors.append((rel, f"not in snapshot {result.snapshot[:8]}"))
                continue
            try:
                size = os.stat(root / rel, follow_symlinks=False).st_size
            except OSError:
                continue  # gone since: the next run's plan deletes it
            if size != entry.size:
                result.errors.append((rel, f"changed during the backup ({entry.size} bytes in "
                                      f"snapshot {result.snapshot[:8]}, {size} now): the "
                                      "next run carries it"))
        self._listing, self._latest = stored, result.snapshot

    def restore(self, paths: list[str], to: Path, snapshot: str | None = None) -> list[str]:
        chosen = snapshot or self.latest()
        if chosen is None:
            raise BackupRefused(f"targets.{self.name}: mirror {self.label!r} has no snapshot "
                                "yet: nothing to restore")
        args = ["restore", chosen, "--target", str(to), "--verify"]
        for path in paths:
            args += ["--include", "/" + _escape_pattern(path.strip("/"))]
        self.run(*args, what="restore")
        return sorted(str(p.relative_to(to).as_posix()) for p in to.rglob("*")
                      if p.is_file() and not p.is_symlink())

    def space(self, added: int) -> SpaceReport:
        return restic_space(lambda *args: self.run(*args, what="stats").stdout, added)

    def check(self, read_data: bool = False) -> None:
        """`restic check` (with --read-data: every pack read back and authenticated)."""
        self.run("check", *(["--read-data"] if read_data else []), what="check")

    def prune_if_due(self, now: float | None = None) -> str | None:
        """Apply the retention policy (`forget --prune`, then `check`) when `prune_every` has
        passed since the last time on this machine; a line saying so, or None."""
        if not self.target.keep or self.target.prune_every is None or self.state_dir is None:
            return None
        now = time.time() if now is None else now
        stamp = self._marker("pruned")
        assert stamp is not None
        try:
            last = float(stamp.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            last = 0.0
        if now - last < self.target.prune_every:
            return None
        self.run("unlock", what="unlock")  # only locks of runs that died: theirs are stale
        # Grouped by tags: --files-from snapshots each have their own paths, which would
        # make every snapshot a group of one that the policy never forgets.
        args = ["forget", "--prune", "--tag", f"mirror={self.label}", "--group-by", "tags"]
        for key, count in self.target.keep:
            args += ["--" + key.replace("_", "-"), str(count)]
        self.run(*args, what="forget --prune")
        self.check()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        stamp.write_text(f"{now}\n", encoding="utf-8")
        return f"retention applied ({', '.join(f'{k} {n}' for k, n in self.target.keep)})"

    def _marker(self, what: str) -> Path | None:
        """A file of this machine's own bookkeeping for this mirror on this repository."""
        if self.state_dir is None:
            return None
        return self.state_dir / f"restic-{what}-{self.name}-{self.label}"

    def maintain(self) -> str | None:
        return self.prune_if_due()

    def close(self) -> None:
        self._listing = None


def _on_backup_line(line: dict[str, Any], result: BackupResult,
                    progress: ProgressHook | None) -> None:
    kind = line.get("message_type")
    if kind == "status" and progress is not None:
        progress(int(line.get("files_done", 0)), int(line.get("total_files", 0)),
                 int(line.get("bytes_done", 0)), int(line.get("total_bytes", 0)))
    elif kind == "summary":
        result.snapshot = str(line.get("snapshot_id", ""))
        result.files = int(line.get("files_new", 0)) + int(line.get("files_changed", 0))
        result.bytes = int(line.get("total_bytes_processed", 0))
        result.added = int(line.get("data_added", 0))
        if progress is not None:  # status lines are throttled: the bar ends at the summary
            files, nbytes = int(line.get("total_files_processed", 0)), result.bytes
            progress(files, files, nbytes, nbytes)
    elif kind == "error":
        item = str(line.get("item", "")).lstrip("/") or "."
        result.errors.append((item, str((line.get("error") or {}).get("message", "error"))))


def _mapped(done: Completed, where: str, repository: str) -> Exception:
    text = done.stderr
    if "wrong password" in text:
        return BackupRefused(f"{where}: wrong repository password")
    if "already locked" in text:
        return BackupFailed(f"{where}: the repository is locked by another run (restic "
                            "removes the lock of a run that died; a live one must finish)")
    if "Is there a repository" in text or "unable to open config file" in text:
        return TargetUnreachable(f"{where}: no restic repository at {repository!r} (not "
                                 "mounted? a new one: restic init --repository-version 2)")
    if "no matching ID" in text or "invalid id" in text:
        return BackupRefused(f"{where}: no such snapshot: {done.last_error()}")
    if "connection refused" in text.lower() or "unable to start the sftp session" in text:
        return TargetUnreachable(f"{where}: {done.last_error()}")
    return BackupFailed(f"{where}: {done.last_error()}")


def _escape_pattern(path: str) -> str:
    """A literal path as a restic include pattern (its `*`, `?`, `[` and `\\` escaped)."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in path)


def _json(text: str, default: Any) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return default
