"""may_carry_apple_id: a JPEG's header tells whether ExifTool need be asked for a Live Photo
identifier. Never a false "no": checked against ExifTool itself on the whole corpus."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pillow_heif
import pytest
from PIL import Image

from shared.media import may_carry_apple_id, read_metadata

pytestmark = pytest.mark.skipif(shutil.which("exiftool") is None and not os.environ.get("CI"),
                                reason="ExifTool is not installed (./dev test installs it)")
GROUP = "570F1469-09C7-4E50-9875-05F21D5BD166"  # IMG_5195.HEIC's MediaGroupUUID


def _apple_jpeg(corpus_dir: Path, to: Path) -> Path:
    """The corpus's iPhone Live Photo still as a JPEG that keeps its EXIF (Apple MakerNote)."""
    heif = pillow_heif.open_heif(corpus_dir / "heic" / "IMG_5195.HEIC")
    image = Image.frombytes(heif.mode, heif.size, bytes(heif.data), "raw", heif.mode, heif.stride)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=60, exif=heif.info["exif"])
    to.write_bytes(out.getvalue())
    return to


def test_no_corpus_jpeg_said_to_lack_an_id_has_one(corpus_dir: Path, tmp_path: Path) -> None:
    # Given every JPEG of the corpus (cameras, phones, edited, corrupted) and an iPhone still
    jpegs = sorted(p for p in (corpus_dir / "jpg").rglob("*") if p.suffix.lower() == ".jpg")
    jpegs.append(_apple_jpeg(corpus_dir, tmp_path / "IMG_5195.jpg"))
    # When the header check and ExifTool each look at them
    said_no = [p for p in jpegs if not may_carry_apple_id(str(p))]
    # Then ExifTool finds no identifier in any file the check passed over, and the check
    # does pass over most camera files (else it saves nothing)
    assert [p.name for p in said_no if read_metadata(str(p)).live_photo_id] == []
    assert len(said_no) > len(jpegs) // 2


def test_an_iphone_jpeg_still_is_read_for_its_id(corpus_dir: Path, tmp_path: Path) -> None:
    # Given the iPhone still saved as a JPEG with its MakerNote
    jpeg = _apple_jpeg(corpus_dir, tmp_path / "IMG_5195.JPG")
    # When it is checked, Then it may carry an id, and ExifTool reads the still's group id
    assert may_carry_apple_id(str(jpeg))
    assert read_metadata(str(jpeg)).live_photo_id == GROUP


@pytest.mark.parametrize("data", [b"\x00\x00\x00\x18ftypheic\x00\x00", b"\xff\xd8\xff\xe1\x00"])
def test_what_is_not_a_whole_jpeg_is_left_to_exiftool(tmp_path: Path, data: bytes) -> None:
    # Given a .jpg that is a HEIC inside, or a JPEG cut inside its first segment
    odd = tmp_path / "odd.jpg"
    odd.write_bytes(data)
    # When it is checked, Then the answer is "maybe": ExifTool decides
    assert may_carry_apple_id(str(odd))


@pytest.mark.parametrize("data", [b"", b"random bytes, not an image at all"])
def test_a_jpg_that_is_no_image_is_not_read_for_an_id(tmp_path: Path, data: bytes) -> None:
    # Given a .jpg that is empty or neither a JPEG nor an ISO media file
    odd = tmp_path / "odd.jpg"
    odd.write_bytes(data)
    # Then no Live Photo id is looked for in it (ExifTool would find none)
    assert not may_carry_apple_id(str(odd))
    assert read_metadata(str(odd)).live_photo_id == ""


def test_other_kinds_are_always_read(tmp_path: Path) -> None:
    # Given a HEIC and a MOV (their identifiers need not sit at the start)
    for name in ("IMG_1.HEIC", "IMG_1.MOV"):
        (tmp_path / name).write_bytes(b"\xff\xd8\xff\xd9")
        # Then the check never skips them
        assert may_carry_apple_id(str(tmp_path / name))
