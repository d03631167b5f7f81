"""Planning a mirror: robocopy `/MIR /XO` semantics over any `Destination`.

Copy new files, update changed ones (size or modification time differ), keep destination files
that are newer than the source (reported), rename instead of re-uploading a file that only moved,
delete destination extras — all listed in a `MirrorPlan` before anything changes.

A part of the source that cannot be read (EACCES, EIO, a share dropping, a folder vanishing
mid-walk) is *unknown*, never *absent*: no destination file under it is deleted or renamed away,
and the plan lists it so the run can report it and end in failure.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from shared.errors import SourceVanished
from shared.transfer import TMP_PREFIX, Destination, RemoteEntry, file_sha256

# Compared lower-cased: Windows and SMB shares treat these names case-insensitively.
EXCLUDED_FILES = frozenset({"thumbs.db", ".ds_store", "desktop.ini"})
EXCLUDED_DIRS = frozenset({"@eadir"})
COPY, UPDATE, RENAME, DELETE, SKIP = "copy", "update", "rename", "delete", "skip"
NEWER = "destination is newer (kept, /XO)"


@dataclass(frozen=True)
class Action:
    kind: str  # copy | update | rename | delete | skip
    rel_path: str
    size: int = 0
    mtime_ns: int = 0
    reason: str = ""
    old_path: str = ""  # a rename's current name on the destination


@dataclass(frozen=True)
class Unreadable:
    """A part of the source the walk could not read: below it nothing is known to be absent."""

    rel_path: str  # a folder ends with "/"; "" is the whole source
    reason: str
    transient: bool  # EIO, a vanished folder: the next run may read it; EACCES will not

    def covers(self, rel_path: str) -> bool:
        # An unreadable entry may be a folder too (is_dir itself failed): cover both.
        base = self.rel_path.rstrip("/")
        return not base or rel_path == base or rel_path.startswith(base + "/")

    def line(self, where: bool = True) -> str:
        what = f"{self.reason}; nothing under it was deleted or renamed"
        return f"{self.rel_path or 'the source folder'}: {what}" if where else what


@dataclass
class MirrorPlan:
    copies: list[Action] = field(default_factory=list)
    updates: list[Action] = field(default_factory=list)
    renames: list[Action] = field(default_factory=list)
    deletes: list[Action] = field(default_factory=list)
    skipped: list[Action] = field(default_factory=list)
    unchanged: int = 0
    destination_files: int = 0
    unknown: list[Unreadable] = field(default_factory=list)
    kept_unknown: int = 0  # destination files kept because their source part was unreadable
    guard: str | None = None  # why the deletes exceed the guard, None when they do not
    # The destination as listed, and the source side of the files found in sync: what the
    # conflict check (conflicts.py) compares with the state as last synced.
    listing: dict[str, RemoteEntry] = field(default_factory=dict)
    unchanged_files: dict[str, RemoteEntry] = field(default_factory=dict)

    @property
    def transfers(self) -> list[Action]:
        return self.copies + self.updates

    @property
    def transfer_bytes(self) -> int:
        return sum(a.size for a in self.transfers)

    def actions(self) -> list[Action]:
        return self.copies + self.updates + self.renames + self.deletes + self.skipped


class MirrorRules:
    """What a mirror leaves alone on both sides: system clutter, our temp files, user globs.

    Globs are fnmatch patterns matched case-insensitively against the bare name and the POSIX
    path relative to the root (`*` also matches '/'). Excluded destination files are neither
    compared nor deleted, as with robocopy `/XF` and rsync `--exclude`.
    """

    def __init__(self, patterns: Iterable[str] = ()) -> None:
        self.patterns = tuple(patterns)
        joined = "|".join(fnmatch.translate(p) for p in self.patterns)
        self._user = re.compile(joined, re.IGNORECASE) if joined else None

    def _user_match(self, name: str, rel_path: str) -> bool:
        return self._user is not None and bool(
            self._user.match(name) or self._user.match(rel_path))

    def file_reason(self, name: str, rel_path: str) -> str | None:
        if name.lower() in EXCLUDED_FILES:
            return f"excluded: system file {name}"
        if name.startswith(TMP_PREFIX):
            return "excluded: mediacourier temporary file"
        if self._user_match(name, rel_path):
            return "excluded by pattern"
        return None

    def dir_reason(self, name: str, rel_path: str) -> str | None:
        if name.lower() in EXCLUDED_DIRS:
            return f"excluded: system folder {name}"
        if name.startswith(TMP_PREFIX):  # ours: a library's quarantine is never replicated
            return "excluded: mediacourier folder"
        if self._user_match(name, rel_path) or self._user_match(name + "/", rel_path + "/"):
            return "excluded by pattern"
        return None

    def excludes_path(self, rel_path: str) -> bool:
        parts = rel_path.split("/")
        for depth, part in enumerate(parts[:-1]):
            if self.dir_reason(part, "/".join(parts[: depth + 1])):
                return True
        return self.file_reason(parts[-1], rel_path) is not None


def _unreadable(rel: str, exc: OSError, what: str) -> Unreadable:
    transient = exc.errno not in (errno.EACCES, errno.EPERM)
    return Unreadable(rel, f"{what}: {exc.strerror or exc}", transient)


def walk_tree(root: Path, rules: MirrorRules, skipped: list[Action],
              unknown: list[Unreadable] | None = None) -> dict[str, RemoteEntry]:
    """Regular files under root by relative path; what is left out goes to `skipped`, what
    could not be read (a folder, or a file listed but not stat-able) to `unknown`."""
    unknown = unknown if unknown is not None else []
    files: dict[str, RemoteEntry] = {}
    stack = [(str(root), "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            with os.scandir(folder) as listing:
                items = sorted(listing, key=lambda e: e.name)
        except OSError as exc:
            # Listed by its parent (or the root itself), unreadable now: unknown, not empty.
            unknown.append(_unreadable(prefix, exc, "unreadable folder"))
            continue
        for entry in items:
            rel = prefix + entry.name
            try:
                _walk_entry(entry, rel, rules, skipped, stack, files)
            except OSError as exc:
                unknown.append(_unreadable(rel, exc, "unreadable entry"))
    return files


def _walk_entry(entry: os.DirEntry[str], rel: str, rules: MirrorRules, skipped: list[Action],
                stack: list[tuple[str, str]], files: dict[str, RemoteEntry]) -> None:
    if entry.is_dir(follow_symlinks=False):
        reason = rules.dir_reason(entry.name, rel)
        if reason:
            skipped.append(Action(SKIP, rel + "/", reason=reason))
        else:
            stack.append((entry.path, rel + "/"))
        return
    reason = rules.file_reason(entry.name, rel)
    if reason is None and not entry.is_file(follow_symlinks=False):
        reason = "not a regular file (symbolic link, device or pipe)"
    if reason:
        skipped.append(Action(SKIP, rel, reason=reason))
        return
    info = entry.stat(follow_symlinks=False)
    files[rel] = RemoteEntry(rel, info.st_size, info.st_mtime_ns)


def plan_mirror(
    source_root: Path,
    destination: Destination,
    rules: MirrorRules,
    modify_window: float = 2.0,
    max_delete: int = 50,
    max_delete_share: float = 0.1,
    source_sha256: Callable[[str], str] | None = None,
) -> MirrorPlan:
    """Compare source_root with the destination; nothing is changed."""
    if not Path(source_root).is_dir():

        raise SourceVanished(f"{source_root}: the mirror's source folder does not exist")
    plan = MirrorPlan()
    source = walk_tree(Path(source_root), rules, plan.skipped, plan.unknown)
    remote = {e.rel_path: e for e in destination.list_files()
              if not rules.excludes_path(e.rel_path)}
    plan.destination_files = len(remote)
    plan.listing = dict(remote)
    for rel in [r for r in remote if any(u.covers(r) for u in plan.unknown)]:
        # Its source part could not be read: neither an extra to delete nor one to rename.
        del remote[rel]
        plan.kept_unknown += 1
    window_ns = int(modify_window * 1e9)
    new: list[RemoteEntry] = []
    for rel in sorted(source):
        local, there = source[rel], remote.pop(rel, None)
        if there is None:
            new.append(local)
        elif local.size == there.size and abs(local.mtime_ns - there.mtime_ns) <= window_ns:
            plan.unchanged += 1
            plan.unchanged_files[rel] = local
        elif there.mtime_ns > local.mtime_ns + window_ns:
            plan.skipped.append(Action(SKIP, rel, local.size, local.mtime_ns, NEWER))
        else:
            what = "size differs" if local.size != there.size else "source is newer"
            plan.updates.append(Action(UPDATE, rel, local.size, local.mtime_ns, what))
    hash_source = source_sha256 or (lambda rel: file_sha256(os.path.join(source_root, rel)))
    renamed = _match_renames(new, remote, destination, hash_source, window_ns, plan)
    for entry in new:
        if entry.rel_path not in renamed:
            plan.copies.append(Action(COPY, entry.rel_path, entry.size, entry.mtime_ns, "new"))
    for rel in sorted(remote):
        plan.deletes.append(Action(DELETE, rel, remote[rel].size, remote[rel].mtime_ns,
                                   "not in the source"))
    plan.guard = guard_message(len(plan.deletes), plan.destination_files, max_delete,
                               max_delete_share)
    return plan


def _match_renames(new: list[RemoteEntry], extras: dict[str, RemoteEntry],
                   destination: Destination, hash_source: Callable[[str], str], window_ns: int,
                   plan: MirrorPlan) -> set[str]:
    """New source files whose content already sits on the destination under an extra name.

    Candidates must match in size and modification time (so the renamed file is unchanged on
    the next run); sha256 on both sides decides. Each extra is used at most once.
    """
    by_size: dict[int, list[RemoteEntry]] = defaultdict(list)
    for entry in extras.values():
        by_size[entry.size].append(entry)
    remote_hashes: dict[str, str | None] = {}
    renamed: set[str] = set()
    for entry in new:
        candidates = [c for c in by_size.get(entry.size, ())
                      if c.rel_path in extras and abs(c.mtime_ns - entry.mtime_ns) <= window_ns]
        if not candidates:
            continue
        try:
            want = hash_source(entry.rel_path)
        except OSError:
            continue  # unreadable now: the copy reports it
        for candidate in candidates:
            if candidate.rel_path not in remote_hashes:
                remote_hashes[candidate.rel_path] = destination.sha256(candidate.rel_path)
            if remote_hashes[candidate.rel_path] == want:
                del extras[candidate.rel_path]
                renamed.add(entry.rel_path)
                plan.renames.append(Action(RENAME, entry.rel_path, entry.size, entry.mtime_ns,
                                           "same content", old_path=candidate.rel_path))
                break
    return renamed


def guard_message(deletes: int, destination_files: int, max_delete: int,
                  max_delete_share: float) -> str | None:
    """Why `deletes` is too many, or None. Either limit alone refuses."""
    if deletes == 0:
        return None
    share = deletes / destination_files if destination_files else 1.0
    if deletes > max_delete or share > max_delete_share:
        return (f"would delete {deletes} of {destination_files} destination files "
                f"({share:.0%}); the guard allows at most {max_delete} files and "
                f"{max_delete_share:.0%} of the destination: check the source, then use --force")
    return None
