"""Thumbnails of library files for the overview, cached in the data dir.

A thumbnail is never written next to a photo: photo apps index every file in the library
folder, and a household's library must hold their photos only. The cache name carries the
file's size and mtime, so a replaced photo gets a new thumbnail."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pillow_heif
from PIL import Image, ImageOps, UnidentifiedImageError

from shared.config import Settings

pillow_heif.register_heif_opener()  # HEIC from phones opens like any other image
SIZE = (320, 320)
CACHE = "thumbs"


class NoThumbnail(LookupError):
    """Raised when a thumbnail cannot be made: the library is remote, the path leaves the
    library, or the file is not a picture Pillow reads (a video); the route answers 404."""


def library_file(settings: Settings, library: str, rel: str) -> Path:
    """The file `rel` inside a local library, refusing a path that leads out of it."""
    config = settings.libraries.get(library)
    if config is None or config.target:
        raise NoThumbnail(f"{library}: no local library of that name")
    root = Path(config.path).resolve()
    path = (root / rel).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise NoThumbnail(f"{library}:{rel} is not a file in the library")
    return path


def thumbnail(settings: Settings, library: str, rel: str) -> Path:
    """The cached JPEG of a library file, made on first use."""
    path = library_file(settings, library, rel)
    info = path.stat()
    key = hashlib.sha256(f"{path}\0{info.st_size}\0{info.st_mtime_ns}".encode()).hexdigest()
    cached = Path(settings.data_dir) / CACHE / key[:2] / f"{key}.jpg"
    if cached.is_file():
        return cached
    try:
        with Image.open(path) as image:
            image = ImageOps.exif_transpose(image)  # phones store portraits sideways
            image.thumbnail(SIZE)
            cached.parent.mkdir(parents=True, exist_ok=True)
            partial = cached.with_suffix(f".{os.getpid()}.tmp")
            image.convert("RGB").save(partial, "JPEG", quality=80)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise NoThumbnail(f"{library}:{rel}: no thumbnail: {exc}") from None
    partial.replace(cached)  # two requests at once: each writes its own, one wins whole
    return cached
