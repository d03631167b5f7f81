"""Bursts stay together: shots sharing a burst identifier (written by the real ExifTool as
Google Camera's XMP BurstID; Apple's BurstUUID is read the same way, see test_metadata.py) land
in the folder of the burst's first, each under its own name (real Redis, real files)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from shared.ingest import run_batch
from shared.jobs import FileJob, Outcome
from tests.shared.ingest.trees import tree
from tests.shared.media.movies import exiftool

CORPUS = Path("/work/shared/corpus/exif-samples")

pytestmark = pytest.mark.skipif(shutil.which("exiftool") is None and not os.environ.get("CI"),
                                reason="ExifTool is not installed (./dev test installs it)")


def _shot(tmp_path: Path, name: str, taken: str, burst: str | None) -> bytes:
    """A real JPEG taken at `taken` (EXIF), in burst `burst` (XMP-GCamera:BurstID)."""
    path = tmp_path / name
    shutil.copyfile(CORPUS / "jpg" / "Canon_40D.jpg", path)
    tags = [f"-DateTimeOriginal={taken}", "-SubSecTimeOriginal=", f"-Comment={name}"]
    exiftool(["-overwrite_original", *tags, *([f"-XMP-GCamera:BurstID={burst}"] if burst
                                               else []), str(path)])
    return path.read_bytes()


def test_a_burst_across_midnight_lands_in_its_first_shots_day(make_rig, tmp_path: Path) -> None:
    # Given a date-day library and a burst of three shots from 23:59:59 to 00:00:01, and a
    # photo of no burst taken at 00:00:01 too
    rig = make_rig(layout="date-day")
    shots = {
        "DCIM/PXL_0001.jpg": _shot(tmp_path, "PXL_0001.jpg", "2020:12:31 23:59:59", "b-1"),
        "DCIM/PXL_0002.jpg": _shot(tmp_path, "PXL_0002.jpg", "2021:01:01 00:00:00", "b-1"),
        "DCIM/PXL_0003.jpg": _shot(tmp_path, "PXL_0003.jpg", "2021:01:01 00:00:01", "b-1"),
        "DCIM/PXL_0004.jpg": _shot(tmp_path, "PXL_0004.jpg", "2021:01:01 00:00:01", None),
    }
    for rel, data in shots.items():
        rig.put(rel, data)
    # When each is ingested, one after the other
    outcomes = [rig.ingest(rel).outcome for rel in shots]
    # Then the burst's three shots sit in the first's day under their own names, the photo of
    # no burst in its own day, byte for byte; the later shots' records say their set placed them
    assert outcomes == [Outcome.INGESTED] * 4
    assert tree(rig.lib) == {
        "2020/2020-12-31/PXL_0001.jpg": shots["DCIM/PXL_0001.jpg"],
        "2020/2020-12-31/PXL_0002.jpg": shots["DCIM/PXL_0002.jpg"],
        "2020/2020-12-31/PXL_0003.jpg": shots["DCIM/PXL_0003.jpg"],
        "2021/2021-01-01/PXL_0004.jpg": shots["DCIM/PXL_0004.jpg"],
    }
    assert [rig.store.get_record("cam", rel).date_source for rel in shots] == [
        "DateTimeOriginal", "set", "set", "DateTimeOriginal"]


@pytest.mark.parametrize("order", ["in the order taken", "the later shot first"])
def test_a_burst_in_one_batch_stays_together_led_by_its_earliest_shot(
        make_rig, tmp_path: Path, order: str) -> None:
    # Given a copy-mode source with a burst across midnight, all of it arriving at once, in
    # either order (a watcher hands files over in the order they settled, not were taken)
    rig = make_rig(mode="copy", layout="date-day")
    shots = {
        "DCIM/PXL_0001.jpg": _shot(tmp_path, "PXL_0001.jpg", "2020:12:31 23:59:59", "b-2"),
        "DCIM/PXL_0002.jpg": _shot(tmp_path, "PXL_0002.jpg", "2021:01:01 00:00:00", "b-2"),
    }
    for rel, data in shots.items():
        rig.put(rel, data)
    rels = sorted(shots, reverse=order == "the later shot first")
    # When one batch carries both (the second is placed before the first is recorded)
    results = run_batch([FileJob("cam", rel) for rel in rels], rig.ctx)
    # Then both land in the earliest shot's day, and the earliest is the burst's first
    assert [getattr(r, "outcome", r) for r in results] == [Outcome.INGESTED] * 2
    assert tree(rig.lib) == {"2020/2020-12-31/PXL_0001.jpg": shots["DCIM/PXL_0001.jpg"],
                             "2020/2020-12-31/PXL_0002.jpg": shots["DCIM/PXL_0002.jpg"]}
    assert [rig.store.get_record("cam", rel).date_source for rel in shots] == [
        "DateTimeOriginal", "set"]


def test_an_earlier_shot_arriving_after_the_burst_landed_follows_it(
        make_rig, tmp_path: Path) -> None:
    # Given a burst whose later shot landed on its own (its earlier shot was not there yet)
    rig = make_rig(mode="copy", layout="date-day")
    rig.put("DCIM/PXL_0002.jpg", _shot(tmp_path, "PXL_0002.jpg", "2021:01:01 00:00:00", "b-5"))
    assert rig.ingest("DCIM/PXL_0002.jpg").dest_path == "2021/2021-01-01/PXL_0002.jpg"
    # When the earlier shot arrives later
    rig.put("DCIM/PXL_0001.jpg", _shot(tmp_path, "PXL_0001.jpg", "2020:12:31 23:59:59", "b-5"))
    job = rig.ingest("DCIM/PXL_0001.jpg")
    # Then it joins the burst's folder: a landed shot is never moved, the burst stays whole
    assert (job.outcome, job.dest_path) == (Outcome.INGESTED, "2021/2021-01-01/PXL_0001.jpg")


def test_a_shot_whose_first_is_still_being_placed_takes_the_firsts_day(
        make_rig, tmp_path: Path) -> None:
    # Given a burst across midnight whose later shot another worker claimed first and is
    # still copying (claimed as the first of the burst, not landed, still in the source)
    rig = make_rig(mode="copy", layout="date-day")
    early = _shot(tmp_path, "PXL_0001.jpg", "2020:12:31 23:59:59", "b-3")
    late = _shot(tmp_path, "PXL_0002.jpg", "2021:01:01 00:00:00", "b-3")
    rig.put("DCIM/PXL_0001.jpg", early)
    rig.put("DCIM/PXL_0002.jpg", late)
    assert rig.store.claim_set_leader("cam", "burst:b-3", "DCIM/PXL_0002.jpg") == \
        "DCIM/PXL_0002.jpg"
    # When the other shot is ingested meanwhile
    job = rig.ingest("DCIM/PXL_0001.jpg")
    # Then it lands in the day the first's own date gives, without waiting for it; and when
    # the first lands, it lands there too
    assert (job.outcome, job.dest_path) == (Outcome.INGESTED, "2021/2021-01-01/PXL_0001.jpg")
    assert rig.ingest("DCIM/PXL_0002.jpg").dest_path == "2021/2021-01-01/PXL_0002.jpg"
    assert tree(rig.lib) == {"2021/2021-01-01/PXL_0001.jpg": early,
                             "2021/2021-01-01/PXL_0002.jpg": late}
