"""A library whose files are indexed as the ingest indexes them, and a byte flipped on disk."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from shared.config import Settings, build_settings
from shared.state import FileRecord, RedisStateStore

BASE_NS = 1_700_000_000 * 10**9


def settings_for(tmp_path: Path, **mirror: Any) -> Settings:
    for folder in ("inbox", "library", "backup"):
        (tmp_path / folder).mkdir(exist_ok=True)
    raw: dict[str, Any] = {
        "sources": {"cam": {"path": str(tmp_path / "inbox"), "library": "photos"}},
        "libraries": {"photos": {"path": str(tmp_path / "library")}},
        "targets": {"usb": {"kind": "local", "root": str(tmp_path / "backup")}},
        "mirrors": {"usb": {"library": "photos", "target": "usb", **mirror}},
    }
    return build_settings(raw, tmp_path / "mediacourier.toml", tmp_path)


def ingested(store: RedisStateStore, library: Path, files: dict[str, bytes]) -> None:
    """Write each file into the library and record it as a verified ingest does (the source
    record with the copy's size, mtime and sha256; the library's content index)."""
    for n, (rel, data) in enumerate(sorted(files.items())):
        path = library / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        mtime = BASE_NS + n * 10**9
        os.utime(path, ns=(mtime, mtime))
        record = FileRecord(len(data), mtime, 0, hashlib.sha256(data).hexdigest(), "verified",
                            rel)
        store.settle_verified("cam", rel, record, "photos")


def flip_byte(path: Path, offset: int = 3) -> None:
    """Bit rot: one byte changes, size and modification time stay what they were."""
    info = path.stat()
    with open(path, "r+b") as handle:
        handle.seek(offset)
        byte = handle.read(1)
        handle.seek(offset)
        handle.write(bytes([byte[0] ^ 0x40]))
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))
