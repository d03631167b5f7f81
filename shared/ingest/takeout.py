"""A Google Takeout export as a source: its JSONs give the dates its photos lost.

Takeout strips the EXIF date of many files and puts `photoTakenTime` (and `geoData`) in a JSON
beside each, under names Google truncates (the media layer matches them: 46 characters,
`IMG(1).jpg` <-> `IMG.jpg(1).json`, `-edited` copies, cut `supplemental-metadata`). A source
with `kind = "takeout"`, or any file under a `Takeout/Google Photos` (or `Google Fotos`)
folder, reads the JSON of each media file; the date order then takes it after the file's own
dates (metadata.py). With `takeout_xmp = true` the date and place are also written into an
XMP sidecar beside the library copy (never over an existing file), which Immich and
PhotoPrism read.
"""

from __future__ import annotations

import logging
import os
import posixpath
from itertools import pairwise

from shared.errors import MediacourierError
from shared.ingest.context import Context
from shared.jobs import FileJob
from shared.media import TakeoutInfo, is_sidecar, json_for, read_takeout, write_takeout_xmp

log = logging.getLogger(__name__)
TAKEOUT_FOLDERS = ("google photos", "google fotos")


def in_takeout(source_root: str, rel_path: str) -> bool:
    """Does the path have the shape of a Takeout export (`Takeout/Google Photos/...`)?"""
    parts = [p.lower() for p in (source_root.replace(os.sep, "/") + "/" + rel_path).split("/")]
    return any(a == "takeout" and b in TAKEOUT_FOLDERS for a, b in pairwise(parts))


def takeout_info(job: FileJob, ctx: Context) -> TakeoutInfo | None:
    """The Takeout JSON's facts for a media file of a Takeout source, or None."""
    source = ctx.source(job)
    if is_sidecar(job.rel_path) or not (
            source.kind == "takeout" or in_takeout(str(source.path), job.rel_path)):
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


def write_xmp_beside(job: FileJob, ctx: Context, info: TakeoutInfo | None) -> None:
    """With `takeout_xmp`, the JSON's date and place into `<library copy>.xmp` (local
    libraries; a failure is logged: the photo itself is placed and proven either way)."""
    library = ctx.library(job)
    if info is None or not ctx.source(job).takeout_xmp or library.target or not job.dest_path:
        return
    try:
        write_takeout_xmp(info, os.path.join(library.path, job.dest_path + ".xmp"))
    except (OSError, MediacourierError) as exc:
        log.warning("%s: no XMP sidecar written: %s", ctx.source_path(job), exc)
