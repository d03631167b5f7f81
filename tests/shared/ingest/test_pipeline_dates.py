"""Where the stages place files under date layouts, with dates read by the real ExifTool: a
Live Photo's still and video in the same month, a WhatsApp name's day, an undated file in
unknown/ instead of the day it was copied, the PhotoPrism preset's names."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from shared.jobs import Outcome
from tests.shared.media.movies import make_movie

CORPUS = Path("/work/shared/corpus/exif-samples")
LIVE_ID = "570F1469-09C7-4E50-9875-05F21D5BD166"

pytestmark = pytest.mark.skipif(shutil.which("exiftool") is None and not os.environ.get("CI"),
                                reason="ExifTool is not installed (./dev test installs it)")


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_a_live_photo_still_and_its_video_land_in_the_same_month(make_rig,
                                                                  tmp_path: Path) -> None:
    # Given the corpus's Live Photo still (2021-04-11, -05:00) and its MOV, whose only date is
    # QuickTime's CreateDate in UTC (exifread found none: it landed in the month of its copy)
    rig = make_rig(layout="date")
    still = (CORPUS / "heic" / "IMG_5195.HEIC").read_bytes()
    movie = make_movie(tmp_path / "IMG_5195.MOV", create_date="2021:04:11 20:47:53",
                       content_id=LIVE_ID).read_bytes()
    rig.put("DCIM/IMG_5195.HEIC", still)
    rig.put("DCIM/IMG_5195.MOV", movie)
    # When both are ingested
    jobs = [rig.ingest("DCIM/IMG_5195.HEIC"), rig.ingest("DCIM/IMG_5195.MOV")]
    # Then both sit in 2021/04, byte for byte
    assert [job.outcome for job in jobs] == [Outcome.INGESTED, Outcome.INGESTED]
    assert _tree(rig.lib) == {"2021/04/IMG_5195.HEIC": still, "2021/04/IMG_5195.MOV": movie}


def test_a_date_in_the_name_and_no_date_at_all(make_rig) -> None:
    # Given a WhatsApp photo (no EXIF, its day in the name) and a file with no date anywhere
    rig = make_rig(layout="date-day")
    whatsapp, undated = os.urandom(3000), os.urandom(3000)
    rig.put("WhatsApp Images/IMG-20190614-WA0003.jpg", whatsapp)
    rig.put("misc/scan.jpg", undated)
    # When ingested
    rig.ingest("WhatsApp Images/IMG-20190614-WA0003.jpg")
    rig.ingest("misc/scan.jpg")
    # Then the first is under its name's day, the second under unknown/ (not today's folder)
    assert _tree(rig.lib) == {"2019/2019-06-14/IMG-20190614-WA0003.jpg": whatsapp,
                              "unknown/scan.jpg": undated}


def test_the_photoprism_preset_names_files_by_time_and_hash(make_rig) -> None:
    # Given a Canon JPEG (DateTimeOriginal 2008:05:30 15:56:01) under the photoprism preset
    rig = make_rig(layout="photoprism")
    photo = (CORPUS / "jpg" / "Canon_40D.jpg").read_bytes()
    rig.put("DCIM/100CANON/IMG_0001.JPG", photo)
    # When ingested
    job = rig.ingest("DCIM/100CANON/IMG_0001.JPG")
    # Then it is named by its capture time and the first 8 hex digits of its SHA-256
    assert job.outcome == Outcome.INGESTED
    assert _tree(rig.lib) == {f"2008/05/20080530_155601_{job.sha256[:8]}.JPG": photo}
