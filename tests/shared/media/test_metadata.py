"""Metadata read by the real ExifTool: capture dates in the issue's order (and where each came
from), camera and Live Photo identifiers, on corpus files copied to tmp_path and on generated
videos; exifread only when ExifTool is missing."""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
from pathlib import Path

import pytest

from shared.media import metadata
from shared.media.dates import DateSource
from shared.media.metadata import read_metadata, reader_problem
from shared.media.takeout import TakeoutInfo
from tests.shared.media.movies import exiftool, make_movie

CORPUS = Path("/work/shared/corpus/exif-samples")
DATA = Path(__file__).parents[2] / "data"
LIVE_ID = "570F1469-09C7-4E50-9875-05F21D5BD166"
CDT = dt.timezone(dt.timedelta(hours=-5))
MTIME_2019 = int(dt.datetime(2019, 7, 4, 12, tzinfo=dt.UTC).timestamp() * 1e9)

pytestmark = pytest.mark.skipif(shutil.which("exiftool") is None and not os.environ.get("CI"),
                                reason="ExifTool is not installed (./dev test installs it)")


def corpus_copy(tmp_path: Path, rel: str, name: str | None = None) -> Path:
    source = CORPUS / rel if (CORPUS / rel).exists() else DATA / Path(rel).name
    copy = tmp_path / (name or Path(rel).name)
    shutil.copyfile(source, copy)
    return copy


def test_live_photo_still_gives_its_date_offset_and_media_group(tmp_path: Path) -> None:
    # Given the corpus's iPhone Live Photo still (DateTimeOriginal 2021:04:11 15:47:53.054,
    # OffsetTimeOriginal -05:00, MakerNotes MediaGroupUUID)
    photo = corpus_copy(tmp_path, "heic/IMG_5195.HEIC")
    # When read
    meta = read_metadata(str(photo), MTIME_2019)
    # Then the date carries its sub-seconds and offset, says where it came from, and the
    # identifiers a Live Photo pairs by are there
    assert meta.taken == dt.datetime(2021, 4, 11, 15, 47, 53, 54000, tzinfo=CDT)
    assert meta.date_source == DateSource.SUB_SEC_DATE_TIME_ORIGINAL
    assert meta.reader == "exiftool"
    assert meta.media_group == LIVE_ID and meta.live_photo_id == LIVE_ID
    assert (meta.make, meta.model, meta.kind) == ("Apple", "iPhone 11 Pro Max", "IMG")


def test_live_photo_video_gives_quicktime_utc_and_content_identifier(tmp_path: Path) -> None:
    # Given the still's MOV: QuickTime CreateDate 20:47:53 (UTC, as QuickTime stores it) and
    # Apple's content identifier, the same UUID as the still's MediaGroupUUID
    movie = make_movie(tmp_path / "IMG_5195.MOV", create_date="2021:04:11 20:47:53",
                       content_id=LIVE_ID)
    # When read
    meta = read_metadata(str(movie), MTIME_2019)
    # Then the date is that UTC instant (15:47:53 at the still's -05:00) and the id pairs it
    assert meta.taken == dt.datetime(2021, 4, 11, 20, 47, 53, tzinfo=dt.UTC)
    assert meta.taken == dt.datetime(2021, 4, 11, 15, 47, 53, tzinfo=CDT)
    assert meta.date_source == DateSource.QUICKTIME_CREATE_DATE
    assert (meta.content_id, meta.live_photo_id, meta.kind) == (LIVE_ID, LIVE_ID, "VID")


def test_mp4_create_date_is_utc(tmp_path: Path) -> None:
    movie = make_movie(tmp_path / "clip.mp4", create_date="2020:12:31 23:30:00", brand="isom")
    meta = read_metadata(str(movie), MTIME_2019)
    assert meta.taken == dt.datetime(2020, 12, 31, 23, 30, tzinfo=dt.UTC)
    assert (meta.date_source, meta.kind) == (DateSource.QUICKTIME_CREATE_DATE, "VID")


