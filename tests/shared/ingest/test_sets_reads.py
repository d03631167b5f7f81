"""A camera JPEG under a layout that needs no date costs no ExifTool call to find its set:
only a header that can carry Apple's Live Photo identifier is read (shared.media.apple_ids)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.ingest import sets
from shared.jobs import Outcome
from tests.shared.ingest.trees import tree
from tests.shared.rig import Rig


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths the set planner asked the metadata reader about."""
    seen: list[str] = []
    real = sets.read_metadata

    def counting(path, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        seen.append(path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(sets, "read_metadata", counting)
    return seen


def test_a_camera_jpeg_is_placed_without_reading_its_metadata(
        make_rig, corpus_dir: Path, reads: list[str]) -> None:
    # Given a Canon JPEG arriving in a library laid out as the source is ("keep")
    rig: Rig = make_rig(layout="keep")
    jpeg = (corpus_dir / "jpg" / "Canon_40D.jpg").read_bytes()
    rig.put("trip/IMG_1.JPG", jpeg)
    # When it is ingested
    job = rig.ingest("trip/IMG_1.JPG")
    # Then it lands whole and its set was planned without a metadata read
    assert job.outcome == Outcome.INGESTED
    assert tree(rig.lib) == {"trip/IMG_1.JPG": jpeg}
    assert reads == []


def test_an_iphone_still_is_still_read_for_its_live_photo_id(
        make_rig, corpus_dir: Path, reads: list[str]) -> None:
    # Given the corpus's iPhone Live Photo still (its identifier is what pairs a renamed video)
    rig: Rig = make_rig(layout="keep")
    rig.put("IMG_5195.HEIC", (corpus_dir / "heic" / "IMG_5195.HEIC").read_bytes())
    # When it is ingested, Then its metadata was read for the identifier
    assert rig.ingest("IMG_5195.HEIC").outcome == Outcome.INGESTED
    assert [Path(p).name for p in reads] == ["IMG_5195.HEIC"]
