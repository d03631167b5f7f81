"""Where files land and under what name: numbered collisions, sidecars beside their images, the
date layout, and names hostile to shells, terminals and filesystems."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from shared.errors import FileBusy
from shared.ingest.pipeline import run_all
from shared.jobs import FileJob, Outcome
from shared.state.store import RedisStateStore
from tests.shared.ingest.trees import tree as _tree
from tests.shared.rig import Rig

DATA = Path(__file__).parents[2] / "data"


# --- names ---------------------------------------------------------------------------------


def test_name_collision_with_other_content_gets_a_number(rig: Rig) -> None:
    # Given a library that already holds a different IMG_1.jpg
    (rig.lib / "IMG_1.jpg").write_bytes(b"an older, different photo")
    data = os.urandom(10_000)
    rig.put("IMG_1.jpg", data)
    # When the new one is ingested
    job = rig.ingest("IMG_1.jpg")
    # Then it lands as 'IMG_1 (2).jpg' and the other is untouched
    assert job.outcome == Outcome.INGESTED
    assert job.dest_path == "IMG_1 (2).jpg"
    assert _tree(rig.lib) == {"IMG_1.jpg": b"an older, different photo", "IMG_1 (2).jpg": data}


def test_sidecar_lands_beside_its_image(rig: Rig) -> None:
    # Given a photo with an XMP sidecar
    photo, xmp = os.urandom(5_000), b"<x:xmpmeta>rating 5</x:xmpmeta>"
    rig.put("DCIM/IMG_1.jpg", photo)
    rig.put("DCIM/IMG_1.xmp", xmp)
    # When the image and then the sidecar are ingested
    assert rig.ingest("DCIM/IMG_1.jpg").outcome == Outcome.INGESTED
    job = rig.ingest("DCIM/IMG_1.xmp")
    # Then the sidecar sits beside the image under the image's name
    assert job.outcome == Outcome.INGESTED
    assert _tree(rig.lib) == {"DCIM/IMG_1.jpg": photo, "DCIM/IMG_1.xmp": xmp}
    assert _tree(rig.src) == {}


def test_sidecar_follows_a_renumbered_image(make_rig) -> None:
    # Given a library where 'IMG_1.jpg' is taken by other content, in a date layout
    rig = make_rig(layout="date")
    photo = (DATA / "Canon_40D.jpg").read_bytes()
    (rig.lib / "2008" / "05").mkdir(parents=True)
    (rig.lib / "2008" / "05" / "IMG_1.jpg").write_bytes(b"someone else")
    rig.put("IMG_1.jpg", photo)
    rig.put("IMG_1.xmp", b"<xmp/>")
    # When the image and its sidecar are ingested
    image = rig.ingest("IMG_1.jpg")
    sidecar = rig.ingest("IMG_1.xmp")
    # Then the image became 'IMG_1 (2).jpg' and the sidecar 'IMG_1 (2).xmp' beside it
    assert image.dest_path == "2008/05/IMG_1 (2).jpg"
    assert sidecar.outcome == Outcome.INGESTED
    assert sidecar.dest_path == "2008/05/IMG_1 (2).xmp"
    assert _tree(rig.lib) == {"2008/05/IMG_1.jpg": b"someone else",
                              "2008/05/IMG_1 (2).jpg": photo, "2008/05/IMG_1 (2).xmp": b"<xmp/>"}


def test_sidecar_of_an_image_not_yet_ingested_waits(rig: Rig) -> None:
    # Given a sidecar whose image is still in the source, not ingested
    rig.put("IMG_2.CR2", b"raw bytes")
    rig.put("IMG_2.xmp", b"<xmp/>")
    # When the sidecar comes first / Then it waits (retryable), placing nothing
    with pytest.raises(FileBusy, match=r"IMG_2\.xmp.*IMG_2\.CR2"):
        rig.ingest("IMG_2.xmp")
    assert _tree(rig.lib) == {}
    assert (rig.src / "IMG_2.xmp").exists()


def test_orphan_sidecar_goes_where_the_layout_says(rig: Rig) -> None:
    rig.put("notes/IMG_9.xmp", b"<xmp/>")
    job = rig.ingest("notes/IMG_9.xmp")
    assert job.outcome == Outcome.INGESTED
    assert _tree(rig.lib) == {"notes/IMG_9.xmp": b"<xmp/>"}


@pytest.mark.parametrize(
    "rel",
    [
        "Ünïcødé 写真.jpg",
        "with  two spaces /and trailing .jpg",
        "new\nline.jpg",
        "a" * 251 + ".jpg",  # 255 bytes: the longest name most filesystems allow
        "-rf.jpg",
        "--help.jpg",
        "tab\there.jpg",
        "quote'\"$(x).jpg",
    ],
)
def test_hostile_names_are_ingested(rig: Rig, rel: str) -> None:
    data = os.urandom(1000) + rel.encode()
    rig.put(rel, data)
    job = rig.ingest(rel)
    assert job.outcome == Outcome.INGESTED, job.reason
    assert _tree(rig.lib) == {rel: data}
    assert _tree(rig.src) == {}
    record = rig.store.get_record("cam", rel)
    assert record is not None and (record.state, record.dest) == ("ingested", rel)


def test_longest_name_colliding_with_other_content(rig: Rig) -> None:
    # Given a library holding a different file under a 255-byte name
    rel = "b" * 251 + ".jpg"
    (rig.lib / rel).write_bytes(b"other content")
    data = os.urandom(1000)
    rig.put(rel, data)
    # When a file of that name is ingested, ' (2)' would make the name too long
    job = rig.ingest(rel)
    # Then the run ends in a clear outcome (never an OSError escaping the pipeline), the other
    # file is untouched, and a failure names the file
    assert job.outcome in (Outcome.INGESTED, Outcome.FAILED)
    assert (rig.lib / rel).read_bytes() == b"other content"
    if job.outcome == Outcome.FAILED:
        assert rel in job.reason
        assert (rig.src / rel).read_bytes() == data
    else:
        assert len(job.dest_path.encode()) <= 255
        assert (rig.lib / job.dest_path).read_bytes() == data


def test_date_layout_uses_exif_date_time_original(make_rig) -> None:
    # Given a real Canon JPEG (DateTimeOriginal 2008:05:30) with a recent mtime
    rig = make_rig(layout="date")
    photo = (DATA / "Canon_40D.jpg").read_bytes()
    rig.put("DCIM/100CANON/IMG_0001.JPG", photo)
    # When ingested / Then it lands under 2008/05
    job = rig.ingest("DCIM/100CANON/IMG_0001.JPG")
    assert job.dest_path == "2008/05/IMG_0001.JPG"
    assert _tree(rig.lib) == {"2008/05/IMG_0001.JPG": photo}


def test_non_utf8_name_is_ingested(make_rig, redis_url: str, key_prefix: str) -> None:
    # Given a file whose name is not UTF-8 (Latin-1 'café.jpg' from an old camera or share), as
    # the walker reports it (surrogate-escaped), and the store as the product builds it
    rig = make_rig()
    store = RedisStateStore.from_url(redis_url, f"{key_prefix}-latin1")
    ctx = dataclasses.replace(rig.ctx, store=store)
    (rig.src / os.fsdecode(b"caf\xe9.jpg")).write_bytes(b"latin-1 named photo")
    rel = os.fsdecode(b"caf\xe9.jpg")
    # When it is ingested
    try:
        job = run_all(FileJob("cam", rel), ctx)
    finally:
        store.client.close()
    # Then it lands under the same name (same bytes on disk), recorded as ingested
    assert job.outcome == Outcome.INGESTED, job.reason
    assert os.listdir(os.fsencode(rig.lib)) == [b"caf\xe9.jpg"]
    assert (rig.lib / rel).read_bytes() == b"latin-1 named photo"
