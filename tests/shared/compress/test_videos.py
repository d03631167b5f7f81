"""Videos compressed with Debian's real ffmpeg: a generated 2-second clip (testsrc, with a
QuickTime CreateDate written by ExifTool) becomes H.265 that decodes, with the same shown size,
duration, dates and Live Photo id; a copy that fails its check (an encoder writing garbage,
cutting the clip short, or corrupting its frames) is removed and raises; unreadable input is
refused in one line."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from shared.compress import (
    CompressOptions,
    MediaCompressor,
    VideoInfo,
    compress_file,
    probe,
    video_tools,
)
from shared.errors import CompressFailed
from tests.shared.compress.helpers import NEEDS_EXIFTOOL, digest, exif, files_in

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None and not os.environ.get("CI"),
                                reason="ffmpeg is not installed (./dev test installs it)")

CREATE_DATE = "2023:06:01 12:34:56"
DATES = ("CreateDate", "ModifyDate", "CreationDate")
APPLE_CONTENT_ID = "com.apple.quicktime.content.identifier"
LIVE_PHOTO_ID = "570F1469-09C7-4E50-9875-05F21D5BD166"


def make_clip(path: Path, *codec: str, audio: bool = True) -> Path:
    """A 2-second 320x240 test pattern (with a tone), then dated by ExifTool like a camera's."""
    sound = ("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100") if audio else ()
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi",
                    "-i", "testsrc=size=320x240:rate=25", *sound, "-t", "2", *codec, str(path)],
                   check=True, timeout=60)
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("clips")
    # A camera-like MOV: MPEG-4 part 2 at a high quality with PCM sound, CreateDate set, and
    # the Live Photo id an iPhone writes (an Apple key, as QuickTime metadata)
    mov = make_clip(folder / "clip.mov", "-c:v", "mpeg4", "-q:v", "2", "-c:a", "pcm_s16le",
                    "-metadata", f"{APPLE_CONTENT_ID}={LIVE_PHOTO_ID}",
                    "-movflags", "use_metadata_tags")
    # A phone-like MP4: H.264, held sideways (rotation 90), with Apple's local creation date
    mp4 = make_clip(folder / "sideways.mp4", "-c:v", "libx264", "-crf", "5", audio=False)
    if shutil.which("exiftool"):
        subprocess.run(["exiftool", "-q", "-overwrite_original",
                        f"-QuickTime:CreateDate={CREATE_DATE}",
                        f"-QuickTime:ModifyDate={CREATE_DATE}", str(mov)], check=True, timeout=60)
        subprocess.run(["exiftool", "-q", "-overwrite_original", "-Rotation=90",
                        f"-QuickTime:CreateDate={CREATE_DATE}",
                        "-Keys:CreationDate=2023:06:01 14:34:56+02:00", str(mp4)],
                       check=True, timeout=60)
    return folder


def source_copy(clips: Path, tmp_path: Path, name: str) -> Path:
    src = tmp_path / "source" / name
    src.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(clips / name, src)
    return src


def decode_errors(path: Path) -> subprocess.CompletedProcess[str]:
    """ffmpeg decoding every frame of every stream, reporting any error."""
    return subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-f", "null", "-"],
                          capture_output=True, text=True, timeout=60, check=False)


@NEEDS_EXIFTOOL
def test_a_clip_becomes_h265_that_decodes_with_its_size_duration_and_dates(
        clips: Path, tmp_path: Path) -> None:
    # Given a 2-second MOV with a QuickTime CreateDate
    src = source_copy(clips, tmp_path, "clip.mov")
    before = digest(src)
    # When it is compressed with the defaults (H.265, CRF 28)
    result = compress_file(src, tmp_path / "out", CompressOptions())
    # Then a smaller MOV of the same name holds HEVC tagged hvc1, and AAC sound
    assert result.kind == "video", result.reason
    assert result.path == tmp_path / "out" / "clip.mov"
    assert result.size == result.path.stat().st_size < result.original_size
    streams = subprocess.run(["ffprobe", "-v", "error", "-show_entries",
                              "stream=codec_name,codec_tag_string", "-of", "csv=p=0",
                              str(result.path)], capture_output=True, text=True, check=True)
    assert streams.stdout.split() == ["hevc,hvc1", "aac,mp4a"]
    # And every frame decodes without an error
    decoded = decode_errors(result.path)
    assert (decoded.returncode, decoded.stderr) == (0, "")
    # And it shows the same size for as long as the original
    copy, original = probe(result.path), probe(src)
    assert (copy.width, copy.height) == (original.width, original.height) == (320, 240)
    assert abs(copy.duration - original.duration) < 0.1
    # And ExifTool reads the same CreateDate and Live Photo id; the original is unchanged; no
    # temp file is left
    assert exif(result.path, *DATES) == exif(src, *DATES)
    assert exif(result.path, "CreateDate", "ContentIdentifier") == {
        "CreateDate": CREATE_DATE, "ContentIdentifier": LIVE_PHOTO_ID}
    assert digest(src) == before
    assert files_in(tmp_path / "out") == ["clip.mov"]
    # And compressing that H.265 copy again the same way gains nothing, so keeps nothing
    again = compress_file(result.path, tmp_path / "again", CompressOptions())
    assert (again.kind, again.path) == ("skipped", result.path)
    assert "less than 5%" in again.reason
    assert files_in(tmp_path / "again") == []


