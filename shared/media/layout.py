"""Where a file lands in its library: layout templates, their tokens and presets, and which day
a capture time belongs to (the library's time zone and the hour its days start)."""

from __future__ import annotations

import datetime as dt
import os
import posixpath
import re
import string
import unicodedata
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass

from shared.errors import ConfigError
from shared.media.dates import DateSource
from shared.media.metadata import Metadata, media_kind, read_metadata

# Presets named after the apps whose defaults they copy, so a library looks the way its
# users know it: Immich `{{y}}/{{y}}-{{MM}}-{{dd}}/{{filename}}`, PhotoPrism
# `YYYY/MM/YYYYMMDD_HHMMSS_<crc>` (ours is the first 8 hex digits of the SHA-256, which the
# pipeline has already computed), phockup `YYYY/MM/DD/YYYYMMDD-HHMMSS`, sortphotos `%Y/%m-%b`.
LAYOUT_ALIASES = {
    "keep": "{rel_dir}/{name}",
    "date": "{year}/{month}/{name}",
    "date-day": "{year}/{year}-{month}-{day}/{name}",
    "immich": "{year}/{year}-{month}-{day}/{name}",
    "photoprism": "{year}/{month}/{year}{month}{day}_{hour}{minute}{second}_{hash8}.{ext}",
    "phockup": "{year}/{month}/{day}/{year}{month}{day}-{hour}{minute}{second}.{ext}",
    "sortphotos": "{year}/{month}-{month_abbr}/{name}",
}
DATE_FIELDS = {"year", "month", "day", "hour", "minute", "second", "month_name", "month_abbr",
               "week"}
METADATA_FIELDS = DATE_FIELDS | {"make", "model", "original_name"}
FIELDS = {"rel_dir", "name", "stem", "ext", "source", "type", "set", "hash8",
          "user"} | METADATA_FIELDS
NAME_FIELDS = ("name", "stem", "original_name", "set", "hash8")  # one of them makes names unique
UNDATED_POLICIES = ("unknown", "mtime")
MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December")  # English: paths must not
# change with the worker's locale
_DAY_START = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")
_WINDOWS_RESERVED = set('<>:"|?*\\/')


@dataclass(frozen=True)
class LayoutOptions:
    """A library's `timezone`, `day_starts_at`, `unknown_folder` and `undated` keys."""

    timezone: str = "local"  # "local", "UTC" or an IANA name such as "Europe/Berlin"
    day_starts_at: str = "00:00"
    unknown_folder: str = "unknown"
    undated: str = "unknown"  # "unknown": only the mtime -> unknown_folder; "mtime": use it

    def zone(self) -> dt.tzinfo | None:
        """None for "local": the machine's zone at that instant (daylight saving included)."""
        if self.timezone == "local":
            return None
        return dt.UTC if self.timezone.upper() == "UTC" else zoneinfo.ZoneInfo(self.timezone)

    def day_start(self) -> dt.timedelta:
        match = _DAY_START.fullmatch(self.day_starts_at.strip())
        if not match:
            raise ValueError(f"day_starts_at {self.day_starts_at!r} is not HH:MM")
        return dt.timedelta(hours=int(match.group(1)), minutes=int(match.group(2)))


def check_layout_options(options: LayoutOptions, key: Callable[[str], str]) -> None:
    """ConfigError naming the key (`key("timezone")` -> '[libraries.x] timezone')."""
    try:
        options.zone()
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f'{key("timezone")}: unknown time zone {options.timezone!r} (use '
                          f'"local", "UTC" or a name such as "Europe/Berlin")') from exc
    if not _DAY_START.fullmatch(options.day_starts_at.strip()):
        raise ConfigError(f'{key("day_starts_at")}: {options.day_starts_at!r} is not a time of '
                          f'day (use "HH:MM", e.g. "04:00")')
    parts = options.unknown_folder.replace("\\", "/").split("/")
    if options.unknown_folder.startswith("/") or ".." in parts or not "".join(parts).strip():
        raise ConfigError(f"{key('unknown_folder')}: {options.unknown_folder!r} must be a folder "
                          f"inside the library, such as \"unknown\"")
    if options.undated not in UNDATED_POLICIES:
        raise ConfigError(f"{key('undated')}: {options.undated!r} is not one of "
                          f"{', '.join(UNDATED_POLICIES)}")


def expand_layout(layout: str) -> str:
    return LAYOUT_ALIASES.get(layout, layout)


def layout_fields(layout: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(expand_layout(layout)) if f is not None}


def validate_layout(layout: str, where: str) -> None:
    try:
        names = layout_fields(layout)
    except ValueError as exc:
        raise ConfigError(f"{where}: {layout!r} is not a valid template: {exc}") from exc
    unknown = names - FIELDS
    if unknown:
        raise ConfigError(f"{where}: unknown placeholder {{{sorted(unknown)[0]}}} in {layout!r}; "
                          f"use {', '.join(sorted(FIELDS))} or a preset: "
                          f"{', '.join(LAYOUT_ALIASES)}")
    # Names down to the second (phockup's) are unique enough: a collision gets ' (2)'.
    if not names & {*NAME_FIELDS, "second"}:
        raise ConfigError(f"{where}: {layout!r} must contain "
                          + " or ".join(f"{{{field}}}" for field in NAME_FIELDS)
                          + " or a time down to {second}")


def needs_date(layout: str) -> bool:
    return bool(layout_fields(layout) & DATE_FIELDS)


