"""A Google Takeout export as a source: its JSONs give the dates its photos lost.

Takeout strips the EXIF date of many files and puts `photoTakenTime` (and `geoData`) in a JSON
beside each, under names Google truncates (the media layer matches them: 46 characters,
`IMG(1).jpg` <-> `IMG.jpg(1).json`, `-edited` copies, cut `supplemental-metadata`). A source
with `kind = "takeout"`, or any file under a `Takeout/Google Photos` (or `Google Fotos`)
folder, reads the JSON of each media file; the date order then takes it after the file's own
dates (metadata.py), and its place only when the file has no GPS. With `takeout_xmp = true`
what the JSON supplies that the file lacks (a date when the file carries none itself, a place
when it has no GPS) is written into an XMP sidecar beside the library copy (never over an
existing file), which Immich and PhotoPrism read; a file lacking nothing gets none.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import posixpath
import time
from itertools import pairwise

from shared.errors import MediacourierError, TakeoutJsonPending
from shared.ingest.context import Context
from shared.jobs import FileJob
from shared.media import (
    Metadata,
    TakeoutInfo,
    is_sidecar,
    json_for,
    read_metadata,
    read_takeout,
    write_takeout_xmp,
)

log = logging.getLogger(__name__)
TAKEOUT_FOLDERS = ("google photos", "google fotos")
# An extraction writes a photo, then its JSON, within moments (same archive); a file this much
# older than its arrival that still has none is placed without one.
TAKEOUT_JSON_GRACE = 15.0
JSON_WAIT_SECONDS = 2.0


def in_takeout(source_root: str, rel_path: str) -> bool:
    """Does the path have the shape of a Takeout export (`Takeout/Google Photos/...`)?"""
    parts = [p.lower() for p in (source_root.replace(os.sep, "/") + "/" + rel_path).split("/")]
    return any(a == "takeout" and b in TAKEOUT_FOLDERS for a, b in pairwise(parts))


def _takeout_media(job: FileJob, ctx: Context) -> bool:
    """A photo or video (not a sidecar) of a Takeout source or of a Takeout-shaped folder."""
    source = ctx.source(job)
    return not is_sidecar(job.rel_path) and (
        source.kind == "takeout" or in_takeout(str(source.path), job.rel_path))


def takeout_info(job: FileJob, ctx: Context) -> TakeoutInfo | None:
    """The Takeout JSON's facts for a media file of a Takeout source, or None."""
    source = ctx.source(job)
    if not _takeout_media(job, ctx):
        return None
    folder, name = posixpath.split(job.rel_path)
    try:
        present = os.listdir(os.path.join(source.path, folder))
    except OSError:
        return None
    found = json_for(name, present)
    if found is None:
        return None
    try:
        return read_takeout(os.path.join(source.path, folder, found))
    except MediacourierError as exc:
        log.warning("%s", exc)  # a damaged JSON: the file keeps its other dates
        return None


def hold_for_json(job: FileJob, ctx: Context) -> None:
    """Hold a Takeout file that arrived moments ago without its JSON (TakeoutJsonPending):
    placed at once, it would take its mtime's date and never move to the JSON's."""
    source = ctx.source(job)
    if not _takeout_media(job, ctx):
        return
    folder, name = posixpath.split(job.rel_path)
    try:
        if json_for(name, os.listdir(os.path.join(source.path, folder))) is not None:
            return
    except OSError:
        return
    path = os.path.join(source.path, job.rel_path)
    try:
        arrived = os.lstat(path).st_ctime  # an extraction keeps the photo's old mtime
    except OSError:
        return
    if time.time() - arrived < TAKEOUT_JSON_GRACE:
        raise TakeoutJsonPending(f"{path}: waiting for its Takeout JSON, which an extraction "
                                 "writes after the photo", JSON_WAIT_SECONDS)


def lacking(info: TakeoutInfo, meta: Metadata) -> TakeoutInfo:
    """What of the JSON the file lacks: its date unless the file carries one itself (EXIF, XMP,
    QuickTime), its place unless the file has GPS of its own."""
    return dataclasses.replace(
        info, taken=None if meta.has_own_date else info.taken,
        **({} if meta.place_from_takeout else {"latitude": None, "longitude": None,
                                               "altitude": None}))


def write_xmp_beside(job: FileJob, ctx: Context, info: TakeoutInfo | None) -> None:
    """With `takeout_xmp`, what the JSON supplies that the file lacks into `<library
    copy>.xmp` (local libraries; nothing written when the file lacks nothing; a failure is
    logged: the photo itself is placed and proven either way)."""
    library = ctx.library(job)
    if info is None or not ctx.source(job).takeout_xmp or library.target or not job.dest_path:
        return
    # The layout read this very file's metadata a moment ago: a cached answer.
    meta = read_metadata(ctx.source_path(job), job.mtime_ns, takeout=info)
    try:
        write_takeout_xmp(lacking(info, meta),
                          os.path.join(library.path, job.dest_path + ".xmp"))
    except (OSError, MediacourierError) as exc:
        log.warning("%s: no XMP sidecar written: %s", ctx.source_path(job), exc)
