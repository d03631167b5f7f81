"""A QuickTime video carrying Apple's Live Photo content identifier, built atom by atom (what
an iPhone writes into the MOV of a Live Photo; ExifTool reads it but cannot write it)."""

from __future__ import annotations

import datetime as dt
import struct

EPOCH_1904 = dt.datetime(1904, 1, 1)
KEY = b"com.apple.quicktime.content.identifier"


def _atom(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def live_photo_mov(content_id: str, created_utc: dt.datetime) -> bytes:
    """ftyp, moov (mvhd with the QuickTime CreateDate, meta/keys/ilst with the identifier),
    and a little mdat."""
    created = int((created_utc - EPOCH_1904).total_seconds())
    matrix = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    mvhd = (struct.pack(">B3xIIII", 0, created, created, 600, 600)
            + struct.pack(">IH", 0x10000, 0x100) + b"\0" * 10 + matrix + b"\0" * 24
            + struct.pack(">I", 2))
    hdlr = _atom(b"hdlr", b"\0" * 8 + b"mdta" + b"\0" * 13)
    keys = _atom(b"keys", b"\0" * 4 + struct.pack(">II", 1, 8 + len(KEY)) + b"mdta" + KEY)
    value = content_id.encode()
    item = struct.pack(">II", 8 + 16 + len(value), 1) + _atom(b"data",
                                                           struct.pack(">II", 1, 0) + value)
    meta = _atom(b"meta", hdlr + keys + _atom(b"ilst", item))
    return (_atom(b"ftyp", b"qt  " + struct.pack(">I", 0x200) + b"qt  ")
            + _atom(b"moov", _atom(b"mvhd", mvhd) + meta) + _atom(b"mdat", b"\0" * 64))
