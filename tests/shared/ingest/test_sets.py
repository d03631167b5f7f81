"""Sets stay together (shared.ingest.sets): a Live Photo's video lands beside its still under
its date and final stem, RAW+JPEG keeps one stem, a member waits for its first a fixed short
time, sidecars travel with the set; real ExifTool on the corpus's Live Photo still."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from shared.errors import FileBusy, SetPartnerPending
from shared.ingest.batch import waves
from shared.jobs import Outcome
from shared.media import read_metadata
from shared.state import FileRecord
from tests.shared.ingest.live_photo import live_photo_mov
from tests.shared.ingest.trees import tree
from tests.shared.rig import Rig

LAYOUT = "{year}/{month}/{name}"
# IMG_5195.HEIC's MediaGroupUUID (a real iPhone Live Photo still, taken 2021-04-11)
GROUP = "570F1469-09C7-4E50-9875-05F21D5BD166"
COPIED_ON = dt.datetime(2026, 12, 1, 10, 0, 0)  # the day of the copy: the video's own date


@pytest.fixture
def still(corpus_dir: Path) -> bytes:
    return (corpus_dir / "heic" / "IMG_5195.HEIC").read_bytes()


def test_a_live_photo_video_takes_its_stills_date_and_collision_stem(
        make_rig, still: bytes) -> None:
    rig: Rig = make_rig(layout=LAYOUT)
    # Given another photo already at 2021/04/IMG_5195.HEIC (so the still gets a suffix)
    (rig.lib / "2021" / "04").mkdir(parents=True)
    (rig.lib / "2021" / "04" / "IMG_5195.HEIC").write_bytes(b"another photo of that name")
    # When the Live Photo still and its video (dated the day of the copy) arrive, still first
    video = live_photo_mov(GROUP, COPIED_ON)
    rig.put("IMG_5195.HEIC", still)
    rig.put("IMG_5195.MOV", video)
    assert rig.ingest("IMG_5195.HEIC").outcome == Outcome.INGESTED
    assert rig.ingest("IMG_5195.MOV").outcome == Outcome.INGESTED
    # Then both landed in the still's month, under one stem, suffix and all
    assert tree(rig.lib) == {"2021/04/IMG_5195.HEIC": b"another photo of that name",
                             "2021/04/IMG_5195 (2).HEIC": still,
                             "2021/04/IMG_5195 (2).MOV": video}


def test_a_live_photo_pairs_by_identifier_across_names(make_rig, still: bytes) -> None:
    rig: Rig = make_rig(layout=LAYOUT)
    # Given a still placed, and its video arriving later under another name
    rig.put("IMG_5195.HEIC", still)
    assert rig.ingest("IMG_5195.HEIC").outcome == Outcome.INGESTED
    video = live_photo_mov(GROUP, COPIED_ON)
    rig.put("later/IMG_E5195.MOV", video)
    # Then the identifier pairs it with the still: its folder and stem
    assert rig.ingest("later/IMG_E5195.MOV").outcome == Outcome.INGESTED
    assert tree(rig.lib)["2021/04/IMG_5195.MOV"] == video


def test_same_stems_with_different_identifiers_are_two_live_photos(
        make_rig, still: bytes) -> None:
    rig: Rig = make_rig(layout=LAYOUT)
    # Given a video named like the still but carrying another Live Photo's identifier, and the
    # still's own video under another name
    rig.put("IMG_5195.HEIC", still)
    other = live_photo_mov("11111111-2222-3333-4444-555555555555", COPIED_ON)
    own = live_photo_mov(GROUP, COPIED_ON)
    rig.put("IMG_5195.MOV", other)
    rig.put("IMG_E5195.MOV", own)
    for rel in ("IMG_5195.HEIC", "IMG_5195.MOV", "IMG_E5195.MOV"):
        assert rig.ingest(rel).outcome == Outcome.INGESTED
    # Then the look-alike goes by its own date; the identifier's video joins the still
    assert tree(rig.lib) == {"2021/04/IMG_5195.HEIC": still, "2026/12/IMG_5195.MOV": other,
                             "2021/04/IMG_5195.MOV": own}


def test_a_member_arriving_first_waits_a_short_fixed_time(make_rig, still: bytes) -> None:
    rig: Rig = make_rig(layout=LAYOUT)
    # Given the still in the source, queued but not yet placed, and its video taken up first
    info = rig.put("IMG_5195.HEIC", still).stat()
    rig.put("IMG_5195.MOV", live_photo_mov(GROUP, COPIED_ON))
    # … while nothing carries the still, the video retries like a busy file
    with pytest.raises(FileBusy) as busy:
        rig.ingest("IMG_5195.MOV")
    assert not isinstance(busy.value, SetPartnerPending)
    rig.store.mark_inflight("cam", "IMG_5195.HEIC", info.st_size, info.st_mtime_ns)
    # Then, the still on its way, the video waits for it, a fixed 2 s (a twin's wait, not a
    # backoff), and lands nothing
    with pytest.raises(SetPartnerPending) as waited:
        rig.ingest("IMG_5195.MOV")
    assert waited.value.countdown == 2.0 and "IMG_5195.HEIC" in str(waited.value)
    assert tree(rig.lib) == {}
    assert os.path.exists(rig.src / "IMG_5195.MOV")


def test_a_member_whose_first_failed_lands_on_its_own(make_rig, still: bytes) -> None:
    rig: Rig = make_rig(layout=LAYOUT)
    # Given the still in the source, recorded as failed as it is now (it will not land)
    heic = rig.put("IMG_5195.HEIC", still)
    info = heic.stat()
    rig.store.put_record("cam", "IMG_5195.HEIC",
                         FileRecord(info.st_size, info.st_mtime_ns, state="failed"))
    rig.put("IMG_5195.MOV", live_photo_mov(GROUP, COPIED_ON))
    # When its video is taken up / Then it does not wait for ever: it lands by the layout alone
    assert rig.ingest("IMG_5195.MOV").outcome == Outcome.INGESTED
    assert list(tree(rig.lib)) == [f"{COPIED_ON:%Y/%m}/IMG_5195.MOV"]


def test_a_sidecar_waits_for_its_image_briefly_and_retries_only_if_it_failed(
        make_rig, corpus_dir: Path) -> None:
    rig: Rig = make_rig()
    # Given an image in the source, and its sidecar taken up first
    image = rig.put("IMG_2.JPG", (corpus_dir / "jpg" / "Canon_40D.jpg").read_bytes())
    rig.put("IMG_2.xmp", b"<x:xmpmeta/>")
    info = image.stat()
    # … while nothing carries the image (not queued), the sidecar retries like a busy file
    with pytest.raises(FileBusy, match="waiting for its image") as busy:
        rig.ingest("IMG_2.xmp")
    assert not isinstance(busy.value, SetPartnerPending)
    # Then, the image queued, the sidecar looks again in 2 s without using up a retry (not an
    # exponential backoff)
    rig.store.mark_inflight("cam", "IMG_2.JPG", info.st_size, info.st_mtime_ns)
    with pytest.raises(SetPartnerPending) as waited:
        rig.ingest("IMG_2.xmp")
    assert waited.value.countdown == 2.0 and "IMG_2.JPG" in str(waited.value)
    # … but once its image failed as it is, the sidecar is retried like a busy file (and fails
    # with it in the end) instead of waiting for ever
    rig.store.put_record("cam", "IMG_2.JPG", FileRecord(info.st_size, info.st_mtime_ns,
                                                        state="failed"))
    with pytest.raises(FileBusy, match="did not land") as busy:
        rig.ingest("IMG_2.xmp")
    assert not isinstance(busy.value, SetPartnerPending)
    assert tree(rig.lib) == {}


def test_raw_and_jpeg_keep_one_stem_and_their_sidecars_follow(
        make_rig, corpus_dir: Path) -> None:
    rig: Rig = make_rig(layout=LAYOUT)
    # Given a RAW+JPEG pair where the name of the JPEG is taken (by other bytes) in the library,
    # with an IMG.xmp and an IMG.CR2.xmp sidecar
    jpeg = (corpus_dir / "jpg" / "Canon_40D.jpg").read_bytes()
    shot = read_metadata(str(corpus_dir / "jpg" / "Canon_40D.jpg")).taken
    assert shot is not None
    month = f"{shot.year}/{shot.month:02d}"
    raw = jpeg + b"raw bytes"  # other content, the same capture date (a stand-in RAW)
    (rig.lib / month).mkdir(parents=True)
    (rig.lib / month / "IMG_1.JPG").write_bytes(b"someone else's IMG_1")
    rig.put("IMG_1.JPG", jpeg)
    rig.put("IMG_1.CR2", raw)
    rig.put("IMG_1.xmp", b"<x:xmpmeta/>")
    rig.put("IMG_1.CR2.xmp", b"<x:xmpmeta raw/>")
    # When the batch order runs them (first, then the rest of the set, then sidecars)
    order = [rel for wave in waves(["IMG_1.xmp", "IMG_1.CR2", "IMG_1.CR2.xmp", "IMG_1.JPG"],
                                   lambda rel: rel) for rel in wave]
    assert order == ["IMG_1.CR2", "IMG_1.JPG", "IMG_1.xmp", "IMG_1.CR2.xmp"]
    for rel in order:
        assert rig.ingest(rel).outcome == Outcome.INGESTED, rel
    # Then the JPEG follows the RAW (its folder, its stem) and the sidecars follow the set
    # and one collision suffix for both, though only the JPEG's name was taken
    assert tree(rig.lib) == {f"{month}/IMG_1.JPG": b"someone else's IMG_1",
                             f"{month}/IMG_1 (2).CR2": raw, f"{month}/IMG_1 (2).JPG": jpeg,
                             f"{month}/IMG_1 (2).CR2.xmp": b"<x:xmpmeta raw/>",
                             f"{month}/IMG_1 (2).xmp": b"<x:xmpmeta/>"}

