"""Photos compressed with the real Pillow and pillow-heif, on the corpus: the copy is smaller,
decodes, shows the same dimensions and keeps its dates, orientation, GPS and colour profile (read
back with ExifTool); the original is never changed; what cannot be compressed is skipped or
refused with one line naming the file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image, ImageOps

from shared.compress import CompressOptions, MediaCompressor, compress_file
from shared.errors import CompressFailed, ConfigError
from tests.shared.compress.helpers import CORPUS, NEEDS_EXIFTOOL, digest, exif, files_in

KEPT = ("DateTimeOriginal", "Orientation", "GPSLatitude", "GPSLongitude", "Model",
        "ProfileDescription")
HEIC_50 = CompressOptions(image_format="heic", image_quality=50)  # libheif's 50 ~ JPEG's 80


def shown_size(path: Path) -> tuple[int, int]:
    with Image.open(path) as image:
        image.load()
        return ImageOps.exif_transpose(image).size


def corpus_copy(tmp_path: Path, rel: str) -> Path:
    """A writable copy of a corpus photo, in a source folder of the test's own."""
    src = tmp_path / "source" / Path(rel).name
    src.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(CORPUS / rel, src)
    return src


@NEEDS_EXIFTOOL
@pytest.mark.parametrize("rel", ["jpg/hdr/canon_hdr_NO.jpg",  # orientation 6, DateTimeOriginal
                                 "jpg/orientation/portrait_6.jpg",  # orientation 6, an ICC profile
                                 "jpg/gps/DSCN0010.jpg"])  # GPS position
def test_a_jpeg_recompressed_keeps_its_dates_orientation_gps_and_profile(
        tmp_path: Path, rel: str) -> None:
    # Given a corpus JPEG
    src = corpus_copy(tmp_path, rel)
    before = digest(src)
    # When it is compressed at quality 60, keeping its format
    result = compress_file(src, tmp_path / "out", CompressOptions(image_quality=60))
    # Then a smaller JPEG of the same name and shown size is in the destination folder
    assert result.kind == "image", result.reason
    assert result.path == tmp_path / "out" / src.name
    assert result.size == result.path.stat().st_size < result.original_size == src.stat().st_size
    assert shown_size(result.path) == shown_size(src)
    # And ExifTool reads the same dates, orientation, position, camera and profile in it
    assert exif(result.path, *KEPT) == exif(src, *KEPT)
    # And the original is byte for byte what it was, and no temp file is left
    assert digest(src) == before
    assert files_in(tmp_path / "out") == [src.name]


@NEEDS_EXIFTOOL
def test_a_jpeg_to_heic_decodes_whole_with_its_metadata(tmp_path: Path) -> None:
    # Given a corpus JPEG with a date and a GPS position
    src = corpus_copy(tmp_path, "jpg/gps/DSCN0010.jpg")
    # When it is compressed to HEIC at quality 50
    result = compress_file(src, tmp_path / "out", HEIC_50)
    # Then the copy is a .heic that Pillow decodes whole, with the original's size
    assert result.kind == "image", result.reason
    assert result.path == tmp_path / "out" / "DSCN0010.heic"
    with Image.open(result.path) as image:
        image.load()
        assert (image.format, image.size) == ("HEIF", (640, 480))
    assert result.size < result.original_size
    # And ExifTool reads the original's date, camera and position in it
    assert exif(result.path, *KEPT) == exif(src, *KEPT)


@NEEDS_EXIFTOOL
def test_a_rotated_jpeg_to_heic_shows_the_same_way_up(tmp_path: Path) -> None:
    # Given a JPEG stored 450x600 with EXIF orientation 6: a landscape shown 600x450
    src = corpus_copy(tmp_path, "jpg/orientation/landscape_6.jpg")
    # When it is compressed to HEIC at quality 50
    result = compress_file(src, tmp_path / "out", HEIC_50)
    # Then the HEIC is shown 600x450 too, and keeps the ICC profile
    assert result.kind == "image", result.reason
    assert shown_size(result.path) == shown_size(src) == (600, 450)
    assert exif(result.path, "ProfileDescription") == exif(src, "ProfileDescription")


