"""prefetch_metadata: a batch's files read by one ExifTool call give exactly the answers the
one-by-one reads give, and placing then asks ExifTool nothing more (real ExifTool)."""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

import pytest

from shared.ingest.batch import run_batch
from shared.jobs import FileJob, Outcome
from shared.media import metadata, prefetch_metadata, read_metadata
from shared.media.exiftool import ExifTool, shared_exiftool
from tests.shared.ingest.trees import tree

pytestmark = pytest.mark.skipif(shutil.which("exiftool") is None and not os.environ.get("CI"),
                                reason="ExifTool is not installed (./dev test installs it)")


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many files each call to the shared ExifTool process named (an empty cache first)."""
    monkeypatch.setattr(metadata, "_cache", metadata.OrderedDict())
    exiftool = shared_exiftool()
    assert exiftool is not None
    seen: list[int] = []
    real = exiftool.execute_json

    def counting(args):  # noqa: ANN001, ANN202
        seen.append(sum(1 for a in args if os.path.isabs(a)))
        return real(args)

    monkeypatch.setattr(exiftool, "execute_json", counting)
    return seen


def _corpus(corpus_dir: Path) -> list[Path]:
    kinds = {".jpg", ".heic", ".heif", ".tiff"}
    return sorted(p for p in corpus_dir.rglob("*") if p.suffix.lower() in kinds)


def test_prefetched_answers_equal_one_by_one_reads(corpus_dir: Path, calls: list[int]) -> None:
    # Given every photo of the corpus (cameras, phones, HEIC, TIFF, corrupted, a non-ASCII name)
    photos = _corpus(corpus_dir)
    # When they are read in one prefetch, then asked for one by one
    kept = prefetch_metadata([(str(p), p.stat().st_mtime_ns, None) for p in photos])
    cached = [read_metadata(str(p), p.stat().st_mtime_ns) for p in photos]
    # Then the answers are those a separate ExifTool gives file by file, and the one-by-one
    # questions were answered without another call for every file the prefetch kept
    alone = ExifTool()
    try:
        direct = [read_metadata(str(p), p.stat().st_mtime_ns, reader=alone) for p in photos]
    finally:
        alone.close()
    assert cached == direct
    assert kept >= len(photos) - 5 and sum(calls) <= len(photos) + (len(photos) - kept)
    assert calls[0] == len(photos)


def test_a_file_changed_after_the_prefetch_is_read_again(
        corpus_dir: Path, tmp_path: Path, calls: list[int]) -> None:
    # Given a photo prefetched, then replaced by another camera's photo under the same name
    photo = tmp_path / "IMG_1.jpg"
    shutil.copyfile(corpus_dir / "jpg" / "Canon_40D.jpg", photo)
    assert prefetch_metadata([(str(photo), None, None)]) == 1
    shutil.copyfile(corpus_dir / "jpg" / "Nikon_D70.jpg", photo)
    # When it is asked for, Then the answer is the new file's
    assert read_metadata(str(photo)).make.upper().startswith("NIKON")


def test_a_dated_batch_reads_its_metadata_in_one_call(
        make_rig, corpus_dir: Path, calls: list[int]) -> None:  # type: ignore[no-untyped-def]
    # Given twelve camera photos in a copy source whose library is laid out by date
    rig = make_rig(mode="copy", layout="{year}/{month}/{name}")
    photos = [p for p in sorted((corpus_dir / "jpg").glob("*.jpg")) if p.name != "corrupted.jpg"]
    for i, photo in enumerate(photos[:12]):
        rig.put(f"IMG_{i:02d}.jpg", photo.read_bytes())
    alone = ExifTool()
    # When they run as one batch
    results = run_batch([FileJob("cam", f"IMG_{i:02d}.jpg") for i in range(12)],
                        dataclasses.replace(rig.ctx))
    # Then all are placed by their own dates, and ExifTool was asked once, for all twelve
    assert [r.outcome for r in results] == [Outcome.INGESTED] * 12  # type: ignore[union-attr]
    expected = {f"{m.taken:%Y/%m}/IMG_{i:02d}.jpg" if m.taken else f"unknown/IMG_{i:02d}.jpg"
                for i, m in enumerate(read_metadata(str(p), reader=alone) for p in photos[:12])}
    assert set(tree(rig.lib)) == expected
    alone.close()
    assert calls == [12]
