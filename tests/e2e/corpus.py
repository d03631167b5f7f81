"""Helpers to lay the real camera corpus into a source and to check a library against it."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections import Counter
from pathlib import Path

from shared.media.ignore import IgnoreRules, is_sidecar


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def media_files(root: Path) -> list[Path]:
    rules = IgnoreRules()
    found = []
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = Path(folder) / name
            if rules.accepts(path.relative_to(root).as_posix()):
                found.append(path)
    return sorted(found)


def lay_corpus(corpus: Path, source: Path) -> dict[str, str]:
    """Copy the corpus into the source, plus renamed copies of part of it (to dedupe).

    Returns rel_path -> sha256 for every media file laid down.
    """
    shutil.copytree(corpus, source, dirs_exist_ok=True)
    renamed = source / "renamed copies"
    renamed.mkdir()
    for path in sorted((corpus / "jpg" / "gps").glob("*.jpg"))[:5]:
        shutil.copy2(path, renamed / f"copy of {path.name}")
    for path in sorted((corpus / "jpg" / "orientation").glob("*.jpg"))[:3]:
        (source / "jpg" / "orientation" / (path.stem + ".xmp")).write_text(
            f"<x:xmpmeta><rating>5</rating><for>{path.name}</for></x:xmpmeta>\n"
        )
    return {p.relative_to(source).as_posix(): sha256(p) for p in media_files(source)}


def library_contents(library: Path) -> dict[str, str]:
    found = {}
    for path in sorted(library.rglob("*")):
        try:
            if path.is_file():
                found[path.relative_to(library).as_posix()] = sha256(path)
        except FileNotFoundError:
            continue  # a worker's temporary file, renamed into place while we looked
    return found


def unique_image_hashes(laid: dict[str, str]) -> Counter[str]:
    return Counter(sha for rel, sha in laid.items() if not is_sidecar(rel))
