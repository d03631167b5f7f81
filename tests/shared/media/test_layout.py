"""Where a file lands in its library: layout templates, EXIF capture dates, sidecar pairing."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest

from shared.errors import ConfigError
from shared.media.dates import DateSource
from shared.media.layout import capture_date, library_rel_path, needs_date, validate_layout
from shared.media.metadata import read_metadata
from shared.media.sidecars import image_candidates, sidecar_name_for, with_suffix_number

DATA = Path(__file__).parents[2] / "data"
MAY_2008 = dt.date(2008, 5, 30)


def _mtime_ns(year: int, month: int, day: int) -> int:
    return int(dt.datetime(year, month, day, 12, 0).timestamp() * 1e9)


# --- library_rel_path ----------------------------------------------------------------------


def test_keep_layout_keeps_the_source_relative_path() -> None:
    assert library_rel_path("keep", "DCIM/Camera/IMG_1.jpg", "phone", None) == (
        "DCIM/Camera/IMG_1.jpg")


def test_keep_layout_at_the_source_root_has_no_leading_slash() -> None:
    # Given a file at the source root (rel_dir is empty)
    # When laid out with keep / Then the result is just the name, not '/IMG_1.jpg'
    assert library_rel_path("keep", "IMG_1.jpg", "phone", None) == "IMG_1.jpg"


def test_date_layout_uses_year_and_month() -> None:
    assert library_rel_path("date", "DCIM/IMG_1.jpg", "phone", MAY_2008) == "2008/05/IMG_1.jpg"


def test_date_day_layout() -> None:
    assert library_rel_path("date-day", "a/IMG_1.jpg", "phone", dt.date(2024, 1, 2)) == (
        "2024/2024-01-02/IMG_1.jpg")


def test_custom_template_with_every_field() -> None:
    # Given a custom template using all placeholders
    layout = "{source}/{year}-{month}-{day}/{rel_dir}/{stem}.{ext}"
    # When rendered / Then each placeholder is filled, empty parts dropped
    assert library_rel_path(layout, "DCIM/IMG_1.HEIC", "phone", dt.date(2023, 12, 31)) == (
        "phone/2023-12-31/DCIM/IMG_1.HEIC")
    assert library_rel_path(layout, "IMG_1.HEIC", "phone", dt.date(2023, 12, 31)) == (
        "phone/2023-12-31/IMG_1.HEIC")


def test_template_cannot_escape_the_library() -> None:
    # Given a template whose folder part renders to '..'
    # When rendered / Then it is refused rather than leaving the library
    with pytest.raises(ValueError, match="unsafe path"):
        library_rel_path("{rel_dir}/{name}", "../../etc/passwd.jpg", "phone", None)


def test_needs_date() -> None:
    assert needs_date("date") and needs_date("date-day") and needs_date("{year}/{name}")
    assert not needs_date("keep") and not needs_date("{source}/{name}")


# --- validate_layout -----------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["keep", "date", "date-day", "{source}/{rel_dir}/{stem}.{ext}",
                                    "{year}/{month}/{day}/{name}"])
def test_valid_layouts(layout: str) -> None:
    validate_layout(layout, "libraries.x.layout")


def test_unknown_placeholder_is_named() -> None:
    with pytest.raises(ConfigError, match=r"libraries\.x\.layout: unknown placeholder \{camera\}"):
        validate_layout("{camera}/{name}", "libraries.x.layout")


def test_layout_without_a_name() -> None:
    with pytest.raises(ConfigError, match=r"must contain \{name\} or \{stem\}"):
        validate_layout("{year}/{month}", "libraries.x.layout")


def test_malformed_template() -> None:
    with pytest.raises(ConfigError, match="is not a valid template"):
        validate_layout("{year/{name}", "libraries.x.layout")


# --- capture_date --------------------------------------------------------------------------


def test_capture_date_reads_exif_date_time_original(tmp_path: Path) -> None:
    # Given a real Canon 40D JPEG (DateTimeOriginal 2008:05:30, DateTime 2008:07:31)
    photo = tmp_path / "IMG.jpg"
    shutil.copyfile(DATA / "Canon_40D.jpg", photo)
    # When its capture date is read with a very different mtime fallback
    found = capture_date(str(photo), _mtime_ns(2020, 1, 1))
    # Then it is DateTimeOriginal, not the file's mtime nor the edit date
    assert found == MAY_2008


def test_capture_date_of_another_camera() -> None:
    assert capture_date(str(DATA / "Nikon_D70.jpg"), _mtime_ns(2020, 1, 1)) == dt.date(2008, 3, 15)


def test_invalid_exif_still_gives_its_xmp_create_date() -> None:
    # Given a JPEG from the collection's 'invalid' folder: its EXIF cannot be parsed, but its
    # XMP says xmp:CreateDate 2011-09-23T12:43:03Z (exifread never read XMP: it gave the mtime)
    # When read / Then ExifTool's XMP date is used, not the mtime
    meta = read_metadata(str(DATA / "image01551.jpg"), _mtime_ns(2019, 7, 4))
    assert meta.taken == dt.datetime(2011, 9, 23, 12, 43, 3, tzinfo=dt.UTC)
    assert meta.date_source == DateSource.XMP_CREATE_DATE


def test_heif_without_date_tags_falls_back_to_mtime() -> None:
    assert capture_date(str(DATA / "samplefilehub.heif"), _mtime_ns(2021, 2, 3)) == (
        dt.date(2021, 2, 3))


def test_zeroed_exif_dates_fall_back_to_mtime(tmp_path: Path) -> None:
    # Given the Canon JPEG with both of its EXIF dates blanked to '0000:00:00 00:00:00'
    data = (DATA / "Canon_40D.jpg").read_bytes()
    for stamp in (b"2008:05:30 15:56:01", b"2008:07:31 10:38:11"):
        assert stamp in data
        data = data.replace(stamp, b"0000:00:00 00:00:00")
    photo = tmp_path / "zeroed.jpg"
    photo.write_bytes(data)
    # When read / Then the year-0000 dates are not trusted: the mtime is used
    assert capture_date(str(photo), _mtime_ns(2018, 11, 11)) == dt.date(2018, 11, 11)


@pytest.mark.parametrize(("cut", "expected"), [(0, dt.date(2017, 6, 6)), (2, dt.date(2017, 6, 6)),
                                           (20, dt.date(2017, 6, 6)), (200, dt.date(2017, 6, 6)),
                                           (1000, MAY_2008)])
def test_truncated_jpeg(tmp_path: Path, cut: int, expected: dt.date) -> None:
    # Given the Canon JPEG cut short (a half-copied file); its DateTimeOriginal sits at byte 626
    photo = tmp_path / "cut.jpg"
    photo.write_bytes((DATA / "Canon_40D.jpg").read_bytes()[:cut])
    # When read
    found = capture_date(str(photo), _mtime_ns(2017, 6, 6))
    # Then no exception escapes: a cut before the EXIF dates gives the mtime, a cut after them
    # still gives DateTimeOriginal
    assert found == expected


def test_missing_file_falls_back_to_mtime(tmp_path: Path) -> None:
    assert capture_date(str(tmp_path / "gone.jpg"), _mtime_ns(2016, 5, 5)) == dt.date(2016, 5, 5)


# --- with_suffix_number --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rel", "number", "expected"),
    [
        ("a/IMG.jpg", 2, "a/IMG (2).jpg"),
        ("IMG.jpg", 3, "IMG (3).jpg"),
        ("a/b/IMG_1.JPG.xmp", 2, "a/b/IMG_1 (2).JPG.xmp"),  # sidecar keeps its image's stem
        ("IMG.JPG.xmp", 2, "IMG (2).JPG.xmp"),
        ("IMG.xmp", 2, "IMG (2).xmp"),
        ("archive.tar.gz", 2, "archive.tar (2).gz"),
        ("README", 2, "README (2)"),
    ],
)
def test_with_suffix_number(rel: str, number: int, expected: str) -> None:
    assert with_suffix_number(rel, number) == expected


# --- sidecars ------------------------------------------------------------------------------


def test_image_candidates_by_shared_stem_and_full_name() -> None:
    # Given a folder with images, sidecars and unrelated files
    present = ["IMG_1.JPG", "IMG_1.CR2", "IMG_1.xmp", "IMG_2.jpg", "notes.txt", "IMG_1.txt"]
    # When the images of 'IMG_1.xmp' are listed / Then both media files sharing the stem come back
    assert image_candidates("d/IMG_1.xmp", present) == ["d/IMG_1.CR2", "d/IMG_1.JPG"]
    # And 'IMG_2.jpg.json' (Google Takeout style) names its image in full, case-insensitively
    assert image_candidates("IMG_2.JPG.json", present) == ["IMG_2.jpg"]
    # And a supplemental-metadata JSON too
    assert image_candidates("IMG_2.jpg.supplemental-metadata.json", present) == ["IMG_2.jpg"]
    # And an orphan has none
    assert image_candidates("IMG_9.xmp", present) == []


def test_image_candidates_ignores_non_media() -> None:
    assert image_candidates("x.aae", ["x.txt", "x.aae", "x.json"]) == []


@pytest.mark.parametrize(
    ("sidecar", "image", "image_dest", "expected"),
    [
        ("d/IMG_1.xmp", "d/IMG_1.jpg", "2008/05/IMG_1.jpg", "2008/05/IMG_1.xmp"),
        ("d/IMG_1.xmp", "d/IMG_1.jpg", "d/IMG_1 (2).jpg", "d/IMG_1 (2).xmp"),
        ("IMG_1.JPG.xmp", "IMG_1.JPG", "IMG_1 (2).JPG", "IMG_1 (2).JPG.xmp"),
        ("IMG_1.jpg.supplemental-metadata.json", "IMG_1.jpg", "x/IMG_1 (3).jpg",
         "x/IMG_1 (3).jpg.supplemental-metadata.json"),
        ("IMG_1.AAE", "IMG_1.HEIC", "IMG_1.HEIC", "IMG_1.AAE"),
    ],
)
def test_sidecar_name_follows_where_its_image_landed(sidecar: str, image: str, image_dest: str,
                                                     expected: str) -> None:
    assert sidecar_name_for(sidecar, image, image_dest) == expected


def test_data_files_are_present() -> None:
    # The sample photos this module relies on are checked in (see tests/data/README.md)
    for name in ("Canon_40D.jpg", "Nikon_D70.jpg", "image01551.jpg", "samplefilehub.heif"):
        assert os.path.getsize(DATA / name) > 0, name
    assert (DATA / "README.md").is_file()
