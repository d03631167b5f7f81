"""What a media file says about itself: its capture date (and where that date came from), its
camera, and the identifiers that tie a Live Photo or a burst together.

Read with ExifTool (one long-lived process per worker process, shared/media/exiftool.py), which
knows RAW formats, HEIC, QuickTime/MP4, MakerNotes and XMP. Without ExifTool, exifread reads
the EXIF dates of JPEG/TIFF/HEIC only; one warning says so, and `reader_problem()` tells doctor.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import posixpath
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shared.media.dates import DateSource, date_from_name, parse_exif_datetime, parse_offset
from shared.media.exiftool import ExifTool, ExifToolFailed, shared_exiftool
from shared.media.takeout import TakeoutInfo

log = logging.getLogger(__name__)
# exifread warns "File format not recognized." for every PNG or video it is shown: noise in a
# worker's log, where the date order's next source takes over anyway.
logging.getLogger("exifread").setLevel(logging.ERROR)

VIDEO_EXTENSIONS = frozenset({"mp4", "mov", "m4v", "avi", "mkv", "3gp", "3g2", "mts", "m2ts",
                              "mpg", "mpeg", "wmv", "webm"})
TAGS = ("-SubSecDateTimeOriginal", "-DateTimeOriginal", "-SubSecTimeOriginal",
        "-OffsetTimeOriginal", "-CreateDate",
        "-OffsetTimeDigitized", "-XMP-photoshop:DateCreated", "-ContentIdentifier",
        "-MediaGroupUUID", "-BurstUUID", "-BurstID", "-Make", "-Model", "-MIMEType", "-GPSLatitude",
        "-GPSLongitude")
# -n: numbers as numbers (signed GPS degrees); -a -G1: every CreateDate with its group, so the
# QuickTime one (UTC) is told from the EXIF one (local); -fast: no scan for JPEG trailers.
OPTIONS = ("-n", "-a", "-G1", "-fast", "-m", "-q", "-api", "LargeFileSupport=1")
_MISSING = ("ExifTool is not installed (Debian: apt-get install libimage-exiftool-perl): capture "
            "dates come from exifread, which reads no video dates, no XMP and no Live Photo "
            "identifiers")
_warned = threading.Event()
_DATE_TAGS = ("DateTimeOriginal", "CreateDate", "DateCreated", "ModifyDate")
# Dates a file carries itself, not guessed from its name, a JSON beside it or the mtime.
_OUTSIDE = frozenset({DateSource.FILE_NAME, DateSource.TAKEOUT, DateSource.MTIME,
                      DateSource.NONE})
# Placing reads a file's metadata for its layout, its set and its record: this many answers
# are kept, so one file costs one ExifTool call, not one per question, and a batch's files
# read in one call (prefetch_metadata) are all still there when placed.
CACHE_SIZE = 4096
PREFETCH_FILES = 500
_cache: OrderedDict[tuple[Any, ...], Metadata] = OrderedDict()
_cache_lock = threading.Lock()


@dataclass(frozen=True)
class Metadata:
    """`taken` is aware when the file says its zone (an offset, a UTC clock, an epoch), naive
    when it gives only a wall-clock time; `has_time` is False for a bare day (a WhatsApp
    name). With only the mtime, `date_source` is MTIME: a layout decides whether that counts."""

    taken: dt.datetime | None
    date_source: DateSource
    has_time: bool = True
    kind: str = "IMG"  # IMG or VID, as Immich's {{filetype}}
    make: str = ""
    model: str = ""
    content_id: str = ""  # Apple ContentIdentifier: HEIC stills of recent iOS and their MOV
    media_group: str = ""  # Apple MediaGroupUUID: the still of older iOS versions
    burst_id: str = ""  # Apple BurstUUID, or Google Camera's XMP BurstID
    original_name: str = ""  # the name a Takeout JSON gives (`title`)
    latitude: float | None = None
    longitude: float | None = None
    place_from_takeout: bool = False  # the file had no GPS: latitude/longitude are the JSON's
    reader: str = "exiftool"

    @property
    def live_photo_id(self) -> str:
        """What pairs a still with its video: Immich's ContentIdentifier || MediaGroupUUID."""
        return self.content_id or self.media_group

    @property
    def is_dated(self) -> bool:
        return self.date_source not in (DateSource.MTIME, DateSource.NONE)

    @property
    def has_own_date(self) -> bool:
        """The date is one the file carries (EXIF, XMP, QuickTime), not one found outside."""
        return self.date_source not in _OUTSIDE


def reader_problem() -> str | None:
    """For doctor: None when ExifTool reads metadata here, else what is missing and its cost."""
    return None if shared_exiftool() is not None else _MISSING


def media_kind(name: str, mime: str = "") -> str:
    if mime.startswith("video/"):
        return "VID"
    if mime.startswith("image/"):
        return "IMG"
    return "VID" if posixpath.splitext(name)[1].lower().lstrip(".") in VIDEO_EXTENSIONS else "IMG"


