"""Sets stay together: a Live Photo's still and video, RAW+JPEG and HEIC+JPEG pairs land in
one folder under one stem.

A set is found in the source: the files of one folder that share a stem (`IMG_1.CR3`,
`IMG_1.JPG`), and a still and a video that carry the same Apple identifier
(ContentIdentifier / MediaGroupUUID, remembered per source when the still is placed), whatever
their names. Two files with the same stem but different identifiers are two Live Photos, not a
set. The first of a set (stills before videos, then by name) is placed by the layout; each
other member takes its folder and its final stem, collision suffix included (`IMG_1 (2).HEIC`
-> `IMG_1 (2).MOV`), so the video of a Live Photo lands under its still's date. A member whose
first is still in the source and not yet placed waits a short, fixed time (SetPartnerPending,
like a twin's wait: no retry used up); sidecars then pair with whichever member they name, as
always (placing.py), and so travel with the set.

A burst (shots sharing Apple's BurstUUID, or Google Camera's XMP BurstID) is a set of files
with names of their own: its first (the earliest shot, bursts.py) is remembered per source, and
every later shot keeps its own name but lands in that first's folder, so a burst across midnight
stays in one day. The first is claimed atomically: of two workers placing two shots at once, one
is first for both, and the other's folder comes from the first's date if it has not landed yet.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from shared.errors import FileBusy, SetPartnerPending
from shared.ingest.bursts import first_of_burst
from shared.ingest.context import Context
from shared.ingest.folder_stems import names_with_stem
from shared.ingest.takeout import takeout_info
from shared.jobs import FileJob
from shared.media import (
    MEDIA_EXTENSIONS,
    VIDEO_EXTENSIONS,
    Metadata,
    is_sidecar,
    layout_path,
    may_carry_apple_id,
    needs_date,
    needs_metadata,
    read_metadata,
    with_suffix_number,
)
from shared.state import FileRecord
from shared.state import file_lease_name as lease_name

T = TypeVar("T")
MAX_SET_NUMBER = 1000  # as placing's MAX_NAME_TRIES
WAIT_SECONDS = 2.0  # a set member looks again for its first this soon (a fixed wait)
# Stills that may carry an Apple identifier without a same-stem video beside them.
ID_EXTENSIONS = frozenset({"heic", "heif", "jpg", "jpeg"}) | VIDEO_EXTENSIONS


def _ext(name: str) -> str:
    return os.path.splitext(name)[1][1:].lower()


def _is_member(name: str) -> bool:
    return _ext(name) in MEDIA_EXTENSIONS and not is_sidecar(name)


def rank(rel_path: str) -> tuple[int, str]:
    """Which member of a set goes first: stills before videos, then by name."""
    name = posixpath.basename(rel_path)
    return (1 if _ext(name) in VIDEO_EXTENSIONS else 0, name.lower())


def stem_key(rel_path: str) -> tuple[str, str]:
    folder, name = posixpath.split(rel_path)
    return folder, os.path.splitext(name)[0].lower()


def followers(items: list[T], rel_path: Callable[[T], str]) -> set[int]:
    """Positions of the items that follow another of the same set in `items` (by stem): a
    batch runs them in a wave after their firsts."""
    groups: dict[tuple[str, str], list[int]] = {}
    for index, item in enumerate(items):
        if _is_member(rel_path(item)):
            groups.setdefault(stem_key(rel_path(item)), []).append(index)
    following: set[int] = set()
    for members in groups.values():
        if len(members) > 1:
            first = min(members, key=lambda i: rank(rel_path(items[i])))
            following.update(i for i in members if i != first)
    return following


def member_path(rel_path: str, first_dest: str) -> str:
    """Beside the first's landing, under its final stem, with this member's own extension."""
    folder, name = posixpath.split(first_dest)
    return posixpath.join(folder, os.path.splitext(name)[0] + os.path.splitext(rel_path)[1])


@dataclass(frozen=True)
class SetPlan:
    """`target`: where a member goes, beside its first; else (the first, or a file alone) the
    extensions of the other members, whose names must be free beside its own."""

    target: str | None = None
    others: tuple[str, ...] = ()


def reads_metadata(job: FileJob, ctx: Context) -> bool:
    """Whether placing `job` reads its metadata: for its layout, or for a Live Photo id."""
    if is_sidecar(job.rel_path) or job.outcome.is_terminal:
        return False  # a duplicate or a skip is not placed
    if needs_metadata(ctx.library(job).layout):
        return True
    return _ext(job.rel_path) in ID_EXTENSIONS and may_carry_apple_id(ctx.source_path(job))


def plan_set(job: FileJob, ctx: Context, meta: Metadata | None) -> SetPlan:
    """The file's place in its set. `meta`: the file's metadata if already read."""
    if not _is_member(job.rel_path):
        return SetPlan()
    root = str(ctx.source(job).path)
    folder, name = posixpath.split(job.rel_path)
    stem = os.path.splitext(name)[0].lower()
    mates = [posixpath.join(folder, other)
             for other in names_with_stem(os.path.join(root, folder), stem)
             if other != name and _is_member(other)]
    if meta is None and (mates or _ext(name) in ID_EXTENSIONS) and may_carry_apple_id(
            ctx.source_path(job)):
        meta = read_metadata(ctx.source_path(job), job.mtime_ns)
    own_id = meta.live_photo_id if meta else ""
    members = {job.rel_path} | {m for m in mates if _same_set(ctx, root, m, own_id)}
    if own_id:
        known = ctx.store.set_leader(job.source, own_id)
        if known and known != job.rel_path:
            members.add(known)
    first = min(members, key=rank)
    if first == job.rel_path:
        if own_id and _ext(name) not in VIDEO_EXTENSIONS:
            ctx.store.note_set_leader(job.source, own_id, job.rel_path)
        others = tuple(sorted({os.path.splitext(m)[1] for m in members if m != first}))
        return SetPlan(_burst_target(job, ctx, meta, others), others)
    record = ctx.store.get_record(job.source, first)
    if _placed(record) and _is_version(record, os.path.join(root, first)):
        return SetPlan(member_path(job.rel_path, record.dest))
    if gave_up(record, os.path.join(root, first)):
        return SetPlan()  # its first failed (or was held) as it is now: it lands on its own
    if os.path.lexists(os.path.join(root, first)) and not on_its_way(
            ctx, job.source, first, os.path.join(root, first)):
        # Its first is not queued yet (still settling, say): retried with backoff.
        raise FileBusy(f"{ctx.source_path(job)}: waiting for {first!r}, the first of its set")
    if os.path.lexists(os.path.join(root, first)):
        raise SetPartnerPending(f"{ctx.source_path(job)}: waiting for {first!r}, the first of "
                                "its set, to land", WAIT_SECONDS)
    return SetPlan(member_path(job.rel_path, record.dest) if _placed(record) else None)


def _burst_target(job: FileJob, ctx: Context, meta: Metadata | None,
                  others: tuple[str, ...]) -> str | None:
    """A later shot of a burst: its own name in the folder of the burst's first; None for the
    first (remembered here), a file of no burst, or a layout without dates."""
    library = ctx.library(job)
    if meta is None or not meta.burst_id or not needs_date(library.layout):
        return None
    first = first_of_burst(job, ctx, meta)
    if first == job.rel_path:
        return None
    folder = _folder_of(ctx, job.source, first)
    if folder is None:
        return None  # its first is gone without a trace: it lands by its own date
    own = layout_path(library.layout, job.rel_path, job.source, meta, library.dates,
                      sha256=job.sha256)
    target = posixpath.join(folder, posixpath.basename(own))
    return free_for_set(target, others, job, ctx) if others else target


def _folder_of(ctx: Context, source: str, rel: str) -> str | None:
    """The library folder of a file: where it landed, else where its date puts it (it is still
    in the source, on its way); None when it is neither."""
    record = ctx.store.get_record(source, rel)
    if record is not None and record.dest and record.state in ("ingested", "duplicate",
                                                               "verified"):
        return posixpath.dirname(record.dest)
    path = os.path.join(ctx.settings.sources[source].path, rel)
    try:
        mtime_ns = os.stat(path).st_mtime_ns
    except OSError:
        return None
    library = ctx.settings.library_of(ctx.settings.sources[source])
    first = FileJob(source, rel, mtime_ns=mtime_ns)
    meta = read_metadata(path, mtime_ns, takeout=takeout_info(first, ctx))
    # {hash8} names a file, never a folder a layout should have: any hash gives the folder.
    dest = layout_path(library.layout, rel, source, meta, library.dates, sha256="0" * 64)
    return posixpath.dirname(dest)


def free_for_set(target: str, others: tuple[str, ...], job: FileJob, ctx: Context) -> str:
    """The first of a set takes the first collision number whose names are free for every
    member (`IMG_1.CR2` is free but `IMG_1.JPG` is taken: both become `IMG_1 (2)`), so one
    suffix applies to the whole set. A name holding a file of this size counts as free (ours,
    from an earlier run: placing checks its bytes)."""
    library = ctx.library(job)
    backend = ctx.backend_for(library)
    for number in range(1, MAX_SET_NUMBER + 1):
        rel = target if number == 1 else with_suffix_number(target, number)
        stem = os.path.splitext(rel)[0]
        own = backend.stat(library.path, rel)
        if own is not None and own[0] != job.size:
            continue
        if all(backend.stat(library.path, stem + ext) is None for ext in others):
            return rel
    return target  # placing finds a free name for each on its own


def _same_set(ctx: Context, root: str, mate: str, own_id: str) -> bool:
    """A same-stem file is of the set unless both carry identifiers and they differ."""
    if not own_id:
        return True
    path = os.path.join(root, mate)
    try:
        mtime_ns = os.stat(path).st_mtime_ns
    except OSError:
        return True
    other = read_metadata(path, mtime_ns).live_photo_id
    return not other or other == own_id


GAVE_UP = frozenset({"failed", "skipped", "empty"})


def gave_up(record: FileRecord | None, path: str) -> bool:
    """The file at `path` was given up as it is now (failed, skipped, held as empty): whatever
    waits for it to land would wait for ever."""
    return record is not None and record.state in GAVE_UP and _is_version(record, path)


def on_its_way(ctx: Context, source: str, rel: str, path: str) -> bool:
    """The file at `path` will land soon: its version is queued (in flight) or a worker holds
    its lease. What waits for it looks again in WAIT_SECONDS, using up no retry; what waits for
    a file that is not on its way retries with backoff (and fails in the end) instead."""
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return (ctx.store.is_inflight(source, rel, info.st_size, info.st_mtime_ns)
            or bool(ctx.store.leased([lease_name(source, rel)])))


def _placed(record: FileRecord | None) -> bool:
    return record is not None and bool(record.dest) and record.state in ("ingested",
                                                                           "duplicate")


def _is_version(record: FileRecord | None, path: str) -> bool:
    assert record is not None
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return True  # it left the source since: the record is its last version
    return (info.st_size, info.st_mtime_ns) == (record.size, record.mtime_ns)
