"""Small QuickTime/MP4 files with real metadata, for tests.

The atoms are built here (ftyp, a movie header, Apple's `mdta` keys such as
`com.apple.quicktime.content.identifier`, an empty mdat) because ExifTool cannot create a
Keys entry it does not know; the dates are then written by ExifTool itself, as a camera's
would be read back.
"""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

APPLE_CONTENT_ID = "com.apple.quicktime.content.identifier"


def _atom(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(body), kind) + body


def _movie_header() -> bytes:
    body = bytes(4) + struct.pack(">IIII", 0, 0, 600, 600) + struct.pack(">IH", 0x10000, 0x100)
    body += bytes(10) + struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    return _atom(b"mvhd", body + bytes(24) + struct.pack(">I", 2))


def _keys(items: dict[str, str]) -> bytes:
    handler = _atom(b"hdlr", bytes(8) + b"mdta" + bytes(13))
    keys = _atom(b"keys", bytes(4) + struct.pack(">I", len(items)) + b"".join(
        struct.pack(">I4s", 8 + len(key.encode()), b"mdta") + key.encode() for key in items))
    values = _atom(b"ilst", b"".join(
        _atom(struct.pack(">I", index), _atom(b"data", struct.pack(">II", 1, 0) + value.encode()))
        for index, value in enumerate(items.values(), start=1)))
    return _atom(b"meta", handler + keys + values)


def make_movie(path: Path, *, create_date: str | None = None, content_id: str | None = None,
               brand: str = "qt  ") -> Path:
    """A MOV (brand 'qt  ') or MP4 ('isom') whose QuickTime CreateDate (UTC, as the format
    says) ExifTool writes, with Apple's content identifier when given."""
    keys = {APPLE_CONTENT_ID: content_id} if content_id else {}
    moov = _movie_header() + (_keys(keys) if keys else b"")
    path.write_bytes(_atom(b"ftyp", brand.encode() + bytes(4) + brand.encode())
                     + _atom(b"moov", moov) + _atom(b"mdat", bytes(256)))
    if create_date:
        exiftool(["-overwrite_original", f"-QuickTime:CreateDate={create_date}", str(path)])
    return path


def exiftool(args: list[str]) -> str:
    """Run ExifTool once (to write fixtures); its output, or an AssertionError with its errors."""
    done = subprocess.run(["exiftool", *args], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout
