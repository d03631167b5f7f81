"""Task arguments that name files, checked against the configured roots before anything is
touched.

Anyone who can write to the broker can call any task with any arguments (`celery call`), so a
`FileJob` or a path from a message is input, not a fact: its source must be configured, its
`rel_path` a plain relative path, and what it names must still lie inside the source's root
once symlinks are resolved (a symlinked folder inside the source that points elsewhere reaches
files outside every root). A source that a `[flows.NAME]` takes is the flow's alone, and a
Nextcloud source's files are those of its users' watched folders only (not `appdata_*`, not
`files_trashbin`, not an excluded user's). Each refusal is a `PathRefused` with one line
saying why.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any, Protocol

from shared.config import (
    LibraryConfig,
    Settings,
    SourceConfig,
    is_user_folder_name,
    user_filter_reason,
)
from shared.errors import PathRefused
from shared.jobs import FileJob, Outcome
from shared.source.nextcloud import user_of

log = logging.getLogger(__name__)


class Journal(Protocol):
    def journal(self, event: str, **fields: Any) -> None: ...


def journal_refusal(store: Journal, exc: Exception, task: str, source: Any = None,
                    path: Any = None) -> None:
    """Journal (`refused`) and log a task argument that was refused; nothing was touched."""
    log.warning("%s refused: %s", task, exc)
    store.journal("refused", task=task, source=source, path=path, reason=str(exc))


def plain_rel_path(value: object, what: str) -> str:
    """`value` when it is a '/'-separated relative path without '', '.' or '..' parts and NUL."""
    if not isinstance(value, str) or not value:
        raise PathRefused(f"{what} {value!r}: not a relative path")
    if "\0" in value:
        raise PathRefused(f"{what} {value!r}: contains a NUL byte")
    if value.startswith("/"):
        raise PathRefused(f"{what} {value!r}: absolute; give a path relative to the root")
    if any(part in ("", ".", "..") for part in value.split("/")):
        raise PathRefused(f"{what} {value!r}: not a plain relative path (empty, '.' or '..' "
                          "parts)")
    return value


def resolved_inside(root: str | os.PathLike[str], rel: str, what: str) -> str:
    """root/rel with its folders resolved, which must lie strictly inside the realpath of root.

    The folders are resolved (a symlinked folder leading out is refused); the last component is
    not: a file that is itself a symlink is no path out, since no stage follows it (each opens
    with O_NOFOLLOW) and it fails as "a symbolic link", listed for `status`."""
    real_root = os.path.realpath(root)
    folder, name = os.path.split(os.path.join(real_root, rel))
    real = os.path.join(os.path.realpath(folder), name)
    if not real.startswith(real_root.rstrip("/") + "/"):
        raise PathRefused(f"{what} {rel!r}: resolves to {real}, outside {real_root}")
    return real


def checked_source(settings: Settings, name: object) -> SourceConfig:
    source = settings.sources.get(name) if isinstance(name, str) else None
    if source is None:
        known = ", ".join(settings.sources) or "none"
        raise PathRefused(f"no source named {name!r}; configured: {known}")
    flow = settings.flow_fed_by(source.name)
    if flow is not None:
        raise PathRefused(f"source {source.name!r} is fed to flow {flow.name!r}: its files go "
                          f"through the flow (mediacourier flow {flow.name} --run), not ingested "
                          "on their own")
    return source


def watched_file(source: SourceConfig, rel: str, what: str) -> str:
    """`rel`, resolved inside the source's root, when the source would pick the file up itself:
    for a Nextcloud source, only inside a kept user's `user_folder`, both as given and once
    symlinks are resolved (a link out of InstantUpload into appdata_* or another user's trash
    is refused too)."""
    real = resolved_inside(source.path, rel, what)
    options = source.nextcloud
    if options is None:
        return real
    real_rel = os.path.relpath(real, os.path.realpath(source.path)).replace(os.sep, "/")
    for candidate in dict.fromkeys((rel, real_rel)):
        user = user_of(candidate)
        shown = rel if candidate == rel else f"{rel} (resolves to {candidate})"
        if user and is_user_folder_name(user):
            why = user_filter_reason(user, options)
            if why:
                raise PathRefused(f"{what} {shown!r}: Nextcloud user {user!r} is left out "
                                  f"({why}) of source {source.name!r}")
            if any(candidate.startswith(f"{user}/{folder}/") for folder in options.user_folders):
                continue
        folders = " or ".join(f"<user>/{folder}" for folder in options.user_folders)
        raise PathRefused(f"{what} {shown!r}: not inside any user's {folders} of Nextcloud "
                          f"source {source.name!r}")
    return real


def checked_job(settings: Settings, data: object) -> FileJob:
    """The FileJob of a task argument, after every check; PathRefused when it fails one."""
    if not isinstance(data, Mapping):
        raise PathRefused(f"job {data!r}: not a FileJob (a JSON object)")
    try:
        job = FileJob.from_dict(dict(data))
    except (TypeError, ValueError) as exc:
        raise PathRefused(f"job {_short(data)}: not a FileJob: {exc}") from None
    source = checked_source(settings, job.source)
    where = f"sources.{source.name}: rel_path"
    watched_file(source, plain_rel_path(job.rel_path, where), where)
    if job.dest_path:
        _check_dest(settings.library_of(source), job, settings)
    return job


def checked_item(source: SourceConfig, item: object) -> tuple[str, int, int]:
    """One `[rel_path, size, mtime_ns]` of an `ingest_batch`, checked like a job's rel_path."""
    if not isinstance(item, list | tuple) or len(item) != 3 or \
            not all(isinstance(v, int) and not isinstance(v, bool) for v in item[1:]):
        raise PathRefused(f"batch item {_short(item)}: not [rel_path, size, mtime_ns]")
    where = f"sources.{source.name}: rel_path"
    watched_file(source, plain_rel_path(item[0], where), where)
    return item[0], item[1], item[2]


def locate_file(settings: Settings, path: object) -> tuple[SourceConfig, str]:
    """The source holding the absolute `path` and its path in it, after resolving symlinks:
    `inbox/../x` and `inbox/link-to-elsewhere/x` are outside the inbox."""
    if not isinstance(path, str) or not os.path.isabs(path) or "\0" in path:
        raise PathRefused(f"{path!r}: give an absolute path inside a configured source")
    real = os.path.realpath(path)
    for source in settings.sources.values():
        root = os.path.realpath(source.path)
        if real.startswith(root.rstrip("/") + "/"):
            rel = os.path.relpath(real, root).replace(os.sep, "/")
            checked_source(settings, source.name)  # a flow's source is the flow's alone
            watched_file(source, rel, path)
            return source, rel
    shown = "" if real == os.path.abspath(path) else f" (resolves to {real})"
    raise PathRefused(f"{path}{shown}: outside every configured source; nothing was touched")


def _check_dest(library: LibraryConfig, job: FileJob, settings: Settings) -> None:
    where = f"libraries.{library.name}: dest_path"
    rel = plain_rel_path(job.dest_path, where)
    target = settings.targets.get(library.target) if library.target else None
    # A duplicate's dest_path is the holder's, possibly in another library; a library on an
    # SSH target cannot be resolved from here. Both are still plain relative paths.
    if job.outcome != Outcome.DUPLICATE and (target is None or not target.over_ssh):
        resolved_inside(library.path, rel, where)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."
