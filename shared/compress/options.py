"""What a compression is asked for (`CompressOptions`), what it gave (`CompressResult`), and the
`Compressor` Protocol a flow's compress step calls (the real one is `MediaCompressor`, a stub
for unit tests is `StubCompressor`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from shared.errors import ConfigError

IMAGE_FORMATS = ("keep", "heic", "jpeg")
VIDEO_CODECS = ("libx265", "libx264")
KINDS = ("image", "video", "skipped")
# Only formats Pillow decodes completely: a camera RAW would open as its small embedded preview
# (and pass a dimension check against that same preview), so RAWs are never compressed here.
# (Here, not in images.py: which files are photos to compress is known without Pillow.)
IMAGE_EXTENSIONS = frozenset({"jpg", "jpeg", "heic", "heif", "png", "tif", "tiff", "webp", "bmp"})


@dataclass(frozen=True)
class CompressOptions:
    """How to compress: image quality (1-100) and format, video CRF (0-51) and codec, and the
    least saving (a fraction of the original size) for which a compressed copy is kept."""

    image_quality: int = 80
    image_format: str = "keep"  # "keep" the original's format, or "heic", or "jpeg"
    video_crf: int = 28
    video_codec: str = "libx265"
    min_saving: float = 0.05  # a copy that saves less than this is not worth a second file

    def __post_init__(self) -> None:
        problem = options_problem(self)
        if problem:
            raise ConfigError(f"compress options: {problem}")


def options_problem(options: CompressOptions) -> str:
    """One line naming the first bad option and why, or "" when they are all fine."""
    if isinstance(options.image_quality, bool) or not isinstance(options.image_quality, int) \
            or not 1 <= options.image_quality <= 100:
        return f"image_quality = {options.image_quality!r}: an integer from 1 to 100"
    if options.image_format not in IMAGE_FORMATS:
        return f"image_format = {options.image_format!r}: one of {', '.join(IMAGE_FORMATS)}"
    if isinstance(options.video_crf, bool) or not isinstance(options.video_crf, int) \
            or not 0 <= options.video_crf <= 51:
        return f"video_crf = {options.video_crf!r}: an integer from 0 to 51"
    if options.video_codec not in VIDEO_CODECS:
        return f"video_codec = {options.video_codec!r}: one of {', '.join(VIDEO_CODECS)}"
    if isinstance(options.min_saving, bool) or not isinstance(options.min_saving, int | float) \
            or not 0 <= options.min_saving < 1:
        return f"min_saving = {options.min_saving!r}: a fraction from 0 to below 1 (0.05 is 5 %)"
    return ""


@dataclass(frozen=True)
class CompressResult:
    """`path` is the compressed copy, or the original itself when `kind` is "skipped" (then
    `size` is the original's and `reason` says why nothing was kept)."""

    path: Path
    size: int
    original_size: int
    kind: str  # "image" | "video" | "skipped"
    reason: str

    @property
    def saving(self) -> float:
        """The fraction of the original's size the copy saves (0 when skipped)."""
        if self.kind == "skipped" or self.original_size <= 0:
            return 0.0
        return 1 - self.size / self.original_size


class Compressor(Protocol):
    def compress(self, src: Path, dest_dir: Path, options: CompressOptions) -> CompressResult:
        """Write a compressed, checked copy of `src` into `dest_dir` (never touching `src`), or
        return a "skipped" result; CompressFailed when a copy was made but failed its check."""
        ...


def skipped(src: Path, original_size: int, reason: str) -> CompressResult:
    return CompressResult(src, original_size, original_size, "skipped", reason)
