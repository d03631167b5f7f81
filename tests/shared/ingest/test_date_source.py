"""Each file's record and journal entry say which source its capture date came from (the
issue's date order, read by the real ExifTool from real files), and `mediacourier trace`
shows it."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pytest
from rich.console import Console

from shared.jobs import Outcome
from tests.shared.media.movies import exiftool, make_movie
from workers.trace import print_trace

CORPUS = Path("/work/shared/corpus/exif-samples")
LIVE_ID = "570F1469-09C7-4E50-9875-05F21D5BD166"

pytestmark = pytest.mark.skipif(shutil.which("exiftool") is None and not os.environ.get("CI"),
                                reason="ExifTool is not installed (./dev test installs it)")


def _blank(tmp_path: Path, name: str) -> bytes:
    """A real JPEG without a single tag (so only its name or its mtime can date it)."""
    path = tmp_path / name
    shutil.copyfile(CORPUS / "jpg" / "xmp" / "no_exif.jpg", path)
    exiftool(["-overwrite_original", "-all=", "-Comment=" + name, str(path)])
    return path.read_bytes()


def test_records_and_journal_name_the_date_source_of_each_file(make_rig,
                                                               tmp_path: Path) -> None:
    # Given a date layout and files dated by each kind of source: sub-second EXIF, EXIF
    # without sub-seconds, QuickTime's UTC CreateDate, XMP photoshop:DateCreated, a phone's
    # file name, nothing at all; and a sidecar
    rig = make_rig(layout="date")
    plain = tmp_path / "plain.jpg"
    shutil.copyfile(CORPUS / "jpg" / "Canon_40D.jpg", plain)
    exiftool(["-overwrite_original", "-SubSecTimeOriginal=", str(plain)])
    xmp_only = tmp_path / "xmp.jpg"
    shutil.copyfile(CORPUS / "jpg" / "xmp" / "no_exif.jpg", xmp_only)
    exiftool(["-overwrite_original", "-XMP:all=", "-XMP-photoshop:DateCreated=2016:02:29 08:00:00",
              str(xmp_only)])
    files = {
        "a/IMG_5195.HEIC": (CORPUS / "heic" / "IMG_5195.HEIC").read_bytes(),
        "b/plain.jpg": plain.read_bytes(),
        "c/clip.mp4": make_movie(tmp_path / "clip.mp4", create_date="2020:06:15 12:00:00",
                                 brand="isom").read_bytes(),
        "d/xmp.jpg": xmp_only.read_bytes(),
        "e/PXL_20210411_204753123.jpg": _blank(tmp_path, "PXL_20210411_204753123.jpg"),
        "f/scan.jpg": _blank(tmp_path, "scan.jpg"),
        "a/IMG_5195.xmp": b"<x:xmpmeta/>",
    }
    for rel, data in files.items():
        rig.put(rel, data)
    # When each is ingested
    jobs = {rel: rig.ingest(rel) for rel in files}
    # Then every one landed, and its record and its journal entry say where its date came from
    assert {rel: job.outcome for rel, job in jobs.items()} == dict.fromkeys(
        files, Outcome.INGESTED)
    expected = {"a/IMG_5195.HEIC": "SubSecDateTimeOriginal", "b/plain.jpg": "DateTimeOriginal",
                "c/clip.mp4": "QuickTime:CreateDate", "d/xmp.jpg": "XMP:photoshop:DateCreated",
                "e/PXL_20210411_204753123.jpg": "filename", "f/scan.jpg": "mtime",
                "a/IMG_5195.xmp": ""}
    recorded = {rel: rig.store.get_record("cam", rel) for rel in files}
    assert {rel: record.date_source for rel, record in recorded.items()} == expected
    journal = {entry["path"]: entry.get("date_source", "") for entry in rig.store.read_journal()
               if entry.get("event") == "ingested"}
    assert journal == expected
    # And each landed where that date says (the undated one under unknown/), by bytes
    assert {rel: (rig.lib / record.dest).read_bytes() == files[rel]
            for rel, record in recorded.items()} == dict.fromkeys(files, True)
    assert {rel: record.dest for rel, record in recorded.items()} == {
        "a/IMG_5195.HEIC": "2021/04/IMG_5195.HEIC", "b/plain.jpg": "2008/05/plain.jpg",
        "c/clip.mp4": "2020/06/clip.mp4", "d/xmp.jpg": "2016/02/xmp.jpg",
        "e/PXL_20210411_204753123.jpg": "2021/04/PXL_20210411_204753123.jpg",
        "f/scan.jpg": "unknown/scan.jpg", "a/IMG_5195.xmp": "2021/04/IMG_5195.xmp"}


def test_a_live_photos_video_records_that_its_set_placed_it(make_rig, tmp_path: Path) -> None:
    # Given a Live Photo whose video's UTC date falls on the next day of the library's zone
    rig = make_rig(layout="date-day")
    rig.put("DCIM/IMG_5195.HEIC", (CORPUS / "heic" / "IMG_5195.HEIC").read_bytes())
    rig.put("DCIM/IMG_5195.MOV", make_movie(tmp_path / "IMG_5195.MOV",
                                            create_date="2021:04:12 20:47:53",
                                            content_id=LIVE_ID).read_bytes())
    # When both are ingested
    rig.ingest("DCIM/IMG_5195.HEIC")
    rig.ingest("DCIM/IMG_5195.MOV")
    # Then the video is beside its still, and its record says its set put it there
    still, video = (rig.store.get_record("cam", f"DCIM/IMG_5195.{e}") for e in ("HEIC", "MOV"))
    assert (still.dest, still.date_source) == ("2021/2021-04-11/IMG_5195.HEIC",
                                               "SubSecDateTimeOriginal")
    assert (video.dest, video.date_source) == ("2021/2021-04-11/IMG_5195.MOV", "set")


def test_trace_shows_where_the_date_came_from(make_rig) -> None:
    # Given a WhatsApp photo dated only by its name, ingested under a date layout
    rig = make_rig(layout="date-day")
    rig.put("WhatsApp/IMG-20190614-WA0003.jpg", os.urandom(3000))
    assert rig.ingest("WhatsApp/IMG-20190614-WA0003.jpg").outcome == Outcome.INGESTED
    # When it is traced
    out = io.StringIO()
    code = print_trace(rig.ctx.settings, rig.store, "IMG-20190614-WA0003.jpg",
                       Console(file=out, width=250))
    # Then the trace names the source of its date
    assert code == 0
    assert "  date from: filename" in out.getvalue().splitlines(), out.getvalue()
