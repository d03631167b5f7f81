"""Google Takeout JSONs: matched to their media files with Takeout's awkward names, read, and
turned into an XMP sidecar by the real ExifTool."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path

import pytest

from shared.errors import SourceUnreadable
from shared.media.metadata import read_metadata
from shared.media.takeout import (
    TakeoutInfo,
    json_for,
    media_for,
    read_takeout,
    write_takeout_xmp,
)

# ExifTool writes the sidecar; in CI (which installs it) these never skip.
NEEDS_EXIFTOOL = pytest.mark.skipif(shutil.which("exiftool") is None and not os.environ.get("CI"),
                                    reason="ExifTool is not installed (./dev installs it)")
LONG = "Screenshot_20150601-091500_Some Long App Name Here.jpg"  # 53 characters
# What Takeout writes for it: everything before '.json' cut at 46 characters
LONG_JSON = LONG[:46] + ".json"
FOLDER = [
    "photo.jpg", "photo.jpg.json",
    "IMG_1234.JPG", "IMG_1234(1).JPG", "IMG_1234.JPG.json", "IMG_1234.JPG(1).json",
    "IMG_5678.jpg", "IMG_5678-edited.jpg", "IMG_5678.jpg.supplemental-metadata.json",
    "PXL_20230512_093015123.MP.jpg", "PXL_20230512_093015123.MP.jpg.supplemental-met.json",
    "IMG_9999.HEIC", "IMG_9999.HEIC.supplemental-metadata(1).json", "IMG_9999(1).HEIC",
    "IMG_0001-bearbeitet.jpg", "IMG_0001.jpg", "IMG_0001.jpg.json",
    LONG, LONG_JSON,
    "metadata.json", "print-subscriptions.json", "IMG_7777.MOV",
]


@pytest.mark.parametrize(
    ("media", "expected"),
    [
        ("photo.jpg", "photo.jpg.json"),
        ("IMG_1234.JPG", "IMG_1234.JPG.json"),
        ("IMG_1234(1).JPG", "IMG_1234.JPG(1).json"),  # the album's second IMG_1234.JPG
        ("IMG_5678.jpg", "IMG_5678.jpg.supplemental-metadata.json"),
        ("IMG_5678-edited.jpg", "IMG_5678.jpg.supplemental-metadata.json"),  # the original's
        ("IMG_0001-bearbeitet.jpg", "IMG_0001.jpg.json"),  # a German export's edited copy
        # 'PXL_….MP.jpg.supplemental-metadata' is 51 characters: the suffix is cut at 46
        ("PXL_20230512_093015123.MP.jpg", "PXL_20230512_093015123.MP.jpg.supplemental-met.json"),
        ("IMG_9999(1).HEIC", "IMG_9999.HEIC.supplemental-metadata(1).json"),
        (LONG, LONG_JSON),  # a 53-character name's JSON cut at 46
        ("IMG_9999.HEIC", None),  # its JSON is the (1)'s, not its own
        ("IMG_7777.MOV", None),  # a Live Photo video usually has none
    ],
)
def test_json_for_each_media_file(media: str, expected: str | None) -> None:
    assert json_for(media, FOLDER) == expected


def test_media_for_each_json() -> None:
    # Given the folder above / When each JSON's media are listed
    # Then an original and its edited copy share one JSON; album metadata describes no file
    assert media_for("IMG_5678.jpg.supplemental-metadata.json", FOLDER) == [
        "IMG_5678-edited.jpg", "IMG_5678.jpg"]
    assert media_for("IMG_1234.JPG(1).json", FOLDER) == ["IMG_1234(1).JPG"]
    assert media_for("IMG_1234.JPG.json", FOLDER) == ["IMG_1234.JPG"]
    assert media_for(LONG_JSON, FOLDER) == [LONG]
    assert media_for("metadata.json", FOLDER) == []
    assert media_for("print-subscriptions.json", FOLDER) == []


def test_json_names_match_case_insensitively() -> None:
    assert json_for("IMG_1.jpg", ["IMG_1.JPG.JSON"]) == "IMG_1.JPG.JSON"


def _takeout_json(path: Path, **fields: object) -> Path:
    data = {"title": "IMG_1234.JPG", "photoTakenTime": {"timestamp": "1433150100",
                                                         "formatted": "1 Jun 2015, 09:15:00 UTC"},
            "geoData": {"latitude": 0.0, "longitude": 0.0, "altitude": 0.0},
            "geoDataExif": {"latitude": 48.1372, "longitude": 11.5756, "altitude": 519.0}}
    data.update(fields)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_read_takeout_takes_the_date_and_a_real_place(tmp_path: Path) -> None:
    # Given a Takeout JSON whose geoData is 0,0 (none) and geoDataExif is Munich
    info = read_takeout(str(_takeout_json(tmp_path / "IMG_1234.JPG.json")))
    # When read / Then the epoch is a UTC instant, 0,0 is skipped for the real place
    assert info == TakeoutInfo(dt.datetime(2015, 6, 1, 9, 15, tzinfo=dt.UTC), 48.1372, 11.5756,
                               519.0, "IMG_1234.JPG")


def test_read_takeout_without_a_date_or_place(tmp_path: Path) -> None:
    path = _takeout_json(tmp_path / "a.json", photoTakenTime={"timestamp": "0"},
                         geoDataExif={"latitude": 0.0, "longitude": 0.0})
    assert read_takeout(str(path)) == TakeoutInfo(None, None, None, None, "IMG_1234.JPG")


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b"\xff\xfe"])
def test_a_broken_json_is_one_clear_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "IMG_1.jpg.json"
    path.write_bytes(content)
    with pytest.raises(SourceUnreadable) as raised:
        read_takeout(str(path))
    message = str(raised.value)
    assert message.startswith(f"{path}: not a Google Takeout JSON") and "\n" not in message


@NEEDS_EXIFTOOL
def test_xmp_sidecar_carries_the_takeout_date_and_place(tmp_path: Path) -> None:
    # Given a Takeout JSON's date and place (south and west: negative degrees, below sea level)
    info = TakeoutInfo(dt.datetime(2015, 6, 1, 9, 15, tzinfo=dt.UTC), -33.8568, -70.6483, -12.5)
    xmp = tmp_path / "IMG_1234.JPG.xmp"
    # When the sidecar is written
    assert write_takeout_xmp(info, str(xmp)) is True
    # Then ExifTool reads that date and place back from it, and no temp file is left
    meta = read_metadata(str(xmp))
    assert meta.taken == info.taken
    assert (round(meta.latitude, 4), round(meta.longitude, 4)) == (-33.8568, -70.6483)
    assert "GPSAltitudeRef>1<" in xmp.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["IMG_1234.JPG.xmp"]


@NEEDS_EXIFTOOL
def test_xmp_sidecar_never_overwrites(tmp_path: Path) -> None:
    # Given a sidecar the user already has
    xmp = tmp_path / "IMG_1.jpg.xmp"
    xmp.write_bytes(b"<x:xmpmeta>rating 5</x:xmpmeta>")
    info = TakeoutInfo(dt.datetime(2015, 6, 1, tzinfo=dt.UTC))
    # When a Takeout sidecar would go there / Then it is not written and theirs is unchanged
    assert write_takeout_xmp(info, str(xmp)) is False
    assert xmp.read_bytes() == b"<x:xmpmeta>rating 5</x:xmpmeta>"
    # And a JSON with nothing to say writes nothing
    assert write_takeout_xmp(TakeoutInfo(None), str(tmp_path / "b.xmp")) is False
    assert sorted(p.name for p in tmp_path.iterdir()) == ["IMG_1.jpg.xmp"]
