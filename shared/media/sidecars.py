"""Names beside names: the collision name for different content, and which image a sidecar
(`.xmp`, `.aae`, a Takeout `.json`) belongs to and what it is called once its image landed."""

from __future__ import annotations

import os
import posixpath

from shared.media.ignore import is_media, is_sidecar

NAME_MAX = 255


def with_suffix_number(rel_path: str, number: int) -> str:
    """'a/IMG_1.jpg', 2 -> 'a/IMG_1 (2).jpg' (the collision name for different content)."""
    folder, name = posixpath.split(rel_path)
    stem, ext = _split_media_ext(name)
    suffix = f" ({number}){ext}"
    room = NAME_MAX - len(suffix.encode("utf-8", "surrogateescape"))
    encoded = stem.encode("utf-8", "surrogateescape")
    if len(encoded) > room:  # keep the name within the filesystem's 255 bytes
        stem = encoded[:room].decode("utf-8", "ignore")
    return posixpath.join(folder, f"{stem}{suffix}")


def _split_media_ext(name: str) -> tuple[str, str]:
    """Split 'IMG_1.JPG.xmp' as ('IMG_1', '.JPG.xmp') so a sidecar keeps its image's stem."""
    stem, ext = os.path.splitext(name)
    if is_sidecar(name) and is_media(stem):
        inner_stem, inner_ext = os.path.splitext(stem)
        return inner_stem, inner_ext + ext
    return stem, ext


def image_candidates(rel_path: str, names_in_folder: list[str]) -> list[str]:
    """The images a sidecar belongs to, by the naming conventions in the wild.

    'IMG_1.JPG.xmp' / 'IMG_1.JPG.json' / 'IMG_1.JPG.supplemental-metadata.json' name their image
    in full; 'IMG_1.xmp' and 'IMG_1.AAE' share the stem with any media file beside them.
    """
    folder, name = posixpath.split(rel_path)
    lowered = name.lower()
    candidates = []
    for other in names_in_folder:
        if other == name or not is_media(other):
            continue
        other_lower = other.lower()
        if lowered.startswith(other_lower + ".") or (
            os.path.splitext(lowered)[0] == os.path.splitext(other_lower)[0]
        ):
            candidates.append(posixpath.join(folder, other))
    return sorted(candidates)


def sidecar_name_for(sidecar_rel: str, image_rel: str, image_dest_rel: str) -> str:
    """Name a sidecar after where its image landed ('IMG (2).JPG' -> 'IMG (2).JPG.xmp')."""
    sidecar_name = posixpath.basename(sidecar_rel)
    image_name = posixpath.basename(image_rel)
    dest_folder, dest_name = posixpath.split(image_dest_rel)
    if sidecar_name.lower().startswith(image_name.lower() + "."):
        tail = sidecar_name[len(image_name):]
        return posixpath.join(dest_folder, dest_name + tail)
    tail = os.path.splitext(sidecar_name)[1]
    return posixpath.join(dest_folder, os.path.splitext(dest_name)[0] + tail)