def test_a_movie_with_a_zeroed_create_date_falls_through(tmp_path: Path) -> None:
    # Given a video whose CreateDate was never set (QuickTime writes zero: 0000:00:00)
    movie = make_movie(tmp_path / "VID_20190101_101010.mp4", brand="isom")
    # When read / Then the date comes from the file name, not from year 0 or 1904
    meta = read_metadata(str(movie), MTIME_2019)
    assert (meta.taken, meta.date_source) == (dt.datetime(2019, 1, 1, 10, 10, 10),
                                              DateSource.FILE_NAME)


def test_date_time_original_comes_before_create_date(tmp_path: Path) -> None:
    # Given a JPEG whose CreateDate differs from its DateTimeOriginal
    photo = corpus_copy(tmp_path, "jpg/Canon_40D.jpg")
    exiftool(["-overwrite_original", "-ExifIFD:CreateDate=2010:01:01 00:00:00", str(photo)])
    # When read / Then DateTimeOriginal wins
    meta = read_metadata(str(photo), MTIME_2019)
    assert (meta.taken, meta.date_source) == (dt.datetime(2008, 5, 30, 15, 56, 1),
                                              DateSource.SUB_SEC_DATE_TIME_ORIGINAL)
    # And without DateTimeOriginal, CreateDate is next (with its OffsetTimeDigitized)
    exiftool(["-overwrite_original", "-DateTimeOriginal=", "-SubSecTimeOriginal=",
              "-OffsetTimeDigitized=+02:00", str(photo)])
    meta = read_metadata(str(photo), MTIME_2019)
    assert meta.taken == dt.datetime(2010, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert meta.date_source == DateSource.CREATE_DATE


def test_xmp_photoshop_date_created_before_the_file_name(tmp_path: Path) -> None:
    # Given a JPEG with no EXIF whose only date is XMP photoshop:DateCreated, named with a date
    photo = corpus_copy(tmp_path, "jpg/xmp/no_exif.jpg", "IMG_20200101_000000.jpg")
    exiftool(["-overwrite_original", "-XMP:all=", "-XMP-photoshop:DateCreated=2016:02:29 08:00:00",
              str(photo)])
    # When read / Then the XMP date is used, not the name's
    meta = read_metadata(str(photo), MTIME_2019)
    assert (meta.taken, meta.date_source) == (dt.datetime(2016, 2, 29, 8),
                                              DateSource.XMP_DATE_CREATED)


def test_file_name_then_takeout_then_mtime(tmp_path: Path) -> None:
    # Given three copies of a JPEG without any date tag, and a Takeout JSON's date
    blank = corpus_copy(tmp_path, "jpg/xmp/no_exif.jpg", "blank.jpg")
    exiftool(["-overwrite_original", "-all=", str(blank)])
    named = tmp_path / "IMG-20210411-WA0001.jpg"
    shutil.copyfile(blank, named)
    takeout = TakeoutInfo(dt.datetime(2015, 6, 1, 9, tzinfo=dt.UTC), 48.1, 11.5, None, "x.jpg")
    # When read with and without a date in the name, with and without the JSON
    by_name = read_metadata(str(named), MTIME_2019, takeout=takeout)
    by_json = read_metadata(str(blank), MTIME_2019, takeout=takeout)
    by_mtime = read_metadata(str(blank), MTIME_2019)
    # Then the name beats the JSON (a WhatsApp name gives a day without a time), the JSON
    # beats the mtime and brings its place and title, and the mtime comes last, marked as such
    assert (by_name.taken, by_name.has_time, by_name.date_source) == (
        dt.datetime(2021, 4, 11), False, DateSource.FILE_NAME)
    assert (by_json.taken, by_json.date_source) == (takeout.taken, DateSource.TAKEOUT)
    assert (by_json.latitude, by_json.longitude, by_json.original_name) == (48.1, 11.5, "x.jpg")
    assert (by_mtime.date_source, by_mtime.is_dated) == (DateSource.MTIME, False)
    assert by_mtime.taken == dt.datetime(2019, 7, 4, 12, tzinfo=dt.UTC)


def test_every_corpus_file_reads_without_an_exception(tmp_path: Path) -> None:
    # Given every file of the corpus, the corrupt and invalid ones included
    files = sorted(p for p in CORPUS.rglob("*") if p.is_file())
    assert len(files) > 50
    # When each is read / Then each gives a date and a source, never an exception
    for path in files:
        meta = read_metadata(str(path), MTIME_2019)
        assert meta.taken is not None and meta.date_source != DateSource.NONE, path


def test_a_missing_file_gives_the_mtime(tmp_path: Path) -> None:
    meta = read_metadata(str(tmp_path / "gone.jpg"), MTIME_2019)
    assert meta.date_source == DateSource.MTIME


def test_without_exiftool_exifread_reads_exif_and_one_warning_says_so(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    # Given a worker without ExifTool (no process to be had) and a Canon JPEG and a MOV
    monkeypatch.setattr(metadata, "shared_exiftool", lambda: None)
    monkeypatch.setattr(metadata, "_warned", type(metadata._warned)())
    photo = corpus_copy(tmp_path, "jpg/Canon_40D.jpg")
    movie = make_movie(tmp_path / "IMG_1.MOV", create_date="2021:04:11 20:47:53")
    # When both are read, twice
    with caplog.at_level(logging.WARNING, logger="shared.media.metadata"):
        metas = [read_metadata(str(path), MTIME_2019) for path in (photo, movie, photo, movie)]
    # Then the JPEG's EXIF date still comes (by exifread), the video falls to its mtime, one
    # warning line names the missing package, and doctor's check says the same
    assert (metas[0].taken, metas[0].reader) == (dt.datetime(2008, 5, 30, 15, 56, 1), "exifread")
    assert metas[1].date_source == DateSource.MTIME
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "libimage-exiftool-perl" in warnings[0], warnings
    assert "\n" not in warnings[0]
    assert reader_problem() is not None and "ExifTool is not installed" in reader_problem()


def test_reader_problem_is_none_with_exiftool() -> None:
    assert reader_problem() is None


def test_the_whole_date_order_on_one_real_photo(tmp_path: Path) -> None:
    # Given the corpus's Canon JPEG with every date a file can carry: DateTimeOriginal with
    # sub-seconds, an EXIF CreateDate, an XMP photoshop:DateCreated, a date in its name, and a
    # Takeout JSON date beside it (and an EXIF ModifyDate, which is in no place of the order)
    photo = corpus_copy(tmp_path, "jpg/Canon_40D.jpg", "IMG_20210411_154753.jpg")
    exiftool(["-overwrite_original", "-ExifIFD:CreateDate=2010:01:01 00:00:00",
              "-XMP-photoshop:DateCreated=2016:02:29 08:00:00", str(photo)])
    takeout = TakeoutInfo(dt.datetime(2015, 6, 1, 9, tzinfo=dt.UTC))
    seen = []

    def read(path: Path) -> None:
        meta = read_metadata(str(path), MTIME_2019, takeout=takeout)
        seen.append((meta.date_source, meta.taken))

    # When the dates are taken away one by one, best first, and the file read after each
    read(photo)
    exiftool(["-overwrite_original", "-SubSecTimeOriginal=", str(photo)])
    read(photo)
    exiftool(["-overwrite_original", "-DateTimeOriginal=", str(photo)])
    read(photo)
    exiftool(["-overwrite_original", "-ExifIFD:CreateDate=", str(photo)])
    read(photo)
    exiftool(["-overwrite_original", "-XMP:all=", str(photo)])
    read(photo)
    unnamed = photo.rename(tmp_path / "holiday.jpg")
    read(unnamed)
    seen.append((read_metadata(str(unnamed), MTIME_2019).date_source, None))
    # Then each step falls to the next source of the order, and says which it is
    assert seen == [
        (DateSource.SUB_SEC_DATE_TIME_ORIGINAL, dt.datetime(2008, 5, 30, 15, 56, 1)),
        (DateSource.DATE_TIME_ORIGINAL, dt.datetime(2008, 5, 30, 15, 56, 1)),
        (DateSource.CREATE_DATE, dt.datetime(2010, 1, 1)),
        (DateSource.XMP_DATE_CREATED, dt.datetime(2016, 2, 29, 8)),
        (DateSource.FILE_NAME, dt.datetime(2021, 4, 11, 15, 47, 53)),
        (DateSource.TAKEOUT, takeout.taken),
        (DateSource.MTIME, None),
    ]
    assert [str(source) for source, _ in seen] == [
        "SubSecDateTimeOriginal", "DateTimeOriginal", "CreateDate", "XMP:photoshop:DateCreated",
        "filename", "takeout-json", "mtime"]


@pytest.mark.parametrize(("name", "expected"), [
    ("IMG_20210411_154753.jpg", dt.datetime(2021, 4, 11, 15, 47, 53)),
    ("PXL_20210411_204753123.jpg", dt.datetime(2021, 4, 11, 20, 47, 53, tzinfo=dt.UTC)),
    ("Screenshot_20210411-154753.jpg", dt.datetime(2021, 4, 11, 15, 47, 53)),
    ("IMG-20210411-WA0001.jpg", dt.datetime(2021, 4, 11)),
])
def test_a_real_file_without_tags_takes_its_names_date(tmp_path: Path, name: str,
                                                       expected: dt.datetime) -> None:
    # Given a real JPEG with every tag removed, under a phone's or a messenger's name
    photo = corpus_copy(tmp_path, "jpg/xmp/no_exif.jpg", name)
    exiftool(["-overwrite_original", "-all=", str(photo)])
    # When read / Then its date is the name's, and the record will say "filename"
    meta = read_metadata(str(photo), MTIME_2019)
    assert (meta.taken, meta.date_source, str(meta.date_source)) == (
        expected, DateSource.FILE_NAME, "filename")


def test_an_unchanged_file_is_read_once_and_a_rewritten_one_again(tmp_path: Path) -> None:
    # Given a photo read once, and an ExifTool that counts its calls
    photo = corpus_copy(tmp_path, "jpg/Canon_40D.jpg")
    calls = []
    tool = metadata.shared_exiftool()
    assert tool is not None
    original = tool.execute_json

    def counting(args: list[str]) -> object:
        calls.append(args)
        return original(args)

    first = read_metadata(str(photo), MTIME_2019)
    # When it is read again unchanged, then after ExifTool rewrote its date
    tool.execute_json = counting  # type: ignore[method-assign]
    try:
        again = read_metadata(str(photo), MTIME_2019)
        exiftool(["-overwrite_original", "-DateTimeOriginal=2011:11:11 11:11:11", str(photo)])
        rewritten = read_metadata(str(photo), MTIME_2019)
    finally:
        del tool.execute_json
    # Then the unchanged file cost no second call, the rewritten one was read anew
    assert again == first and len(calls) == 1
    assert rewritten.taken is not None and rewritten.taken.year == 2011


class _AnsweringExifTool(metadata.ExifTool):
    """An ExifTool that answers with given tags (ExifTool 12 cannot write Apple's MakerNotes
    BurstUUID, so a test cannot make an iPhone burst shot itself)."""

    def __init__(self, tags: dict[str, object]) -> None:
        super().__init__()
        self.tags = tags

    def execute_json(self, args: object) -> tuple[list[dict[str, object]], str]:
        return [dict(self.tags)], ""


def test_a_burst_is_known_by_apples_burst_uuid_or_google_cameras_burst_id(
        tmp_path: Path) -> None:
    # Given an iPhone burst shot as ExifTool reports it (MakerNotes Apple:BurstUUID), and a
    # Pixel burst shot written by ExifTool itself (XMP-GCamera:BurstID)
    iphone = corpus_copy(tmp_path, "jpg/Canon_40D.jpg", "IMG_0001.JPG")
    apple = _AnsweringExifTool({"Apple:BurstUUID": "7E1A4D3C-0000-4000-8000-00000000B001",
                                "ExifIFD:DateTimeOriginal": "2020:12:31 23:59:59"})
    pixel = corpus_copy(tmp_path, "jpg/Canon_40D.jpg", "PXL_0001.jpg")
    exiftool(["-overwrite_original", "-XMP-GCamera:BurstID=pixel-burst-1", str(pixel)])
    # When both are read
    shot, other = read_metadata(str(iphone), reader=apple), read_metadata(str(pixel))
    # Then each carries its burst's identifier, which sets pair by
    assert shot.burst_id == "7E1A4D3C-0000-4000-8000-00000000B001"
    assert shot.taken == dt.datetime(2020, 12, 31, 23, 59, 59)
    assert other.burst_id == "pixel-burst-1"