@NEEDS_EXIFTOOL
def test_a_sideways_phone_clip_keeps_its_shown_size_and_apple_creation_date(
        clips: Path, tmp_path: Path) -> None:
    # Given an MP4 stored 320x240 with rotation 90 and Apple's CreationDate (with its zone)
    src = source_copy(clips, tmp_path, "sideways.mp4")
    # When it is compressed
    result = compress_file(src, tmp_path / "out", CompressOptions())
    # Then the copy is shown 240x320 like the original, and keeps both dates
    assert result.kind == "video", result.reason
    assert (probe(result.path).width, probe(result.path).height) == (240, 320)
    kept = ("CreateDate", "CreationDate")
    assert exif(result.path, *kept) == exif(src, *kept)
    assert exif(result.path, "CreationDate") == {"CreationDate": "2023:06:01 14:34:56+02:00"}


class GarbageVideoCompressor(MediaCompressor):
    """An encoder gone wrong: it writes bytes that are no video at all."""

    def encode_video(self, src: Path, info: VideoInfo, temp: Path,
                     options: CompressOptions) -> None:
        temp.write_bytes(b"\x00\x00\x00\x18ftypqt  garbage, not a movie" * 100)


class ShortVideoCompressor(MediaCompressor):
    """An encoder that writes a good H.265 clip of only the first second."""

    def encode_video(self, src: Path, info: VideoInfo, temp: Path,
                     options: CompressOptions) -> None:
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(src), "-t", "1",
                        "-c:v", "libx265", "-x265-params", "log-level=error", "-c:a", "aac",
                        "-f", "mov", str(temp)], check=True, timeout=60)


class CorruptingVideoCompressor(MediaCompressor):
    """A real encode whose picture data is then overwritten in its second half (a bad disk or
    a broken encoder): the header still describes a good clip, the frames do not decode."""

    def encode_video(self, src: Path, info: VideoInfo, temp: Path,
                     options: CompressOptions) -> None:
        super().encode_video(src, info, temp, options)
        size = temp.stat().st_size
        with open(temp, "r+b") as stream:  # faststart: the header is at the front
            stream.seek(size // 2)
            stream.write(bytes(range(256)) * ((size - size // 2) // 256))


@pytest.mark.parametrize("compressor, why", [
    (GarbageVideoCompressor(), "ffprobe cannot read it"),
    (ShortVideoCompressor(), "the compressed copy lasts 1.0"),
    (CorruptingVideoCompressor(), "the compressed copy does not decode at its "),
])
def test_a_copy_that_fails_its_check_is_removed_and_raises(
        clips: Path, tmp_path: Path, compressor: MediaCompressor, why: str) -> None:
    # Given an encoder that writes garbage, or a clip cut short
    src = source_copy(clips, tmp_path, "clip.mov")
    before = digest(src)
    # When it compresses the clip
    with pytest.raises(CompressFailed) as failed:
        compressor.compress(src, tmp_path / "out", CompressOptions())
    # Then the check refuses it in one line, naming the copy's fault
    assert why in str(failed.value) and "\n" not in str(failed.value)
    # And the copy is gone, temp name and all, and the original is unchanged
    assert files_in(tmp_path / "out") == []
    assert digest(src) == before


def test_a_file_that_is_no_video_is_refused_in_one_line(tmp_path: Path) -> None:
    # Given a .mp4 that holds no movie
    src = tmp_path / "broken.mp4"
    src.write_bytes(b"this was never a movie" * 50)
    # When it is compressed, Then CompressFailed names the file and ffprobe's reason
    with pytest.raises(CompressFailed) as failed:
        compress_file(src, tmp_path / "out", CompressOptions())
    message = str(failed.value)
    assert message.startswith(f"{src}: ffprobe cannot read it: ") and "\n" not in message
    assert files_in(tmp_path / "out") == []


def test_without_ffmpeg_a_video_is_refused_saying_what_to_install(
        clips: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a machine where ffmpeg and ffprobe cannot be found
    src = source_copy(clips, tmp_path, "clip.mov")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    # When a clip is compressed, Then the one line says ffmpeg is missing and which package
    missing = r"^ffprobe is not installed \(Debian package ffmpeg\)"
    with pytest.raises(CompressFailed, match=missing):
        compress_file(src, tmp_path / "out", CompressOptions())
    assert files_in(tmp_path / "out") == []


def test_doctor_line_names_ffmpeg_and_its_version_or_what_is_missing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the installed ffmpeg, Then its line names its version and both programs
    version = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True,
                             check=True).stdout.split()[2]
    assert video_tools() == (f"ffmpeg {version} ({shutil.which('ffmpeg')}, "
                             f"{shutil.which('ffprobe')})")
    # And on a PATH without it, the line says which program is missing
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(CompressFailed, match=r"^ffmpeg is not installed"):
        video_tools()
