"""The soak's files: a plan drawn from the seed, written into the source over the arrival window,
and the library read back as a multiset of contents.

About 10 % of the files are duplicates (same bytes, another name and folder) and 10 % are XMP
sidecars beside an image of their own; sizes run from 1 KB to a few MB (log-uniform), in a few
nested folders. A file arrives complete: written in a staging folder on the same filesystem,
then renamed into the source (as an upload finishing under its final name).
"""

from __future__ import annotations

import hashlib
import os
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from shared.transfer import QUARANTINE_DIR, TMP_PREFIX

FOLDERS = ("", "DCIM/100APPLE", "DCIM/101APPLE", "2024/06/01", "2024/06/02",
           "trips/lisbon/day 1", "trips/lisbon/day 2/raw")
EXTENSIONS = ("jpg", "jpg", "jpg", "heic", "png", "dng", "mp4", "mov")
MIN_SIZE, MAX_SIZE = 1024, 4 * 1024 * 1024
RELEASE_PREFIX = ".mc-"  # a source being released is renamed to .mc-release-<name> first


@dataclass(frozen=True)
class PlannedFile:
    rel: str
    content: int  # files with the same content number have the same bytes
    size: int
    arrive_at: float  # seconds after the arrival window opens
    sidecar_of: str = ""


def plan_files(count: int, seconds: float, seed: int) -> list[PlannedFile]:
    """`count` files in arrival order; the same seed gives the same files, bytes and order."""
    rng = random.Random(f"files:{seed}")
    sidecars, duplicates = round(count * 0.1), round(count * 0.1)
    images = max(1, count - sidecars - duplicates)
    sidecars = min(sidecars, images)
    duplicates = count - images - sidecars
    planned: list[PlannedFile] = []
    for index in range(images):
        folder = rng.choice(FOLDERS)
        name = f"IMG_{index:04d}.{rng.choice(EXTENSIONS)}"
        size = int(MIN_SIZE * (MAX_SIZE / MIN_SIZE) ** rng.random())
        planned.append(PlannedFile(_join(folder, name), index, size,
                                   rng.uniform(0, seconds)))
    originals = list(planned)
    for index, image in enumerate(rng.sample(originals, sidecars)):
        stem = image.rel.rsplit(".", 1)[0]
        planned.append(PlannedFile(f"{stem}.xmp", images + index, rng.randint(1024, 4096),
                                   min(seconds, image.arrive_at + rng.uniform(0, 1.0)),
                                   sidecar_of=image.rel))
    for index in range(duplicates):
        original = rng.choice(originals)
        name = original.rel.rsplit("/", 1)[-1]
        folder = rng.choice([f for f in FOLDERS if _join(f, name) != original.rel])
        planned.append(PlannedFile(_join(folder, f"copy {index:03d} of {name}"),
                                   original.content, original.size, rng.uniform(0, seconds)))
    return sorted(planned, key=lambda f: (f.arrive_at, f.rel))


def _join(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name


def content_bytes(planned: PlannedFile, seed: int) -> bytes:
    """The bytes of a planned file (the same for every file of that content number)."""
    rng = random.Random(f"content:{seed}:{planned.content}")
    if planned.sidecar_of:
        # Text, unique to its image: sidecars are not deduplicated by content.
        head = f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><!-- {planned.sidecar_of} -->\n'.encode()
        body = rng.randbytes(planned.size).hex().encode()
        return (head + body)[: max(planned.size, len(head))]
    return rng.randbytes(planned.size)


class Arrivals:
    """Writes the planned files into the source at their times (a thread); what has arrived."""

    def __init__(self, planned: list[PlannedFile], source: Path, staging: Path,
                 seed: int) -> None:
        self.planned, self.source, self.staging, self.seed = planned, source, staging, seed
        self.arrived: dict[str, str] = {}  # rel -> sha256, once it is in the source
        self.digests: dict[str, str] = {}  # every planned rel -> sha256 (known once written)
        self.arrived_at: dict[str, float] = {}  # rel -> time.time() it appeared in the source
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.opened_at = 0.0
        for folder in {f.rel.rpartition("/")[0] for f in planned}:
            (source / folder).mkdir(parents=True, exist_ok=True)
        staging.mkdir(parents=True, exist_ok=True)

    def run(self, stop: threading.Event) -> None:
        self.opened_at = time.monotonic()
        try:
            for planned in self.planned:
                if stop.wait(max(0.0, self.opened_at + planned.arrive_at - time.monotonic())):
                    return
                self._write(planned)
        finally:
            self.done.set()

    def _write(self, planned: PlannedFile) -> None:
        data = content_bytes(planned, self.seed)
        digest = hashlib.sha256(data).hexdigest()
        staged = self.staging / f"{planned.content}-{len(self.arrived)}.part"
        staged.write_bytes(data)
        final = self.source / planned.rel
        final.parent.mkdir(parents=True, exist_ok=True)  # the pipeline may prune empty folders
        os.rename(staged, final)
        with self.lock:
            self.arrived[planned.rel] = digest
            self.arrived_at[planned.rel] = time.time()
            self.digests[planned.rel] = digest

    def snapshot(self) -> dict[str, str]:
        with self.lock:
            return dict(self.arrived)


def source_present(source: Path) -> set[str]:
    """Relative paths in the source; a file being released (.mc-release-NAME) counts as NAME."""
    present = set()
    for folder, _dirs, files in os.walk(source):
        rel_folder = os.path.relpath(folder, source)
        for name in files:
            if name.startswith(RELEASE_PREFIX):
                name = name.split("-", 2)[-1]
            rel = name if rel_folder == "." else f"{rel_folder}/{name}"
            present.add(rel.replace(os.sep, "/"))
    return present


class LibraryIndex:
    """The library's contents by sha256; a file is hashed again only when it changed."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._cache: dict[str, tuple[tuple[int, int, int, int], str]] = {}

    def scan(self) -> tuple[Counter[str], list[str], list[str]]:
        """(sha256 -> number of library files, temp files left, quarantined files)."""
        contents: Counter[str] = Counter()
        temps, quarantined, seen = [], [], set()
        for folder, _dirs, files in os.walk(self.root):
            rel_folder = os.path.relpath(folder, self.root).replace(os.sep, "/")
            in_quarantine = rel_folder.split("/")[0] == QUARANTINE_DIR
            for name in files:
                rel = name if rel_folder == "." else f"{rel_folder}/{name}"
                if in_quarantine:
                    quarantined.append(rel)
                elif name.startswith((TMP_PREFIX, RELEASE_PREFIX)):
                    temps.append(rel)
                elif (digest := self._digest(rel)) is not None:
                    contents[digest] += 1
                    seen.add(rel)
        self._cache = {rel: entry for rel, entry in self._cache.items() if rel in seen}
        return contents, temps, quarantined

    def _digest(self, rel: str) -> str | None:
        path = self.root / rel
        try:
            info = os.lstat(path)
            key = (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
            cached = self._cache.get(rel)
            if cached is not None and cached[0] == key:
                return cached[1]
            with open(path, "rb") as stream:
                digest = hashlib.file_digest(stream, "sha256").hexdigest()
        except OSError:
            return None  # gone between the listing and the read: the next scan sees it
        self._cache[rel] = (key, digest)
        return digest
