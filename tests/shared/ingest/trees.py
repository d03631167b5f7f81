"""What a folder holds, for assertions on sources and libraries."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tree(root: Path) -> dict[str, bytes]:
    """Every file under root, temporary files included: relative path -> bytes."""
    found: dict[str, bytes] = {}
    if not root.exists():
        return found
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = Path(folder, name)
            found[path.relative_to(root).as_posix()] = path.read_bytes()
    return found
