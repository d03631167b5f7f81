"""`MediaCompressor`, the real `Compressor`: one file in, a checked smaller copy out.

The copy is written under a temp name in the destination folder, checked (decoded whole, the
same dimensions, for a video the same duration), fsynced and only then given its name, which
never replaces a file; the original is only ever read. A copy that saves too little is removed
and the result says "skipped"; a copy that fails its check is removed and CompressFailed raised.
"""

from __future__ import annotations

import contextlib
import errno
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from shared.compress.images import check_image, encode_image, open_image, prepared, target_format
from shared.compress.options import IMAGE_EXTENSIONS, CompressOptions, CompressResult, skipped
from shared.compress.videos import VideoInfo, check_video, encode_video, probe
from shared.errors import CompressFailed, SourceUnreadable, SourceVanished
from shared.executors import CommandExecutor, LocalExecutor
from shared.media import VIDEO_EXTENSIONS

if TYPE_CHECKING:
    from PIL import Image

TEMP_MARK = ".mc-tmp"  # in every temp name, so a cleanup can find what a crash left


class MediaCompressor:
    """Pillow (+ pillow-heif) for photos, ffmpeg for videos. `encode_image` and `encode_video`
    are the only steps that write; a subclass may replace them, never the checks."""

    def __init__(self, executor: CommandExecutor | None = None) -> None:
        self.executor = executor or LocalExecutor()

    def compress(self, src: Path, dest_dir: Path, options: CompressOptions) -> CompressResult:
        original_size = _size_of(src)
        ext = src.suffix.lower().lstrip(".")
        if ext in IMAGE_EXTENSIONS:
            return self._image(src, dest_dir, options, original_size)
        if ext in VIDEO_EXTENSIONS:
            return self._video(src, dest_dir, options, original_size)
        return skipped(src, original_size, f"not a photo or video this step compresses (.{ext})")

    def encode_image(self, original: Image.Image, pixels: Image.Image, temp: Path, fmt: str,
                     options: CompressOptions) -> None:
        encode_image(original, pixels, temp, fmt, options)

    def encode_video(self, src: Path, info: VideoInfo, temp: Path,
                     options: CompressOptions) -> None:
        encode_video(src, info, temp, options, self.executor)

    def _image(self, src: Path, dest_dir: Path, options: CompressOptions,
               original_size: int) -> CompressResult:
        with open_image(src) as original:
            fmt, ext_or_reason = target_format(src, original, options)
            if not fmt:
                return skipped(src, original_size, ext_or_reason)
            pixels = prepared(original, fmt)
            if isinstance(pixels, str):
                return skipped(src, original_size, f"{pixels}: not re-encoded")
            final, temp = _names(src, dest_dir, ext_or_reason)
            try:
                self.encode_image(original, pixels, temp, fmt, options)
                check_image(original, temp, fmt)
                return _keep(src, temp, final, original_size, "image", options)
            finally:
                _discard(temp)

    def _video(self, src: Path, dest_dir: Path, options: CompressOptions,
               original_size: int) -> CompressResult:
        info = probe(src, self.executor)
        # QuickTime files stay .mov (their players and Apple's keys); every other container
        # becomes MP4, which carries H.265 with the same tags.
        ext = src.suffix if src.suffix.lower() == ".mov" else ".mp4"
        final, temp = _names(src, dest_dir, ext)
        try:
            self.encode_video(src, info, temp, options)
            if not temp.is_file():
                raise CompressFailed(f"{src}: ffmpeg wrote no file")
            check_video(src, info, temp, self.executor)
            return _keep(src, temp, final, original_size, "video", options)
        finally:
            _discard(temp)


def compress_file(src: Path, dest_dir: Path, options: CompressOptions) -> CompressResult:
    """Compress one file with the real `MediaCompressor` (see its module docstring)."""
    return MediaCompressor().compress(Path(src), Path(dest_dir), options)


def _size_of(src: Path) -> int:
    try:
        stat = src.stat()
    except FileNotFoundError as exc:
        raise SourceVanished(f"{src}: no longer there, nothing to compress") from exc
    except OSError as exc:
        raise SourceUnreadable(f"{src}: cannot be read: {exc.strerror or exc}") from exc
    if not src.is_file():
        raise SourceUnreadable(f"{src}: not a regular file")
    return stat.st_size


def _names(src: Path, dest_dir: Path, ext: str) -> tuple[Path, Path]:
    """(the copy's name, its temp name); CompressFailed when that name is taken (by the
    original itself when dest_dir is its folder and the extension stays)."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    final = dest_dir / f"{src.stem}{ext}"
    if os.path.lexists(final):
        what = "the original itself" if final.resolve() == src.resolve() else "a file"
        raise CompressFailed(f"{src}: {final} is already {what}; a compressed copy never "
                             "replaces a file")
    # The extension last: ffmpeg and Pillow name the format explicitly, people read it.
    temp = dest_dir / f".{src.stem}.{uuid.uuid4().hex[:8]}{TEMP_MARK}{ext}"
    return final, temp


def _keep(src: Path, temp: Path, final: Path, original_size: int, kind: str,
          options: CompressOptions) -> CompressResult:
    """Give the checked copy its name, or report it as not worth keeping."""
    size = temp.stat().st_size
    saving = 1 - size / original_size if original_size else 0.0
    if saving < options.min_saving:
        return skipped(src, original_size, f"the {kind} copy saves {saving:.1%}, less than "
                                           f"{options.min_saving:.0%}: the original is kept")
    with open(temp, "rb") as stream:
        os.fsync(stream.fileno())
    try:
        os.link(temp, final)  # unlike rename, never replaces a file that appeared meanwhile
    except FileExistsError as exc:
        raise CompressFailed(f"{src}: {final} appeared meanwhile; not replaced") from exc
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
        if os.path.lexists(final):  # a filesystem without hard links: check, then rename
            raise CompressFailed(f"{src}: {final} appeared meanwhile; not replaced") from exc
        os.rename(temp, final)
    _fsync_dir(final.parent)
    return CompressResult(final, size, original_size, kind,
                          f"{kind} copy {saving:.1%} smaller ({original_size} -> {size} bytes)")


def _discard(temp: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        temp.unlink()


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
