"""Dates as cameras, phones and messengers write them: EXIF/XMP strings and file names."""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum


class DateSource(StrEnum):
    """Where a capture date came from, in the order they are tried; records keep the value."""

    SUB_SEC_DATE_TIME_ORIGINAL = "SubSecDateTimeOriginal"  # EXIF, to the sub-second
    DATE_TIME_ORIGINAL = "DateTimeOriginal"  # EXIF (or XMP-exif), with OffsetTimeOriginal
    CREATE_DATE = "CreateDate"  # EXIF CreateDate (DateTimeDigitized)
    QUICKTIME_CREATE_DATE = "QuickTime:CreateDate"  # a video's movie header, in UTC
    XMP_CREATE_DATE = "XMP:CreateDate"
    XMP_DATE_CREATED = "XMP:photoshop:DateCreated"
    MODIFY_DATE = "ModifyDate"  # only the exifread fallback uses it, as before ExifTool
    FILE_NAME = "filename"
    TAKEOUT = "takeout-json"  # photoTakenTime of a Google Takeout JSON
    MTIME = "mtime"  # not a capture date: see the layout's `undated`
    NONE = "none"
    # Not read from the file: a set member (a Live Photo's video, a burst's later shots) lands
    # in its first's folder, so the first's date placed it.
    SET = "set"


_EXIF_STAMP = re.compile(
    r"\s*(\d{4})[:\-](\d{2})[:\-](\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?(\.\d+)?)?"
    r"\s*(Z|[+\-]\d{2}:?\d{2})?\s*$")

_EPOCH_ZEROS = (dt.datetime(1904, 1, 1), dt.datetime(1970, 1, 1))  # QuickTime's and Unix's 0


def parse_offset(text: str) -> dt.timezone | None:
    """'+02:00', '-0500', 'Z' -> a fixed zone; anything else -> None."""
    text = text.strip()
    if text == "Z":
        return dt.UTC
    match = re.fullmatch(r"([+\-])(\d{2}):?(\d{2})", text)
    if not match:
        return None
    hours, minutes = int(match.group(2)), int(match.group(3))
    if hours > 14 or minutes > 59:
        return None
    sign = -1 if match.group(1) == "-" else 1
    return dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))


def parse_exif_datetime(value: object) -> tuple[dt.datetime, bool] | None:
    """An EXIF/XMP/QuickTime stamp ('2021:04:11 15:47:53.054-05:00', '2021-04-11') as
    (datetime, has_time); aware when the stamp carries an offset. Zeroed, impossible or
    pre-1900 stamps and epoch zeros give None (a camera with an unset clock writes
    '0000:00:00 00:00:00', an unset QuickTime header reads 1904-01-01)."""
    if not isinstance(value, str):
        return None
    match = _EXIF_STAMP.match(value)
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    if int(year) < 1900:
        return None
    try:
        micro = int(round(float(fraction) * 1_000_000)) if fraction else 0
        stamp = dt.datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                            int(second or 0), min(micro, 999_999))
    except ValueError:
        return None
    if stamp in _EPOCH_ZEROS:  # a zero counter shown as a date, not a capture time
        return None
    zone = parse_offset(offset) if offset else None
    return (stamp.replace(tzinfo=zone) if zone else stamp), hour is not None


# Each pattern names year..second; `utc` marks names written in UTC. Checked in order, first
# match wins, and a name must give a real date between 1990 and next year to count.
_NAME_PATTERNS: tuple[tuple[re.Pattern[str], bool], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), utc) for pattern, utc in (
        # Pixel: PXL_20210411_154753123.jpg (the camera app names files in UTC)
        (r"^PXL_(?P<y>\d{4})(?P<mo>\d{2})(?P<d>\d{2})_(?P<h>\d{2})(?P<mi>\d{2})(?P<s>\d{2})",
         True),
        # WhatsApp: IMG-20210411-WA0001.jpg, VID-20210411-WA0001.mp4 (a day, no time)
        (r"^(?:IMG|VID|AUD|PTT|STK)-(?P<y>\d{4})(?P<mo>\d{2})(?P<d>\d{2})-WA\d+", False),
        # macOS: 'Screenshot 2021-04-11 at 15.47.53.png', 'Screen Recording 2021-04-11 at ...'
        (r"(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2}) at (?P<h>\d{1,2})\.(?P<mi>\d{2})\.(?P<s>\d{2})",
         False),
        # Android cameras and screenshots: IMG_20210411_154753.jpg, VID_20210411_154753.mp4,
        # Screenshot_20210411-154753.png, Screenshot_2021-04-11-15-47-53-123_app.jpg,
        # Samsung 20210411_154753.jpg, signal-2021-04-11-154753.jpg
        (r"(?<!\d)(?P<y>(?:19|20)\d{2})[-_.]?(?P<mo>\d{2})[-_.]?(?P<d>\d{2})[-_ T.]"
         r"(?P<h>\d{2})[-_.:]?(?P<mi>\d{2})[-_.:]?(?P<s>\d{2})", False),
        # A bare day: IMG_20210411.jpg, 2021-04-11 party.jpg
        (r"(?<!\d)(?P<y>(?:19|20)\d{2})[-_.]?(?P<mo>\d{2})[-_.]?(?P<d>\d{2})(?!\d)", False),
    ))


def date_from_name(name: str) -> tuple[dt.datetime, bool] | None:
    """A capture date written in a file name, as (datetime, has_time); aware (UTC) only for
    the names that phones write in UTC."""
    latest = dt.date.today().year + 1
    for pattern, utc in _NAME_PATTERNS:
        for match in pattern.finditer(name):
            parts = match.groupdict()
            try:
                stamp = dt.datetime(int(parts["y"]), int(parts["mo"]), int(parts["d"]),
                                    int(parts.get("h") or 0), int(parts.get("mi") or 0),
                                    int(parts.get("s") or 0))
            except ValueError:
                continue
            if not 1990 <= stamp.year <= latest:
                continue
            return (stamp.replace(tzinfo=dt.UTC) if utc else stamp), parts.get("h") is not None
    return None
