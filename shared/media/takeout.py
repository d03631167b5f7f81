"""Google Takeout JSON sidecars: which media file a JSON describes, what it says, and an XMP
sidecar carrying that for apps that read XMP (Immich, PhotoPrism).

Takeout's naming, as immich-go and GooglePhotosTakeoutHelper implement it: the JSON of
`NAME.EXT` is `NAME.EXT.json` or `NAME.EXT.supplemental-metadata.json`, with everything before
`.json` cut at 46 characters (so the suffix itself may be cut: `NAME.EXT.supplem.json`); the
second `IMG.jpg` of an album is `IMG(1).jpg` and its JSON `IMG.jpg(1).json`; an edited copy
(`IMG-edited.jpg`, `IMG-bearbeitet.jpg`...) has no JSON of its own and shares the original's.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from shared.errors import SourceUnreadable
from shared.media.exiftool import ExifTool, ExifToolFailed, shared_exiftool

NAME_LIMIT = 46  # characters before ".json"
SUPPLEMENTAL = ".supplemental-metadata"
# The edited-copy suffixes Google Photos writes, by export language.
EDITED_SUFFIXES = ("-edited", "-bearbeitet", "-modifié", "-editado", "-modificato", "-bewerkt",
                   "-redigeret", "-muokattu", "-redigerad", "-edytowane", "-upravené",
                   "-изменено", "-編集済み", "-已编辑", "-편집됨")
_DUPLICATE = re.compile(r"^(?P<stem>.*)\((?P<n>\d+)\)(?P<ext>\.[^.]+)$")


@dataclass(frozen=True)
class TakeoutInfo:
    taken: dt.datetime | None  # photoTakenTime, aware (UTC)
    latitude: float | None = None
    longitude: float | None = None
    altitude: float | None = None
    title: str = ""  # the file's original name


def json_names_for(media_name: str) -> list[str]:
    """The names a Takeout JSON of `media_name` may have, most specific first."""
    base, number = media_name, ""
    duplicate = _DUPLICATE.match(media_name)
    if duplicate:
        base, number = duplicate["stem"] + duplicate["ext"], f"({duplicate['n']})"
    names = []
    for original in _unedited(base):
        for stem in (original + SUPPLEMENTAL, original):
            names.append(stem[:NAME_LIMIT] + number + ".json")
    return list(dict.fromkeys(names))


def json_for(media_name: str, names_in_folder: Iterable[str]) -> str | None:
    """The JSON in the folder that describes `media_name`, or None."""
    present = {name.lower(): name for name in names_in_folder}
    for candidate in json_names_for(media_name):
        if candidate.lower() in present:
            return present[candidate.lower()]
    return None


def media_for(json_name: str, names_in_folder: Iterable[str]) -> list[str]:
    """The media files in the folder that `json_name` describes: the original and its edited
    copies (sorted), or [] for an orphan or a JSON that is no file's (an album's metadata)."""
    names = list(names_in_folder)
    return sorted(name for name in names if name != json_name and not name.lower().endswith(
        ".json") and json_for(name, names) == json_name)


def _unedited(name: str) -> list[str]:
    """['IMG-edited.jpg', 'IMG.jpg'] for an edited copy, else [name]."""
    stem, ext = os.path.splitext(name)
    for suffix in EDITED_SUFFIXES:
        if stem.lower().endswith(suffix):
            return [name, stem[: -len(suffix)] + ext]
    return [name]


def read_takeout(path: str) -> TakeoutInfo:
    """photoTakenTime, geoData (else geoDataExif; 0,0 is none) and title of a Takeout JSON.
    SourceUnreadable, naming the file and the reason, for anything else."""
    try:
        with open(path, "rb") as stream:
            data = json.loads(stream.read(1_000_000))
    except (OSError, ValueError) as exc:
        raise SourceUnreadable(f"{path}: not a Google Takeout JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise SourceUnreadable(f"{path}: not a Google Takeout JSON (no object at the top)")
    taken = _epoch(data.get("photoTakenTime"))
    latitude = longitude = altitude = None
    for key in ("geoData", "geoDataExif"):
        geo = data.get(key)
        if isinstance(geo, dict):
            lat, lon = _float(geo.get("latitude")), _float(geo.get("longitude"))
            if lat is not None and lon is not None and (lat, lon) != (0.0, 0.0):
                latitude, longitude, altitude = lat, lon, _float(geo.get("altitude"))
                break
    title = data.get("title")
    return TakeoutInfo(taken, latitude, longitude, altitude,
                       title if isinstance(title, str) else "")


def _epoch(field: Any) -> dt.datetime | None:
    stamp = field.get("timestamp") if isinstance(field, dict) else None
    try:
        seconds = int(stamp)
    except (TypeError, ValueError):
        return None
    if seconds <= 0:  # 0 is how an export writes "no date"
        return None
    try:
        return dt.datetime.fromtimestamp(seconds, dt.UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def xmp_arguments(info: TakeoutInfo) -> list[str]:
    """ExifTool arguments that put a Takeout date and place into an XMP file."""
    args = []
    if info.taken is not None:
        stamp = info.taken.astimezone(dt.UTC).strftime("%Y:%m:%d %H:%M:%S+00:00")
        args += [f"-XMP-exif:DateTimeOriginal={stamp}", f"-XMP-photoshop:DateCreated={stamp}"]
    if info.latitude is not None and info.longitude is not None:
        args += [f"-XMP-exif:GPSLatitude={info.latitude!r}",
                 f"-XMP-exif:GPSLongitude={info.longitude!r}"]
        if info.altitude is not None:
            args += [f"-XMP-exif:GPSAltitude={abs(info.altitude)!r}",
                     f"-XMP-exif:GPSAltitudeRef#={'1' if info.altitude < 0 else '0'}"]
    return args


def write_takeout_xmp(info: TakeoutInfo, xmp_path: str, reader: ExifTool | None = None) -> bool:
    """Create `xmp_path` holding the Takeout date and place; False when there is nothing to
    write or a file of that name exists already (a sidecar is never overwritten).
    ExifToolFailed when ExifTool is missing or fails."""
    args = xmp_arguments(info)
    if not args or os.path.lexists(xmp_path):
        return False
    exiftool = reader or shared_exiftool()
    if exiftool is None:
        raise ExifToolFailed(f"{xmp_path}: ExifTool is not installed: no XMP sidecar written")
    folder, name = os.path.split(os.path.abspath(xmp_path))
    temp = os.path.join(folder, f".{name}.{os.getpid()}.mc-tmp.xmp")  # exiftool goes by the end
    try:
        _, errors = exiftool.execute(["-q", "-m", *args, temp])
        if not os.path.exists(temp):
            raise ExifToolFailed(f"{xmp_path}: exiftool wrote no XMP: {errors or 'no reason'}")
        with open(temp, "rb") as stream:
            os.fsync(stream.fileno())
        try:
            os.link(temp, xmp_path)  # unlike rename, never replaces a file that appeared since
        except FileExistsError:
            return False
        return True
    finally:
        if os.path.lexists(temp):
            os.unlink(temp)
