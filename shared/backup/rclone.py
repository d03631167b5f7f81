"""An rclone remote as a mirror's target: S3, B2, WebDAV, Drive... and `crypt` over any of them.

Files go in batches with `rclone copy --files-from-raw` (the list taken as it is: a name
starting with '#' is a file, not a comment), compared by hash (`--checksum`) where the backend
keeps one. Each batch is then verified with `rclone check --one-way`, with `--download` where
the backend has no hash (crypt): the bytes are read back and compared. Copies go first and
deletes last, and only the ones the mirror's guard let through.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from shared.backup.command import Completed, mtime_ns, run_tool
from shared.backup.repository import BackupResult, ProgressHook, SpaceReport
from shared.backup.space import rclone_space
from shared.config import RcloneTarget
from shared.errors import BackupFailed, BackupRefused, TargetUnreachable
from shared.transfer import RemoteEntry

RCLONE = "rclone"
BATCH = 1000  # files per `rclone copy`: progress stays fine-grained, lists stay small
_QUIET = ("--use-json-log", "--stats", "1s", "--stats-log-level", "NOTICE")


class RcloneRepository:
    whole_tree = False

    def __init__(self, target: RcloneTarget, label: str, env: Mapping[str, str] | None = None,
                 batch: int = BATCH) -> None:
        self.target, self.name, self.label = target, target.name, label
        self.location = target.location
        self.batch = max(1, batch)
        self._env = dict(os.environ if env is None else env)
        self._hashes: list[str] | None = None

    def run(self, *args: str, what: str = "", on_line: Any = None,
            ok: tuple[int, ...] = (0,)) -> Completed:
        argv = [RCLONE, *(["--config", str(self.target.config_file)]
                          if self.target.config_file else []), *args]
        where = f"targets.{self.name} ({what or args[0]})"
        done = run_tool(argv, self._env, where, on_line, ok=tuple(range(0, 10)))
        if done.code in ok:
            return done
        text = done.stderr
        if "didn't find section in config file" in text or "not found in config" in text:
            raise BackupRefused(f"{where}: no remote {self.target.remote!r} in the rclone "
                                "config")
        if done.code in (3, 5):  # directory not found, or a temporary error
            raise TargetUnreachable(f"{where}: {done.last_error()}")
        raise BackupFailed(f"{where}: {done.last_error()}")

    @property
    def hashes(self) -> list[str]:
        """The hash types the backend keeps; none for crypt (its files are ciphertext)."""
        if self._hashes is None:
            done = self.run("backend", "features", self.location, what="features")
            try:
                self._hashes = list(json.loads(done.stdout).get("Hashes") or [])
            except ValueError:
                self._hashes = []
        return self._hashes

    def list_files(self) -> Iterator[RemoteEntry]:
        done = self.run("lsjson", "-R", "--files-only", self.location, what="lsjson",
                        ok=(0, 3))
        if done.code == 3:  # the path does not exist yet: an empty backup
            return iter(())
        entries = json.loads(done.stdout or "[]")
        return iter([RemoteEntry(e["Path"], int(e["Size"]), mtime_ns(e["ModTime"]))
                     for e in entries])

    def sha256(self, rel_path: str) -> str | None:
        return None

    def backup(self, root: Path, files: list[str], deletes: list[str],
               progress: ProgressHook | None = None) -> BackupResult:
        result = BackupResult()
        files, deletes = _listable(files, result), _listable(deletes, result)
        sizes = {rel: _size(root / rel) for rel in files}
        total_bytes = sum(sizes.values())
        done_files = done_bytes = 0
        for start in range(0, len(files), self.batch):
            batch = files[start:start + self.batch]

            def on_line(line: dict[str, Any], before: tuple[int, int] = (done_files,
                                                                           done_bytes)) -> None:
                stats = line.get("stats")
                if progress is not None and isinstance(stats, dict):
                    progress(before[0] + int(stats.get("transfers", 0)), len(files),
                             before[1] + int(stats.get("bytes", 0)), total_bytes)

            good = self._copy_batch(root, batch, result, on_line)
            result.files += len(good)
            result.bytes += sum(sizes[rel] for rel in good)
            done_files += len(batch)
            done_bytes += sum(sizes[rel] for rel in batch)
            if progress is not None:
                progress(done_files, len(files), done_bytes, total_bytes)
        result.added = result.bytes
        for start in range(0, len(deletes), self.batch):
            batch = deletes[start:start + self.batch]
            with _file_list(batch) as listing:
                self.run("delete", self.location, "--files-from-raw", listing, *_QUIET,
                         what="delete")
            result.deleted += len(batch)
        return result

    def _copy_batch(self, root: Path, batch: list[str], result: BackupResult,
                    on_line: Any) -> list[str]:
        """Copy, then check: the files of the batch that are verified on the remote."""
        with _file_list(batch) as listing:
            compare = ["--checksum"] if self.hashes else []
            copied = self.run("copy", str(root), self.location, "--files-from-raw", listing,
                              "--no-traverse", *compare, *_QUIET, what="copy",
                              on_line=on_line, ok=tuple(range(0, 10)))
            return self._checked(str(root), self.location, listing, batch, result, copied)

    def _checked(self, src: str, dst: str, listing: str, batch: list[str],
                 result: BackupResult, copied: Completed | None = None) -> list[str]:
        with tempfile.TemporaryDirectory(prefix="mediacourier-rclone-") as folder:
            combined = os.path.join(folder, "combined")
            download = [] if self.hashes else ["--download"]
            done = self.run("check", src, dst, "--files-from-raw", listing, "--one-way",
                            *download, "--combined", combined, *_QUIET, what="check",
                            ok=(0, 1))
            verdicts = _combined(combined)
        if not verdicts and done.code != 0:  # nothing checked at all: the remote is not there
            reason = copied.last_error() if copied is not None and copied.code else \
                done.last_error()
            raise BackupFailed(f"targets.{self.name} (copy): {reason}")
        good = []
        for rel in batch:
            verdict = verdicts.get(rel)
            if verdict == "=":
                good.append(rel)
            else:
                why = {"*": "differs on the remote after the copy", "+": "missing on the "
                       "remote after the copy", "!": "could not be checked"}.get(verdict or "",
                                                                                 "not checked")
                result.errors.append((rel, why))
        return good

    def restore(self, paths: list[str], to: Path, snapshot: str | None = None) -> list[str]:
        if snapshot:
            raise BackupRefused(f"targets.{self.name}: an rclone remote keeps no snapshots; "
                                "restore without --snapshot")
        wanted = [p.strip("/") for p in paths]
        names = sorted(e.rel_path for e in self.list_files()
                       if not wanted or any(e.rel_path == p or e.rel_path.startswith(p + "/")
                                            for p in wanted))
        if not names:
            return []
        result = BackupResult()
        with _file_list(names) as listing:
            self.run("copy", self.location, str(to), "--files-from-raw", listing, *_QUIET,
                     what="restore")
            good = self._checked(self.location, str(to), listing, names, result)
        if result.errors:
            rel, why = result.errors[0]
            raise BackupFailed(f"targets.{self.name} (restore): {len(result.errors)} files "
                               f"not restored intact, first {rel}: {why}")
        return good

    def space(self, added: int) -> SpaceReport:
        done = self.run("size", "--json", self.location, what="size", ok=(0, 3))
        return rclone_space(done.stdout if done.code == 0 else "{}", added)

    def maintain(self) -> str | None:
        return None  # a copy has no history to thin out

    def close(self) -> None:
        self._hashes = None


class _file_list:  # noqa: N801 - used like tempfile's context managers
    """A NUL-free, newline-separated list in a temp file, removed afterwards."""

    def __init__(self, names: list[str]) -> None:
        self.names = names

    def __enter__(self) -> str:
        fd, self.path = tempfile.mkstemp(prefix="mediacourier-rclone-")
        with os.fdopen(fd, "wb") as out:
            out.write(b"".join(os.fsencode(n) + b"\n" for n in self.names))
        return self.path

    def __exit__(self, *exc: object) -> None:
        os.unlink(self.path)


def _listable(names: list[str], result: BackupResult) -> list[str]:
    """rclone's file lists are lines: a name with a newline in it cannot be given."""
    for rel in names:
        if "\n" in rel or "\r" in rel:
            result.errors.append((rel, "a line break in the name: rclone cannot list it"))
    return [rel for rel in names if "\n" not in rel and "\r" not in rel]


def _size(path: Path) -> int:
    try:
        return os.stat(path, follow_symlinks=False).st_size
    except OSError:
        return 0


def _combined(path: str) -> dict[str, str]:
    """`rclone check --combined`: "= a.jpg" same, "* a.jpg" differs, "+ a.jpg" only in the
    source, "- a.jpg" only on the destination, "! a.jpg" error."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="surrogateescape")
    except OSError:
        return {}
    return {line[2:]: line[0] for line in text.splitlines() if len(line) > 2}
