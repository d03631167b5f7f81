"""A fast walk over a source folder, yielding the files worth carrying.

Sources can hold hundreds of thousands of files, and the walk runs on every scheduled scan, so
the per-file work is kept to one name check and one lstat: strings instead of Path objects, an
explicit stack instead of recursion or os.walk.
"""

from __future__ import annotations

import logging
import os
import stat as stat_module
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from shared.media import IgnoreRules

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Entry:
    """One file found in a source. `rel_path` is relative to the source root, '/'-separated.

    `is_regular` is False for symlinks, FIFOs, sockets and devices: they are still reported so
    the pipeline can record why it will not carry them.
    """

    rel_path: str
    size: int
    mtime_ns: int
    inode: int
    is_regular: bool


Version = tuple[str, int, int, int, bool]  # rel_path, size, mtime_ns, inode, is_regular


Known = Callable[[str, os.stat_result], bool]  # (rel_path, lstat) -> already known as is?


def _list_folder(
    folder: str, prefix: str, rules: IgnoreRules, known: Known | None = None
) -> tuple[list[Version], list[tuple[str, str]]]:
    """Accepted files (as plain tuples: a reconcile of 100,000 files makes no object per file
    it finds unchanged) and sub-folders to descend into, for one folder. Never raises.

    A file `known` says is known as it is (a reconcile: recorded, done, same size and mtime) is
    left out before the rules are asked: they were when it was recorded."""
    files: list[Version] = []
    subfolders: list[tuple[str, str]] = []
    is_reg = stat_module.S_ISREG
    accepts = rules.accepts_file
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                name = entry.name
                try:
                    # d_type from readdir: no extra system call for the common case.
                    if entry.is_dir(follow_symlinks=False):
                        rel = prefix + name
                        if not rules.prunes_dir(name, rel):
                            subfolders.append((entry.path, rel + "/"))
                        continue
                    rel = prefix + name
                    if known is None:
                        if not accepts(rel, name):
                            continue
                        info = entry.stat(follow_symlinks=False)
                    else:
                        info = entry.stat(follow_symlinks=False)
                        if known(rel, info) or not accepts(rel, name):
                            continue
                except OSError:
                    # Vanished between readdir and stat: the next scan or event will settle it.
                    continue
                files.append((rel, info.st_size, info.st_mtime_ns, info.st_ino,
                              is_reg(info.st_mode)))
    except OSError as exc:
        # Permission denied, a share that dropped away mid-walk: skip this folder, keep walking.
        log.warning("cannot list folder %r, skipping it: %s", folder, exc)
    return files, subfolders


def _inside_without_links(root: str, rel: str) -> bool:
    """Whether every component of `rel` under `root` is a real folder, not a symlink: a
    start folder reached through a link would walk files outside the root."""
    path = root
    for part in rel.split("/"):
        if part in ("", ".", ".."):
            return False
        path = os.path.join(path, part)
        try:
            if not stat_module.S_ISDIR(os.lstat(path).st_mode):
                return False
        except OSError:
            return False
    return True


def walk_versions(root: Path | str, rules: IgnoreRules, start: str = "",
                  known: Known | None = None) -> Iterator[list[Version]]:
    """The accepted files under `root`, one list per folder, as (rel_path, size, mtime_ns,
    inode, is_regular) tuples, less those `known` knows; the rules and guarantees of
    `walk_source`."""
    root_str = os.fspath(root)
    start = start.strip("/")
    if start:
        folder = os.path.join(root_str, *start.split("/"))
        if not _inside_without_links(root_str, start):
            return
        stack = [(folder, start + "/")]
    else:
        stack = [(root_str, "")]
    while stack:
        folder, prefix = stack.pop()
        files, subfolders = _list_folder(folder, prefix, rules, known)
        yield files
        # Reversed so that folders are visited in listing order; purely cosmetic for logs.
        stack.extend(reversed(subfolders))


def walk_source(root: Path | str, rules: IgnoreRules, start: str = "") -> Iterator[Entry]:
    """Yield every accepted file under `root`, without following folder symlinks.

    `start` is an optional posix path of a sub-folder of `root` to walk instead of the whole
    tree (the watcher uses it for a folder that just appeared); paths stay relative to `root`.
    A `start` that is (or lies under) a symlink walks nothing.
    Unreadable folders are logged and skipped; the walk never raises for file-system errors.
    """
    for files in walk_versions(root, rules, start):
        for version in files:
            yield Entry(*version)
