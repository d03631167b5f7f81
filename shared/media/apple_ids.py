"""Whether a JPEG can carry an Apple Live Photo identifier, told from its header alone.

Reading a file's identifiers costs an ExifTool call (16-25 ms a file on a busy machine, the
largest cost of a batch of small photos). A set is found by its stem without that call; the
identifier matters only for a still whose video bears another name. Apple writes it into its
MakerNote, which starts "Apple iOS" inside the Exif APP1 segment. A JPEG whose APPn segments
(all its metadata sits in them, before the image data) hold no such signature carries no
identifier, so the call can be skipped. Anything unexpected answers "maybe": ExifTool decides.
"""

from __future__ import annotations

import os

APPLE_MAKERNOTE = b"Apple iOS"
SCAN_LIMIT = 4 << 20  # metadata beyond this is not looked for: answer "maybe"
JPEG_EXTENSIONS = frozenset({"jpg", "jpeg", "jpe"})
_START_OF_SCAN, _END_OF_IMAGE = 0xDA, 0xD9
_NO_LENGTH = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM and RSTn stand alone


def may_carry_apple_id(path: str) -> bool:
    """False only for a JPEG whose metadata segments all lack Apple's MakerNote signature."""
    if os.path.splitext(path)[1][1:].lower() not in JPEG_EXTENSIONS:
        return True
    try:
        with open(path, "rb") as jpeg:
            return _scan(jpeg)
    except OSError:
        return True


def _scan(jpeg) -> bool:  # noqa: ANN001 - a binary file
    start = jpeg.read(12)
    if start[:2] != b"\xff\xd8":
        # A HEIC (or a video) named .jpg, as some exports do, is read; bytes that are neither
        # a JPEG nor an ISO media file carry no Live Photo id ExifTool could find.
        return start[4:8] == b"ftyp"
    jpeg.seek(2)
    while jpeg.tell() < SCAN_LIMIT:
        if jpeg.read(1) != b"\xff":
            return True  # not a marker where one must be
        kind = jpeg.read(1)
        while kind == b"\xff":  # fill bytes before a marker
            kind = jpeg.read(1)
        if not kind:
            return True
        code = kind[0]
        if code in (_START_OF_SCAN, _END_OF_IMAGE):
            return False  # the image data starts: no metadata segment follows
        if code in _NO_LENGTH:
            continue
        size = int.from_bytes(jpeg.read(2), "big")
        if size < 2:
            return True
        body = jpeg.read(size - 2)
        if len(body) < size - 2:
            return True  # cut short
        if 0xE0 <= code <= 0xEF and APPLE_MAKERNOTE in body:
            return True
    return True