def needs_metadata(layout: str) -> bool:
    """Whether placing a file under this layout reads its metadata (an ExifTool call)."""
    return bool(layout_fields(layout) & METADATA_FIELDS)


def capture_date(path: str, fallback_mtime_ns: int) -> dt.date:
    """The capture day in the machine's zone: the first of the metadata date sources, else the
    file's mtime. (The layout's own time zone and day start are in `layout_path`.)"""
    meta = read_metadata(path, fallback_mtime_ns)
    assert meta.taken is not None  # an mtime was given
    return _wall_clock(meta.taken, None).date()


def library_rel_path(layout: str, rel_path: str, source: str, date: dt.date | None) -> str:
    """The library-relative path for a source-relative path under a layout, given the day."""
    meta = None if date is None else Metadata(
        taken=dt.datetime.combine(date, dt.time()), date_source=DateSource.DATE_TIME_ORIGINAL,
        has_time=False, kind=media_kind(rel_path))
    return layout_path(layout, rel_path, source, meta)


def layout_path(layout: str, rel_path: str, source: str, meta: Metadata | None,
                options: LayoutOptions | None = None, *, set_stem: str | None = None,
                sha256: str | None = None) -> str:
    """The library-relative path of a file under a layout. `meta` is needed for date, camera
    and Takeout tokens (`needs_metadata`); `set_stem` is the stem its set shares (a Live
    Photo's video takes its still's), `sha256` feeds {hash8}. A file with no capture date
    goes to the `unknown_folder` unless `undated = "mtime"` lets its mtime stand in."""
    options = options or LayoutOptions()
    template = expand_layout(layout)
    fields = layout_fields(layout)
    rel_dir, name = posixpath.split(rel_path)
    stem, ext = os.path.splitext(name)
    # The set's stem is a file's stem from the source, so it keeps its characters; only a
    # separator or a dot-name could move the file elsewhere.
    own_set = stem if set_stem in (None, "", ".", "..") else set_stem.replace("/", "-")
    values = {"rel_dir": rel_dir, "name": own_set + ext, "stem": own_set, "ext": ext.lstrip("."),
              "source": source, "set": own_set,
              # the first folder of the source path: a nextcloud source's user id
              "user": rel_path.partition("/")[0] if "/" in rel_path else "",
              "type": meta.kind if meta else media_kind(name)}
    if "hash8" in fields:
        if not sha256:
            raise ValueError(f"layout {layout!r} needs the file's hash for {{hash8}}")
        values["hash8"] = sha256[:8].lower()
    if fields & (METADATA_FIELDS - DATE_FIELDS):
        values.update(make=path_safe(meta.make if meta else ""),
                      model=path_safe(meta.model if meta else ""),
                      original_name=path_safe((meta.original_name if meta else "") or name,
                                              "unknown" + ext, limit=200))
    if fields & DATE_FIELDS:
        usable = meta is not None and meta.taken is not None and (
            meta.is_dated or options.undated == "mtime")
        if not usable:
            folder = "/".join(p for p in options.unknown_folder.replace("\\", "/").split("/") if p)
            return _safe_join(f"{folder}/{own_set}{ext}", layout, rel_path)
        assert meta is not None and meta.taken is not None
        values.update(_date_values(meta, options))
    return _safe_join(template.format(**values), layout, rel_path)


def _date_values(meta: Metadata, options: LayoutOptions) -> dict[str, str]:
    assert meta.taken is not None
    wall = _wall_clock(meta.taken, options.zone())
    # A photo at 01:30 with days starting at 04:00 belongs to the day before: the date tokens
    # move, the clock tokens keep the real time. A bare day (no time known) never moves.
    day = (wall - options.day_start()).date() if meta.has_time else wall.date()
    return {"year": f"{day.year:04d}", "month": f"{day.month:02d}", "day": f"{day.day:02d}",
            "week": f"{day.isocalendar().week:02d}",
            "month_name": MONTH_NAMES[day.month - 1], "month_abbr": MONTH_NAMES[day.month - 1][:3],
            "hour": f"{wall.hour:02d}", "minute": f"{wall.minute:02d}",
            "second": f"{wall.second:02d}"}


def _wall_clock(taken: dt.datetime, zone: dt.tzinfo | None) -> dt.datetime:
    """A naive time is the camera's own wall clock (EXIF without an offset, a name): it is the
    best local time there is and is kept; an aware one is shown in the library's zone."""
    if taken.tzinfo is None:
        return taken
    return taken.astimezone(zone).replace(tzinfo=None)


def path_safe(value: str, fallback: str = "unknown", limit: int = 64) -> str:
    """A metadata string as one path component: no separators, control or format characters,
    characters Windows shares refuse, leading or trailing dots and spaces; at most `limit`
    bytes of UTF-8; `fallback` when nothing is left."""
    cleaned = "".join(
        "-" if char in _WINDOWS_RESERVED
        else " " if unicodedata.category(char)[0] in "CZ" else char for char in value)
    cleaned = " ".join(cleaned.split()).strip(" .")
    encoded = cleaned.encode("utf-8", "surrogatepass")
    if len(encoded) > limit:
        cleaned = encoded[:limit].decode("utf-8", "ignore").rstrip(" .")
    return cleaned or fallback


def _safe_join(rendered: str, layout: str, rel_path: str) -> str:
    parts = [p for p in rendered.split("/") if p not in ("", ".")]
    if ".." in parts or not parts:
        raise ValueError(f"layout {layout!r} gives an unsafe path {rendered!r} for {rel_path!r}")
    return "/".join(parts)
