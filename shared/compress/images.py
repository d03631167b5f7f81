"""Photos: decode the original with Pillow (+ pillow-heif for HEIC), re-encode at a quality to
the same format, HEIC or JPEG with its EXIF (capture dates, orientation), XMP and ICC profile,
and check the copy by decoding it whole before it counts."""

from __future__ import annotations

import functools
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from shared.compress.options import IMAGE_EXTENSIONS, CompressOptions
from shared.errors import CompressFailed

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["IMAGE_EXTENSIONS"]  # defined beside the options: knowing it needs no Pillow


@functools.cache
def pillow() -> ModuleType:
    """PIL.Image with pillow-heif's HEIF opener registered. Imported by the first photo
    opened, not by every process that loads the flows: Pillow and libheif added 10 MB to each
    resident process (the watcher) and 40 ms to every command's start."""
    import pillow_heif
    from PIL import Image as pil_image

    pillow_heif.register_heif_opener()
    return pil_image

EXTENSION_OF = {"JPEG": ".jpg", "HEIF": ".heic", "WEBP": ".webp"}
# What "keep" re-encodes: formats with a quality setting. PNG, TIFF and BMP have none.
LOSSY = frozenset({"JPEG", "HEIF", "WEBP"})
ORIENTATION, EXIF_IFD, DATE_TIME_ORIGINAL = 0x0112, 0x8769, 0x9003
SWAPS_SIDES = frozenset({5, 6, 7, 8})  # EXIF orientations that turn the picture a quarter


def open_image(src: Path) -> Image.Image:
    """The original, fully decoded; CompressFailed naming the file when it does not decode."""
    pil = pillow()
    try:
        image = pil.open(src)
        image.load()
    except (OSError, SyntaxError, ValueError, pil.UnidentifiedImageError,
            pil.DecompressionBombError) as exc:
        raise CompressFailed(f"{src}: the original does not decode as an image: {exc}") from exc
    return image


def target_format(src: Path, image: Image.Image, options: CompressOptions) -> tuple[str, str]:
    """(Pillow format, file extension) of the copy, or ("", why not) when it is not made."""
    if getattr(image, "n_frames", 1) > 1:
        return "", f"{image.n_frames} frames (an animation or a multi-page file): not re-encoded"
    if options.image_format == "heic":
        fmt = "HEIF"
    elif options.image_format == "jpeg":
        fmt = "JPEG"
    elif image.format in LOSSY:
        fmt = str(image.format)
    else:
        return "", f"{image.format} has no quality setting; image_format heic or jpeg compresses it"
    if fmt == image.format:  # the same format keeps the original's extension (.jpeg, .HEIC)
        return fmt, src.suffix
    return fmt, EXTENSION_OF[fmt]


def has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info


def prepared(image: Image.Image, fmt: str) -> Image.Image | str:
    """The image in a mode `fmt` can store without changing what it shows, or why not."""
    mode = image.mode
    if fmt == "JPEG":
        if has_alpha(image):
            return "has transparency, which JPEG cannot keep"
        if mode in ("RGB", "L", "CMYK"):
            return image
        if mode in ("P", "1"):
            return image.convert("RGB" if mode == "P" else "L")
    else:  # HEIF, WEBP
        allowed = ("RGB", "RGBA", "L", "LA", "I;16") if fmt == "HEIF" else ("RGB", "RGBA")
        if mode in allowed:
            return image
        if mode in ("P", "1", "L", "LA"):
            return image.convert("RGBA" if has_alpha(image) else "RGB")
    return f"pixel mode {mode} cannot be stored as {fmt} unchanged"


def encode_image(original: Image.Image, pixels: Image.Image, temp: Path, fmt: str,
                 options: CompressOptions) -> None:
    """Write `pixels` (the original, or it in a mode `fmt` stores) to `temp` as `fmt` at the
    quality, with the original's metadata."""
    keep = {k: original.info[k] for k in ("exif", "icc_profile", "xmp") if original.info.get(k)}
    if "exif" not in keep and original.format != "TIFF":  # a TIFF's tags describe its strips
        exif = original.getexif()
        if exif:
            keep["exif"] = exif.tobytes()
    extra = {"optimize": True} if fmt == "JPEG" else {}
    try:
        pixels.save(temp, format=fmt, quality=options.image_quality, **keep, **extra)
    except (OSError, ValueError) as exc:  # e.g. an EXIF block too long for a JPEG segment
        raise CompressFailed(f"{original.filename}: cannot write it as {fmt}: {exc}") from exc


def oriented_size(image: Image.Image) -> tuple[int, int]:
    """Width and height as shown: pillow-heif applies a HEIC's rotation while decoding (and
    reports orientation 1), a JPEG's EXIF orientation is applied by the viewer."""
    width, height = image.size
    orientation = image.getexif().get(ORIENTATION, 1)
    return (height, width) if orientation in SWAPS_SIDES else (width, height)


def capture_time(image: Image.Image) -> str | None:
    value = image.getexif().get_ifd(EXIF_IFD).get(DATE_TIME_ORIGINAL)
    return str(value).strip("\x00 ") if value else None


def check_image(original: Image.Image, result: Path, fmt: str) -> None:
    """CompressFailed unless `result` decodes whole as `fmt`, shows the original's dimensions
    and carries its DateTimeOriginal."""
    pil = pillow()
    try:
        copy = pil.open(result)
        copy.load()
    except (OSError, SyntaxError, ValueError, pil.UnidentifiedImageError) as exc:
        raise CompressFailed(f"{original.filename}: the compressed copy does not decode: {exc}") \
            from exc
    if copy.format != fmt:
        raise CompressFailed(f"{original.filename}: the compressed copy is {copy.format}, "
                             f"not {fmt}")
    if oriented_size(copy) != oriented_size(original):
        raise CompressFailed(f"{original.filename}: the compressed copy is "
                             f"{'x'.join(map(str, oriented_size(copy)))}, the original "
                             f"{'x'.join(map(str, oriented_size(original)))}")
    if capture_time(copy) != capture_time(original):
        raise CompressFailed(f"{original.filename}: the compressed copy's DateTimeOriginal is "
                             f"{capture_time(copy)!r}, the original's {capture_time(original)!r}")