@NEEDS_EXIFTOOL
def test_a_heic_to_jpeg_keeps_its_date_and_live_photo_id(tmp_path: Path) -> None:
    # Given the corpus iPhone HEIC (a Live Photo still, Display P3)
    src = corpus_copy(tmp_path, "heic/IMG_5195.HEIC")
    # When it is compressed to JPEG
    result = compress_file(src, tmp_path / "out", CompressOptions(image_format="jpeg"))
    # Then the JPEG is smaller, decodes with the same size, and keeps date, place, id, profile
    assert result.kind == "image", result.reason
    assert result.path.name == "IMG_5195.jpg"
    assert result.size < result.original_size
    assert shown_size(result.path) == shown_size(src)
    kept = (*KEPT, "MediaGroupUUID")
    assert exif(result.path, *kept) == exif(src, *kept)
    assert exif(result.path, "MediaGroupUUID") == {
        "MediaGroupUUID": "570F1469-09C7-4E50-9875-05F21D5BD166"}


def test_a_truncated_photo_is_refused_in_one_line_and_left_alone(tmp_path: Path) -> None:
    # Given a JPEG cut off halfway through its picture data
    src = tmp_path / "source" / "cut.jpg"
    src.parent.mkdir()
    whole = (CORPUS / "jpg/gps/DSCN0010.jpg").read_bytes()
    src.write_bytes(whole[: len(whole) // 2])
    before = digest(src)
    # When it is compressed
    with pytest.raises(CompressFailed) as failed:
        compress_file(src, tmp_path / "out", CompressOptions())
    # Then the one-line reason names the file and says it does not decode
    message = str(failed.value)
    assert "\n" not in message and message.startswith(f"{src}: ")
    assert "does not decode" in message
    # And the original is untouched and nothing (no temp) is in the destination
    assert digest(src) == before
    assert files_in(tmp_path / "out") == []


def test_a_copy_that_saves_too_little_is_not_kept(tmp_path: Path) -> None:
    # Given a 100x68 thumbnail whose EXIF and profile outweigh its pixels
    src = corpus_copy(tmp_path, "jpg/Canon_40D.jpg")
    # When it is compressed at a quality that cannot beat the original
    result = compress_file(src, tmp_path / "out", CompressOptions(image_quality=95))
    # Then the result is "skipped", pointing at the original, and nothing is written
    assert result.kind == "skipped"
    assert (result.path, result.size) == (src, src.stat().st_size)
    assert "less than 5%" in result.reason
    assert files_in(tmp_path / "out") == []


@pytest.mark.parametrize("name, why", [("notes.txt", "not a photo or video"),
                                       ("IMG_1.CR2", "not a photo or video")])
def test_other_files_are_skipped(tmp_path: Path, name: str, why: str) -> None:
    # Given a text file, and a camera RAW (Pillow would only see its small preview)
    src = tmp_path / name
    src.write_bytes(b"not a picture Pillow should touch")
    # When compressed, Then it is skipped with its reason and nothing is written
    result = compress_file(src, tmp_path / "out", CompressOptions())
    assert (result.kind, result.path) == ("skipped", src)
    assert why in result.reason
    assert files_in(tmp_path / "out") == []


def test_a_transparent_image_is_not_flattened_into_a_jpeg(tmp_path: Path) -> None:
    # Given a corpus TIFF with an alpha channel
    src = corpus_copy(tmp_path, "tiff/Jobagent.tiff")
    # When it is compressed to JPEG, Then it is skipped: JPEG would lose the transparency
    result = compress_file(src, tmp_path / "out", CompressOptions(image_format="jpeg"))
    assert result.kind == "skipped" and "transparency" in result.reason
    assert files_in(tmp_path / "out") == []


def test_a_name_already_taken_is_never_replaced(tmp_path: Path) -> None:
    # Given a destination folder that already holds a file of the copy's name
    src = corpus_copy(tmp_path, "jpg/gps/DSCN0010.jpg")
    taken = tmp_path / "out" / "DSCN0010.jpg"
    taken.parent.mkdir()
    taken.write_bytes(b"someone else's file")
    # When the photo is compressed there
    with pytest.raises(CompressFailed, match="never replaces a file"):
        compress_file(src, tmp_path / "out", CompressOptions(image_quality=60))
    # Then that file is unchanged and no temp file is left beside it
    assert taken.read_bytes() == b"someone else's file"
    assert files_in(tmp_path / "out") == ["DSCN0010.jpg"]


def test_compressing_into_the_originals_own_folder_leaves_it_alone(tmp_path: Path) -> None:
    # Given a photo, When it is "compressed" into its own folder under its own name
    src = corpus_copy(tmp_path, "jpg/gps/DSCN0010.jpg")
    before = digest(src)
    with pytest.raises(CompressFailed, match="the original itself"):
        compress_file(src, src.parent, CompressOptions(image_quality=60))
    # Then the original is what it was, alone in its folder
    assert digest(src) == before
    assert files_in(src.parent) == [src.name]


class GarbageImageCompressor(MediaCompressor):
    """An encoder gone wrong: it writes bytes that are no picture at all."""

    def encode_image(self, original: Image.Image, pixels: Image.Image, temp: Path, fmt: str,
                     options: CompressOptions) -> None:
        temp.write_bytes(b"\xff\xd8\xff\xe0 garbage, not a JPEG")


def test_a_copy_that_does_not_decode_is_removed_and_raises(tmp_path: Path) -> None:
    # Given a compressor whose image encoder writes garbage
    src = corpus_copy(tmp_path, "jpg/gps/DSCN0010.jpg")
    # When it compresses a photo
    with pytest.raises(CompressFailed, match="the compressed copy does not decode"):
        GarbageImageCompressor().compress(src, tmp_path / "out", CompressOptions())
    # Then neither the garbage nor its temp name is left, and the original is unchanged
    assert files_in(tmp_path / "out") == []
    assert src.read_bytes() == (CORPUS / "jpg/gps/DSCN0010.jpg").read_bytes()


@pytest.mark.parametrize("options, key", [({"image_quality": 0}, "image_quality"),
                                          ({"image_format": "png"}, "image_format"),
                                          ({"video_crf": 60}, "video_crf"),
                                          ({"min_saving": 1.5}, "min_saving")])
def test_bad_options_are_named_in_one_line(options: dict[str, object], key: str) -> None:
    # When options out of range are made, Then ConfigError names the option in one line
    with pytest.raises(ConfigError, match=f"^compress options: {key} = ") as bad:
        CompressOptions(**options)  # type: ignore[arg-type]
    assert "\n" not in str(bad.value)


class HalfSizeCompressor(MediaCompressor):
    """An encoder that writes a valid JPEG of half the size, with the original's EXIF."""

    def encode_image(self, original: Image.Image, pixels: Image.Image, temp: Path, fmt: str,
                     options: CompressOptions) -> None:
        half = pixels.resize((pixels.width // 2, pixels.height // 2))
        half.save(temp, format=fmt, exif=original.info["exif"])


class DatelessCompressor(MediaCompressor):
    """An encoder that writes a good JPEG but drops the EXIF (and so the capture date)."""

    def encode_image(self, original: Image.Image, pixels: Image.Image, temp: Path, fmt: str,
                     options: CompressOptions) -> None:
        pixels.save(temp, format=fmt, quality=options.image_quality)


@pytest.mark.parametrize("compressor, why", [
    (HalfSizeCompressor(), "is 320x240, the original 640x480"),
    (DatelessCompressor(), "DateTimeOriginal is None"),
])
def test_a_copy_that_decodes_but_differs_is_removed_and_raises(
        tmp_path: Path, compressor: MediaCompressor, why: str) -> None:
    # Given an encoder whose copy decodes but lost half its pixels, or its capture date
    src = corpus_copy(tmp_path, "jpg/gps/DSCN0010.jpg")
    # When it compresses a photo, Then the check refuses the copy, saying how it differs
    with pytest.raises(CompressFailed) as failed:
        compressor.compress(src, tmp_path / "out", CompressOptions())
    assert why in str(failed.value)
    # And the copy is gone
    assert files_in(tmp_path / "out") == []
