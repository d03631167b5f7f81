"""No two folders mediacourier reads from and writes to may overlap.

A library equal to a source verifies a file against itself and deletes it; a library inside a
move-mode source comes back as new source files that are duplicates of themselves; a source
inside its library, or an archive inside its source, is walked again and again; a mirror target
inside a library deletes library files as "not in the source". So sources, libraries, archive
folders, mirror trees and targets are compared after resolving symlinks (`os.path.realpath`):
equal folders, or one inside another in either direction, are a configuration error naming both
keys and both resolved paths.

Three overlaps are by design and allowed:
- a mirror's `source_path` with a library or archive, or with another mirror's tree: a mirror
  only reads its tree (and `library = "main"` IS a library by design);
- a library that lives on a target (`target = "disk"`) with that target's root, as long as no
  mirror writes to that target (a mirror would delete the library's files there);
- two libraries sharing one archive folder: duplicates go under `<source name>/` in it.

Folders on an SSH target are compared with the other folders on the same host, as written (they
cannot be resolved from here). With `[hosts.*]`, two local folders only conflict when one host
reaches both: the same path on two machines is two folders.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import combinations

from shared.config.settings import Settings
from shared.errors import ConfigError

READ_ONLY = "mirror"  # a mirror's own tree: read, never written


@dataclass(frozen=True)
class Root:
    key: str  # e.g. "[sources.phone] path"
    kind: str  # source | library | archive | mirror | target
    name: str  # the table's name
    place: str  # "" for this machine's file system, "ssh:HOST" for a folder on a target
    path: str  # resolved (local) or normalised (remote)
    reach: tuple[tuple[str, str], ...]  # the [hosts.*] entries that reach it

    def shown(self) -> str:
        where = self.place.removeprefix("ssh:") + ":" if self.place else ""
        return f"{self.key} ({where}{self.path})"


def check_overlaps(settings: Settings, name: str) -> None:
    """ConfigError (one line naming both keys and both resolved paths) for the first overlap."""
    roots = list(_roots(settings))
    for a, b in combinations(roots, 2):
        if a.place != b.place or not _related(a.path, b.path):
            continue
        if _by_design(a, b, settings) or not _same_machine(a, b, settings):
            continue
        inner, outer = (a, b) if _inside(a.path, b.path) else (b, a)
        relation = "is the same folder as" if a.path == b.path else "lies inside"
        raise ConfigError(f"{name}: {inner.shown()} {relation} {outer.shown()}: these folders "
                          "must not overlap, or mediacourier could take a file for its own "
                          "copy and delete it")
    _check_shared_mirror_targets(settings, name)


def _roots(settings: Settings) -> Iterator[Root]:
    for source in settings.sources.values():
        yield Root(f"[sources.{source.name}] path", "source", source.name, "",
                   _real(source.path), (("sources", source.name),))
    for library in settings.libraries.values():
        reach = (("libraries", library.name),) + \
            ((("targets", library.target),) if library.target else ())
        target = settings.targets.get(library.target) if library.target else None
        if target is not None and target.over_ssh:
            yield Root(f"[libraries.{library.name}] path", "library", library.name,
                       f"ssh:{target.host}", posixpath.normpath(str(library.path)), reach)
        else:
            yield Root(f"[libraries.{library.name}] path", "library", library.name, "",
                       _real(library.path), reach)
        if library.archive_path is not None:
            yield Root(f"[libraries.{library.name}] archive_path", "archive", library.name, "",
                       _real(library.archive_path), reach)
    for mirror in settings.mirrors.values():
        if mirror.source_path is not None:  # a library's mirror: its tree is the library
            yield Root(f"[mirrors.{mirror.name}] source_path", READ_ONLY, mirror.name, "",
                       _real(mirror.source_path), (("mirrors", mirror.name),))
    for target in settings.targets.values():
        if target.kind == "robocopy":  # a Windows path on a Windows worker: not comparable
            continue
        place = f"ssh:{target.host}" if target.over_ssh else ""
        path = posixpath.normpath(target.root) if target.over_ssh else _real(target.root)
        yield Root(f"[targets.{target.name}] root", "target", target.name, place, path,
                   (("targets", target.name),))


def _by_design(a: Root, b: Root, settings: Settings) -> bool:
    kinds = {a.kind, b.kind}
    if READ_ONLY in kinds and kinds <= {READ_ONLY, "library", "archive"}:
        return True
    if kinds == {"archive"}:
        return a.path == b.path
    if kinds == {"library", "target"}:
        library, target = (a, b) if a.kind == "library" else (b, a)
        mirrored = any(m.target == target.name for m in settings.mirrors.values())
        return settings.libraries[library.name].target == target.name and not mirrored
    return False


def _same_machine(a: Root, b: Root, settings: Settings) -> bool:
    """Whether one machine sees both folders: always without [hosts.*], and on an SSH target."""
    if not settings.hosts or a.place:
        return True
    return any(any(host.reaches(*ref) for ref in a.reach) and
               any(host.reaches(*ref) for ref in b.reach) for host in settings.hosts.values())


def _check_shared_mirror_targets(settings: Settings, name: str) -> None:
    """Two mirrors of different trees to one target: each run deletes the other's replica as
    "not in my tree". (Two schedules of one tree to one target are one replica.)"""
    first: dict[str, tuple[str, str]] = {}
    for mirror in settings.mirrors.values():
        tree = _real(settings.mirror_root(mirror))
        other, other_tree = first.setdefault(mirror.target, (mirror.name, tree))
        if other_tree != tree:
            raise ConfigError(f"{name}: [mirrors.{mirror.name}] ({tree}) and [mirrors.{other}] "
                              f"({other_tree}) both mirror to [targets.{mirror.target}]: each "
                              "would delete the other's files there")


def _real(path: str | os.PathLike[str]) -> str:
    return os.path.realpath(path)


def _inside(inner: str, outer: str) -> bool:
    return inner == outer or inner.startswith(outer.rstrip("/") + "/")


def _related(a: str, b: str) -> bool:
    return _inside(a, b) or _inside(b, a)
