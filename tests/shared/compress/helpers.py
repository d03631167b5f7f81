"""What the compress tests read back: ExifTool's view of a file, a file's digest, and what a
folder holds."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

CORPUS = Path(__file__).parents[4] / "shared" / "corpus" / "exif-samples"

NEEDS_EXIFTOOL = pytest.mark.skipif(shutil.which("exiftool") is None and not os.environ.get("CI"),
                                    reason="ExifTool is not installed (./dev test installs it)")


def exif(path: Path, *tags: str) -> dict[str, Any]:
    """ExifTool's values (-n: numbers as stored) of `tags` in `path`."""
    done = subprocess.run(["exiftool", "-j", "-n", *(f"-{tag}" for tag in tags), str(path)],
                          capture_output=True, text=True, timeout=60, check=True)
    found: dict[str, Any] = json.loads(done.stdout)[0]
    return {tag: found.get(tag) for tag in tags}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def files_in(folder: Path) -> list[str]:
    """Every file under `folder`, hidden ones (temp names) included."""
    if not folder.exists():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
