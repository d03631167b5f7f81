"""End to end, through real workers and the watcher, issue 13's whole picture at once: a
library that already holds photos, a source bringing one of them again under another name, a
Live Photo, a RAW+JPEG pair, a burst across New Year's midnight and a Google Takeout folder,
under a date layout; where every file lands is checked by its bytes, and each record names the
source of its date (real ExifTool, real Redis)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

from shared.media import read_metadata
from tests.e2e.harness import Deployment, wait_for
from tests.shared.ingest.live_photo import live_photo_mov
from tests.shared.media.movies import exiftool

GROUP = "570F1469-09C7-4E50-9875-05F21D5BD166"  # IMG_5195.HEIC's MediaGroupUUID
OLD = {"old/2000/Canon_40D.jpg": "Canon_40D.jpg", "old/2001/Nikon_D70.jpg": "Nikon_D70.jpg"}
NO_EXIF = b"\xff\xd8\xff\xdb" + b"\0" * 2000 + b"\xff\xd9"  # a JPEG that says no date


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*")
            if p.is_file() and not p.name.startswith(".")}


def _burst_shot(path: Path, corpus_dir: Path, taken: str) -> bytes:
    shutil.copyfile(corpus_dir / "jpg" / "Sony_HDR-HC3.jpg", path)
    exiftool(["-overwrite_original", f"-DateTimeOriginal={taken}", "-SubSecTimeOriginal=",
              f"-Comment={path.name}", "-XMP-GCamera:BurstID=new-year", str(path)])
    return path.read_bytes()


def test_a_prefilled_library_takes_sets_bursts_and_takeout_where_they_belong(
        deployment: Deployment, corpus_dir: Path, tmp_path: Path) -> None:
    # Given a library (by month, in UTC) already holding two photos mediacourier never placed
    source, library = deployment.one_source(stability="0.3s", mode="move")
    deployment.tables["libraries.lib"] = {"path": str(library), "layout": "date",
                                           "timezone": "UTC"}
    deployment.write_config()
    for rel, name in OLD.items():
        (library / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(corpus_dir / "jpg" / name, library / rel)
    # … and a source bringing: one of those photos under a phone's name; a Live Photo whose
    # video's own clock says May; a RAW+JPEG pair; two burst shots either side of midnight;
    # a Takeout photo with no date of its own and its JSON (2015)
    jpeg = (corpus_dir / "jpg" / "Olympus_C8080WZ.jpg").read_bytes()
    shot = read_metadata(str(corpus_dir / "jpg" / "Olympus_C8080WZ.jpg")).taken
    assert shot is not None
    month = f"{shot.year}/{shot.month:02d}"
    staged = tmp_path / "staged"
    staged.mkdir()
    arrivals = {
        "DCIM/IMG_2001.JPG": (corpus_dir / "jpg" / "Canon_40D.jpg").read_bytes(),
        "DCIM/IMG_5195.HEIC": (corpus_dir / "heic" / "IMG_5195.HEIC").read_bytes(),
        "DCIM/IMG_5195.MOV": live_photo_mov(GROUP, dt.datetime(2021, 5, 2, 3, 0)),
        "DCIM/IMG_0042.JPG": jpeg,
        "DCIM/IMG_0042.CR2": jpeg + b"raw bytes",  # a stand-in RAW with the same date
        "Burst/PXL_0001.jpg": _burst_shot(staged / "a.jpg", corpus_dir, "2020:12:31 23:59:59"),
        "Burst/PXL_0002.jpg": _burst_shot(staged / "b.jpg", corpus_dir, "2021:01:01 00:00:00"),
        "Takeout/Google Photos/Trip/photo.jpg": NO_EXIF,
        "Takeout/Google Photos/Trip/photo.jpg.json": json.dumps(
            {"title": "photo.jpg", "photoTakenTime": {"timestamp": "1433150100"}}).encode(),
    }
    deployment.start_worker(concurrency=2)
    deployment.start_watcher()
    # When they all arrive at once
    for rel, data in arrivals.items():
        (source / rel).parent.mkdir(parents=True, exist_ok=True)
        (source / rel).write_bytes(data)
    wait_for(lambda: len(deployment.events("duplicate")) + len(deployment.events("ingested"))
             >= len(arrivals), 180, "an outcome for every arrival")
    # Then the old photos are untouched and the one brought again is a duplicate; the Live
    # Photo's video is beside its still in April; the pair keeps one stem and one folder; both
    # burst shots are in December; the Takeout photo is in its JSON's month with the JSON
    expected = {rel: (corpus_dir / "jpg" / name).read_bytes() for rel, name in OLD.items()}
    expected.update({
        "2021/04/IMG_5195.HEIC": arrivals["DCIM/IMG_5195.HEIC"],
        "2021/04/IMG_5195.MOV": arrivals["DCIM/IMG_5195.MOV"],
        f"{month}/IMG_0042.JPG": jpeg, f"{month}/IMG_0042.CR2": jpeg + b"raw bytes",
        "2020/12/PXL_0001.jpg": arrivals["Burst/PXL_0001.jpg"],
        "2020/12/PXL_0002.jpg": arrivals["Burst/PXL_0002.jpg"],
        "2015/06/photo.jpg": NO_EXIF,
        "2015/06/photo.jpg.json": arrivals["Takeout/Google Photos/Trip/photo.jpg.json"],
    })
    assert _tree(library) == expected
    assert [e["path"] for e in deployment.events("duplicate")] == ["DCIM/IMG_2001.JPG"]
    assert not deployment.events("failed")
    # And each record says where the date that placed the file came from
    store = deployment.store()
    sources = {rel: store.get_record("inbox", rel).date_source for rel in arrivals}
    assert {rel: sources[rel] for rel in (
        "DCIM/IMG_5195.HEIC", "DCIM/IMG_5195.MOV", "Burst/PXL_0001.jpg", "Burst/PXL_0002.jpg",
        "Takeout/Google Photos/Trip/photo.jpg")} == {
        "DCIM/IMG_5195.HEIC": "SubSecDateTimeOriginal", "DCIM/IMG_5195.MOV": "set",
        "Burst/PXL_0001.jpg": "DateTimeOriginal", "Burst/PXL_0002.jpg": "set",
        "Takeout/Google Photos/Trip/photo.jpg": "takeout-json"}
    # … and the source holds only the duplicate (kept, as `duplicates = "skip"` keeps it):
    # every other file was proven in the library, then released (move mode)
    assert [p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file()] == [
        "DCIM/IMG_2001.JPG"]
