"""Compress: a smaller, checked copy of a photo (Pillow + pillow-heif, at a quality, to HEIC or
JPEG or its own format) or a video (ffmpeg, H.265 at a CRF), its dates kept, the original never
touched. `Compressor` is the Protocol, `MediaCompressor` the real one, `StubCompressor` the
stand-in for unit tests of the code that calls it (flows)."""

from shared.compress.compressor import TEMP_MARK, MediaCompressor, compress_file
from shared.compress.options import CompressOptions, Compressor, CompressResult, options_problem
from shared.compress.stub import StubCompressor
from shared.compress.videos import VideoInfo, probe, video_tools

__all__ = [
    "TEMP_MARK",
    "CompressOptions",
    "CompressResult",
    "Compressor",
    "MediaCompressor",
    "StubCompressor",
    "VideoInfo",
    "compress_file",
    "options_problem",
    "probe",
    "video_tools",
]
