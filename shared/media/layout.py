"""Where a file lands in its library: layout templates, EXIF dates and sidecar pairing."""

from __future__ import annotations

import datetime as dt
import os
import posixpath
import re
import string

import exifread

from shared.errors import ConfigError
from shared.media.ignore import is_media, is_sidecar

LAYOUT_ALIASES = {"keep": "{rel_dir}/{name}", "date": "{year}/{month}/{name}",
                  "date-day": "{year}/{year}-{month}-{day}/{name}"}
FIELDS = {"rel_dir", "name", "stem", "ext", "year", "month", "day", "source"}
DATE_FIELDS = {"year", "month", "day"}
_EXIF_DATE_TAGS = ("EXIF DateTimeOriginal", "EXIF DateTimeDigitized", "Image DateTime")
NAME_MAX = 255
_EXIF_DATE = re.compile(r"(\d{4})[:\-](\d{2})[:\-](\d{2})")


def expand_layout(layout: str) -> str:
    return LAYOUT_ALIASES.get(layout, layout)


def validate_layout(layout: str, where: str) -> None:
    template = expand_layout(layout)
    try:
        names = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
    except ValueError as exc:
        raise ConfigError(f"{where}: {layout!r} is not a valid template: {exc}") from exc
    unknown = names - FIELDS
    if unknown:
        raise ConfigError(f"{where}: unknown placeholder {{{sorted(unknown)[0]}}} in {layout!r}; "
                          f"use {', '.join(sorted(FIELDS))}")
    if "{name}" not in template and "{stem}" not in template:
        raise ConfigError(f"{where}: {layout!r} must contain {{name}} or {{stem}}")


def needs_date(layout: str) -> bool:
    template = expand_layout(layout)
    return any(f"{{{field}}}" in template for field in DATE_FIELDS)


def capture_date(path: str, fallback_mtime_ns: int) -> dt.date:
    """EXIF DateTimeOriginal when the file has a sane one, else the file's mtime."""
    try:
        with open(path, "rb") as stream:
            tags = exifread.process_file(stream, details=False, stop_tag="DateTimeOriginal")
        for tag in _EXIF_DATE_TAGS:
            match = _EXIF_DATE.match(str(tags.get(tag, "")))
            if match and match.group(1) != "0000":
                return dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except Exception:  # noqa: BLE001 - corrupt EXIF is common; the mtime is the documented fallback
        pass
    return dt.datetime.fromtimestamp(fallback_mtime_ns / 1e9).date()


def library_rel_path(layout: str, rel_path: str, source: str, date: dt.date | None) -> str:
    """The library-relative path for a source-relative path under a layout template."""
    rel_dir, name = posixpath.split(rel_path)
    stem, ext = os.path.splitext(name)
    values = {"rel_dir": rel_dir, "name": name, "stem": stem, "ext": ext.lstrip("."),
              "source": source}
    if date is not None:
        values.update(year=f"{date.year:04d}", month=f"{date.month:02d}", day=f"{date.day:02d}")
    rendered = expand_layout(layout).format(**values)
    parts = [p for p in rendered.split("/") if p not in ("", ".")]
    if ".." in parts or not parts:
        raise ValueError(f"layout {layout!r} gives an unsafe path {rendered!r} for {rel_path!r}")
    return "/".join(parts)


def with_suffix_number(rel_path: str, number: int) -> str:
    """'a/IMG_1.jpg', 2 -> 'a/IMG_1 (2).jpg' (the collision name for different content)."""
    folder, name = posixpath.split(rel_path)
    stem, ext = _split_media_ext(name)
    suffix = f" ({number}){ext}"
    room = NAME_MAX - len(suffix.encode("utf-8", "surrogateescape"))
    encoded = stem.encode("utf-8", "surrogateescape")
    if len(encoded) > room:  # keep the name within the filesystem's 255 bytes
        stem = encoded[:room].decode("utf-8", "ignore")
    return posixpath.join(folder, f"{stem}{suffix}")


def _split_media_ext(name: str) -> tuple[str, str]:
    """Split 'IMG_1.JPG.xmp' as ('IMG_1', '.JPG.xmp') so a sidecar keeps its image's stem."""
    stem, ext = os.path.splitext(name)
    if is_sidecar(name) and is_media(stem):
        inner_stem, inner_ext = os.path.splitext(stem)
        return inner_stem, inner_ext + ext
    return stem, ext


def image_candidates(rel_path: str, names_in_folder: list[str]) -> list[str]:
    """The images a sidecar belongs to, by the naming conventions in the wild.

    'IMG_1.JPG.xmp' / 'IMG_1.JPG.json' / 'IMG_1.JPG.supplemental-metadata.json' name their image
    in full; 'IMG_1.xmp' and 'IMG_1.AAE' share the stem with any media file beside them.
    """
    folder, name = posixpath.split(rel_path)
    lowered = name.lower()
    candidates = []
    for other in names_in_folder:
        if other == name or not is_media(other):
            continue
        other_lower = other.lower()
        if lowered.startswith(other_lower + ".") or (
            os.path.splitext(lowered)[0] == os.path.splitext(other_lower)[0]
        ):
            candidates.append(posixpath.join(folder, other))
    return sorted(candidates)


def sidecar_name_for(sidecar_rel: str, image_rel: str, image_dest_rel: str) -> str:
    """Name a sidecar after where its image landed ('IMG (2).JPG' -> 'IMG (2).JPG.xmp')."""
    sidecar_name = posixpath.basename(sidecar_rel)
    image_name = posixpath.basename(image_rel)
    dest_folder, dest_name = posixpath.split(image_dest_rel)
    if sidecar_name.lower().startswith(image_name.lower() + "."):
        tail = sidecar_name[len(image_name):]
        return posixpath.join(dest_folder, dest_name + tail)
    tail = os.path.splitext(sidecar_name)[1]
    return posixpath.join(dest_folder, os.path.splitext(dest_name)[0] + tail)
