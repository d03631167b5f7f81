"""Which capture date placed a file: the value its record and journal entry keep.

The layout reads a file's metadata once (metadata.py keeps the answer for an unchanged file),
so asking again here costs no second ExifTool call.
"""

from __future__ import annotations

import posixpath

from shared.ingest.context import Context
from shared.ingest.takeout import takeout_info
from shared.jobs import FileJob
from shared.media import DateSource, is_sidecar, layout_path, needs_date, read_metadata


def date_source_of(job: FileJob, ctx: Context, target: str) -> str:
    """The DateSource of the date that put the file at `target` (library-relative): the first
    source of the metadata date order that gave one, "set" when the file follows its set's
    first into another folder (a Live Photo's video, a burst's later shots), "" for a sidecar
    (it goes beside its image) or a layout that uses no date."""
    library = ctx.library(job)
    if is_sidecar(job.rel_path) or not needs_date(library.layout):
        return ""
    meta = read_metadata(ctx.source_path(job), job.mtime_ns, takeout=takeout_info(job, ctx))
    try:
        own = layout_path(library.layout, job.rel_path, job.source, meta, library.dates,
                          sha256=job.sha256)
    except ValueError:
        return str(DateSource.SET)  # its own date gives no path: its set's first placed it
    if posixpath.dirname(own) != posixpath.dirname(target):
        return str(DateSource.SET)
    return str(meta.date_source)
