"""A Google Takeout export as a source (shared.ingest.takeout): dates from the JSONs for files
without their own, the Takeout shape detected, truncated JSON names travelling with their
photo, and the optional XMP sidecar (real ExifTool, real Redis)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import redis

from shared.config import build_settings
from shared.errors import TakeoutJsonPending
from shared.ingest import takeout
from shared.ingest.context import Context
from shared.ingest.pipeline import run_all
from shared.jobs import FileJob, Outcome
from shared.media import read_metadata, read_takeout
from shared.state.store import RedisStateStore
from tests.shared.ingest.trees import tree

TAKEN_2015 = "1433150100"  # 2015-06-01 09:15:00 UTC
NO_EXIF = b"\xff\xd8\xff\xdb" + b"\0" * 2000 + b"\xff\xd9"  # a JPEG that says no date


def _json(path: Path, timestamp: str = TAKEN_2015) -> None:
    path.write_text(json.dumps({
        "title": "photo.jpg", "photoTakenTime": {"timestamp": timestamp},
        "geoData": {"latitude": 48.1372, "longitude": 11.5756, "altitude": 519.0}}))


def _context(base: Path, client: redis.Redis, prefix: str, source_path: str,
             **source: Any) -> Context:
    (base / source_path).mkdir(parents=True)
    (base / "lib").mkdir()
    raw = {"sources": {"takeout": {"path": source_path, "library": "lib", "mode": "copy",
                                   **source}},
           "libraries": {"lib": {"path": "lib", "layout": "{year}/{month}/{name}",
                                 "timezone": "UTC"}}}
    return Context(build_settings(raw, None, base), RedisStateStore(client, prefix),
                   hostname="test-host")


def _ingest(ctx: Context, *rels: str) -> None:
    for rel in rels:
        assert run_all(FileJob("takeout", rel), ctx).outcome == Outcome.INGESTED, rel


def test_a_takeout_photo_without_exif_takes_the_date_of_its_json_and_gets_an_xmp(
        tmp_path: Path, redis_client: redis.Redis, key_prefix: str) -> None:
    # Given a source of kind "takeout" writing XMP sidecars, a photo with no date of its own
    # and its JSON (2015)
    ctx = _context(tmp_path, redis_client, key_prefix, "export", kind="takeout",
                   takeout_xmp=True)
    src = tmp_path / "export"
    (src / "photo.jpg").write_bytes(NO_EXIF)
    _json(src / "photo.jpg.json")
    # When both are ingested
    _ingest(ctx, "photo.jpg", "photo.jpg.json")
    # Then the photo is in 2015/06 (not the month of the copy), its JSON beside it, and an XMP
    # sidecar ExifTool reads the date and place from
    placed = tree(tmp_path / "lib")
    assert placed["2015/06/photo.jpg"] == NO_EXIF
    assert "2015/06/photo.jpg.json" in placed
    xmp = read_metadata(str(tmp_path / "lib" / "2015/06/photo.jpg.xmp"))
    assert xmp.taken is not None and (xmp.taken.year, xmp.taken.month) == (2015, 6)
    assert xmp.latitude == pytest.approx(48.1372)


@pytest.mark.parametrize("folder", ["Takeout/Google Photos/Trip", "Takeout/Google Fotos/Trip"])
def test_the_takeout_shape_is_detected_in_an_ordinary_source(
        tmp_path: Path, redis_client: redis.Redis, key_prefix: str, folder: str) -> None:
    # Given an ordinary source holding an unpacked Takeout, no XMP asked for
    ctx = _context(tmp_path, redis_client, key_prefix, "downloads")
    album = tmp_path / "downloads" / folder
    album.mkdir(parents=True)
    (album / "photo.jpg").write_bytes(NO_EXIF)
    _json(album / "photo.jpg.supplemental-metadata.json")
    # When the photo is ingested
    _ingest(ctx, f"{folder}/photo.jpg")
    # Then its JSON's date places it, and no XMP is written
    assert tree(tmp_path / "lib") == {"2015/06/photo.jpg": NO_EXIF}


def test_a_truncated_json_name_travels_with_its_photo(
        tmp_path: Path, redis_client: redis.Redis, key_prefix: str) -> None:
    # Given a photo with a long name and its JSON under Google's 46-character cut
    ctx = _context(tmp_path, redis_client, key_prefix, "export", kind="takeout")
    src = tmp_path / "export"
    name = "Family_gathering_at_the_lake_house_summer_evening.jpg"
    cut = "Family_gathering_at_the_lake_house_summer_even.json"
    (src / name).write_bytes(NO_EXIF)
    _json(src / cut)
    # When both are ingested
    _ingest(ctx, name, cut)
    # Then the photo takes the JSON's date and the JSON lands beside it, named after it
    placed = tree(tmp_path / "lib")
    assert placed[f"2015/06/{name}"] == NO_EXIF
    assert f"2015/06/{os.path.splitext(name)[0]}.json" in placed


CORPUS = Path("/work/shared/corpus/exif-samples")


def _with_exif(path: Path, *tags: str) -> bytes:
    """The corpus's Canon JPEG (DateTimeOriginal 2008:05:30 15:56:01, no GPS) with `tags`."""
    path.write_bytes((CORPUS / "jpg" / "Canon_40D.jpg").read_bytes())
    if tags:
        done = subprocess.run(["exiftool", "-q", "-overwrite_original", *tags, str(path)],
                              capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
    return path.read_bytes()


def test_a_photo_with_its_own_date_and_place_keeps_them_and_gets_no_xmp(
        tmp_path: Path, redis_client: redis.Redis, key_prefix: str) -> None:
    # Given a Takeout source writing XMP sidecars, a photo with its own EXIF date (2008) and
    # GPS (Paris), and a JSON saying 2015 and Munich
    ctx = _context(tmp_path, redis_client, key_prefix, "export", kind="takeout",
                   takeout_xmp=True)
    src = tmp_path / "export"
    photo = _with_exif(src / "photo.jpg", "-GPSLatitude=48.8566", "-GPSLatitudeRef=N",
                       "-GPSLongitude=2.3522", "-GPSLongitudeRef=E")
    _json(src / "photo.jpg.json")
    # When both are ingested
    _ingest(ctx, "photo.jpg", "photo.jpg.json")
    # Then the photo lands by its own date, its record says so, and no XMP is written: the
    # JSON supplies nothing the file lacks
    placed = tree(tmp_path / "lib")
    assert placed["2008/05/photo.jpg"] == photo
    assert sorted(placed) == ["2008/05/photo.jpg", "2008/05/photo.jpg.json"]
    assert ctx.store.get_record("takeout", "photo.jpg").date_source == "SubSecDateTimeOriginal"
    meta = read_metadata(str(src / "photo.jpg"), takeout=read_takeout(str(src / "photo.jpg.json")))
    assert (meta.latitude, meta.longitude, meta.place_from_takeout) == (
        pytest.approx(48.8566), pytest.approx(2.3522), False)


def test_a_photo_with_its_own_date_but_no_gps_gets_only_the_place(
        tmp_path: Path, redis_client: redis.Redis, key_prefix: str) -> None:
    # Given a Takeout source writing XMP sidecars, a photo with its own EXIF date and no GPS,
    # and a JSON with a date (2015) and a place
    ctx = _context(tmp_path, redis_client, key_prefix, "export", kind="takeout",
                   takeout_xmp=True)
    src = tmp_path / "export"
    photo = _with_exif(src / "photo.jpg")
    _json(src / "photo.jpg.json")
    # When the photo is ingested
    _ingest(ctx, "photo.jpg")
    # Then it lands by its own date, and its XMP holds the JSON's place but no date: the file's
    # own date stays the one apps show
    assert tree(tmp_path / "lib")["2008/05/photo.jpg"] == photo
    xmp = tmp_path / "lib" / "2008/05/photo.jpg.xmp"
    written = subprocess.run(["exiftool", "-j", "-n", "-G1", "-a", str(xmp)],
                             capture_output=True, text=True, check=True).stdout
    tags = json.loads(written)[0]
    assert tags["XMP-exif:GPSLatitude"] == pytest.approx(48.1372)
    assert not [tag for tag in tags if "Date" in tag and tag.startswith("XMP")], tags


def test_a_photo_arriving_before_its_json_waits_for_it_then_takes_its_date(
        tmp_path: Path, redis_client: redis.Redis, key_prefix: str) -> None:
    # Given a Takeout source where an extraction has just written a photo with no date of its
    # own, and not yet its JSON
    ctx = _context(tmp_path, redis_client, key_prefix, "export", kind="takeout")
    src = tmp_path / "export"
    (src / "photo.jpg").write_bytes(NO_EXIF)
    # When it is ingested before the JSON is there
    with pytest.raises(TakeoutJsonPending) as held:
        run_all(FileJob("takeout", "photo.jpg"), ctx)
    # Then it is held for a short look again (a hold, not a failure) and nothing is placed;
    # once the JSON arrives it lands in the JSON's month
    assert held.value.countdown > 0
    assert tree(tmp_path / "lib") == {}
    _json(src / "photo.jpg.json")
    _ingest(ctx, "photo.jpg", "photo.jpg.json")
    assert sorted(tree(tmp_path / "lib")) == ["2015/06/photo.jpg", "2015/06/photo.jpg.json"]


def test_a_photo_whose_json_never_comes_is_placed_by_its_other_dates_after_the_grace(
        tmp_path: Path, redis_client: redis.Redis, key_prefix: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a Takeout photo without a JSON that arrived longer ago than the grace
    monkeypatch.setattr(takeout, "TAKEOUT_JSON_GRACE", 0.0)
    ctx = _context(tmp_path, redis_client, key_prefix, "export", kind="takeout")
    src = tmp_path / "export"
    (src / "photo.jpg").write_bytes(NO_EXIF)
    # When it is ingested
    _ingest(ctx, "photo.jpg")
    # Then it is placed at once, where this library puts a photo of no known date
    assert tree(tmp_path / "lib") == {"unknown/photo.jpg": NO_EXIF}