def read_metadata(path: str, mtime_ns: int | None = None, *, takeout: TakeoutInfo | None = None,
                  reader: ExifTool | None = None) -> Metadata:
    """Everything the layout and the set pairing need, in the issue's date order: EXIF
    DateTimeOriginal (SubSec, OffsetTimeOriginal), CreateDate (QuickTime's in UTC), XMP
    photoshop:DateCreated, a date in the file name, the Takeout JSON, then the mtime.
    Answers for an unchanged file (same inode, size, mtime, ctime) come from a small cache."""
    exiftool = reader or shared_exiftool()
    key = _cache_key(path, mtime_ns, takeout, exiftool) if reader is None else None
    if key is not None:
        with _cache_lock:
            known = _cache.get(key)
            if known is not None:
                _cache.move_to_end(key)
                return known
    meta = _read(path, mtime_ns, takeout, exiftool)
    if key is not None and (exiftool is None or meta.reader == "exiftool"):
        # (not an answer of the fallback after ExifTool failed: the next call tries it again)
        _remember(key, meta)
    return meta


def _cache_key(path: str, mtime_ns: int | None, takeout: TakeoutInfo | None,
               exiftool: ExifTool | None) -> tuple[Any, ...] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (os.path.abspath(path), info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns,
            info.st_ctime_ns, mtime_ns, takeout, exiftool is None)


def _read(path: str, mtime_ns: int | None, takeout: TakeoutInfo | None,
          exiftool: ExifTool | None) -> Metadata:
    if exiftool is None:
        if not _warned.is_set():
            _warned.set()
            log.warning(_MISSING)
        return _from_tags(path, _exifread_tags(path), mtime_ns, takeout, "exifread")
    try:
        found, errors = exiftool.execute_json([*OPTIONS, *TAGS, os.path.abspath(path)])
    except ExifToolFailed as exc:
        log.warning("%s: exiftool failed (%s); reading EXIF with exifread", path, exc)
        return _from_tags(path, _exifread_tags(path), mtime_ns, takeout, "exifread")
    if errors and not found:
        log.debug("%s: exiftool: %s", path, errors)
    return _from_exiftool(path, found[0] if found else {}, mtime_ns, takeout)


def _from_exiftool(path: str, tags: Mapping[str, Any], mtime_ns: int | None,
                   takeout: TakeoutInfo | None) -> Metadata:
    used = "exiftool"
    if not any(tag.endswith(_DATE_TAGS) for tag in tags):
        # ExifTool refuses a cut EXIF segment (a half-copied JPEG) that exifread still
        # reads: no date from ExifTool is worth a second look before the file name.
        # Only for a capture date: an EXIF ModifyDate (an editor's save) is in no
        # place of the date order ExifTool reads by, and never beats the file name.
        extra = _exifread_tags(path)
        if any(tag.endswith(_DATE_TAGS[:2]) for tag in extra):
            tags, used = {**extra, **tags}, "exifread"
    return _from_tags(path, tags, mtime_ns, takeout, used)


def prefetch_metadata(files: Sequence[tuple[str, int | None, TakeoutInfo | None]]) -> int:
    """Read many files' metadata in one ExifTool call per PREFETCH_FILES and keep the answers,
    so placing's per-file questions come from the cache: ExifTool's cost per `-execute` is
    as large as a small photo's reading (25 vs 10.6 ms a file, one by one vs 300 at once).
    (path, the job's mtime_ns, its Takeout JSON) as read_metadata is asked later; a file
    ExifTool did not answer for, or one changed since, is simply read again then."""
    exiftool = shared_exiftool()
    kept = 0
    for start in range(0, len(files) if exiftool else 0, PREFETCH_FILES):
        wanted: dict[str, tuple[tuple[Any, ...], str, int | None, TakeoutInfo | None]] = {}
        for path, mtime_ns, takeout in files[start:start + PREFETCH_FILES]:
            key = _cache_key(path, mtime_ns, takeout, exiftool)
            if key is not None and key not in _cache:
                wanted[os.path.abspath(path)] = (key, path, mtime_ns, takeout)
        if not wanted:
            continue
        try:
            found, _ = exiftool.execute_json([*OPTIONS, *TAGS, *wanted])
        except ExifToolFailed as exc:
            log.debug("prefetch of %d files: exiftool failed (%s)", len(wanted), exc)
            return kept
        for tags in found:
            entry = wanted.get(str(tags.get("SourceFile", "")))
            if entry is not None:
                key, path, mtime_ns, takeout = entry
                _remember(key, _from_exiftool(path, tags, mtime_ns, takeout))
                kept += 1
    return kept


def _remember(key: tuple[Any, ...], meta: Metadata) -> None:
    with _cache_lock:
        _cache[key] = meta
        _cache.move_to_end(key)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)


def _from_tags(path: str, tags: Mapping[str, Any], mtime_ns: int | None,
               takeout: TakeoutInfo | None, used: str) -> Metadata:
    name = os.path.basename(path)
    taken, has_time, source = _capture_date(tags, name, takeout, mtime_ns)
    latitude, longitude = _number(_tag(tags, "GPSLatitude")), _number(_tag(tags, "GPSLongitude"))
    from_takeout = False
    if (latitude is None or longitude is None) and takeout is not None and (
            takeout.latitude is not None):
        latitude, longitude, from_takeout = takeout.latitude, takeout.longitude, True
    return Metadata(
        taken=taken, date_source=source, has_time=has_time,
        kind=media_kind(name, str(_tag(tags, "MIMEType") or "")),
        make=_text(_tag(tags, "Make")), model=_text(_tag(tags, "Model")),
        content_id=_text(_tag(tags, "ContentIdentifier")),
        media_group=_text(_tag(tags, "MediaGroupUUID")),
        burst_id=_text(_tag(tags, "BurstUUID")) or _text(_tag(tags, "BurstID")),
        original_name=takeout.title if takeout else "",
        latitude=latitude, longitude=longitude, place_from_takeout=from_takeout, reader=used)


def _capture_date(tags: Mapping[str, Any], name: str, takeout: TakeoutInfo | None,
                  mtime_ns: int | None) -> tuple[dt.datetime | None, bool, DateSource]:
    original_offset = parse_offset(str(_tag(tags, "OffsetTimeOriginal") or ""))
    # ExifTool composes SubSecDateTimeOriginal from an offset alone too: the record names the
    # sub-seconds only when there are some.
    sub_sec = (DateSource.SUB_SEC_DATE_TIME_ORIGINAL if _tag(tags, "SubSecTimeOriginal")
               is not None else DateSource.DATE_TIME_ORIGINAL)
    digitized_offset = parse_offset(str(_tag(tags, "OffsetTimeDigitized") or ""))
    steps = (
        ("Composite:SubSecDateTimeOriginal", original_offset, sub_sec),
        ("DateTimeOriginal", original_offset, DateSource.DATE_TIME_ORIGINAL),
        ("ExifIFD:CreateDate", digitized_offset, DateSource.CREATE_DATE),
        ("QuickTime:CreateDate", dt.UTC, DateSource.QUICKTIME_CREATE_DATE),
        ("XMP-xmp:CreateDate", None, DateSource.XMP_CREATE_DATE),
        ("XMP-photoshop:DateCreated", None, DateSource.XMP_DATE_CREATED),
        ("ModifyDate", None, DateSource.MODIFY_DATE),  # exifread's Image DateTime only
    )
    for key, zone, source in steps:
        parsed = parse_exif_datetime(_tag(tags, key))
        if parsed is not None:
            stamp, has_time = parsed
            if stamp.tzinfo is None and zone is not None and has_time:
                stamp = stamp.replace(tzinfo=zone)
            return stamp, has_time, source
    from_name = date_from_name(name)
    if from_name is not None:
        return from_name[0], from_name[1], DateSource.FILE_NAME
    if takeout is not None and takeout.taken is not None:
        return takeout.taken, True, DateSource.TAKEOUT
    if mtime_ns is not None:
        return dt.datetime.fromtimestamp(mtime_ns / 1e9, dt.UTC), True, DateSource.MTIME
    return None, False, DateSource.NONE


def _tag(tags: Mapping[str, Any], key: str) -> Any:
    """A tag by 'Group:Name', or by 'Name' in whichever group has it (EXIF before XMP)."""
    if ":" in key:
        return tags.get(key)
    for group in ("ExifIFD", "IFD0", "Composite", "Apple", "Keys", "QuickTime", "UserData",
                  "ItemList", "File"):
        if f"{group}:{key}" in tags:
            return tags[f"{group}:{key}"]
    return next((value for tag, value in tags.items() if tag.rpartition(":")[2] == key), None)


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


_EXIFREAD_TAGS = {"EXIF DateTimeOriginal": "ExifIFD:DateTimeOriginal",
                  "EXIF OffsetTimeOriginal": "ExifIFD:OffsetTimeOriginal",
                  "EXIF DateTimeDigitized": "ExifIFD:CreateDate",
                  "Image DateTime": "IFD0:ModifyDate", "Image Make": "IFD0:Make",
                  "Image Model": "IFD0:Model"}


def _exifread_tags(path: str) -> dict[str, Any]:
    """The few tags exifread finds, under ExifTool's names, so one date order serves both."""
    import exifread  # here: it costs every command's start-up, and most files never need it

    try:
        with open(path, "rb") as stream:
            found = exifread.process_file(stream, details=False)
    except Exception:  # noqa: BLE001 - corrupt EXIF is common; the other date sources remain
        return {}
    return {ours: str(found[theirs]) for theirs, ours in _EXIFREAD_TAGS.items()
            if theirs in found}
