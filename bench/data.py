"""Benchmark inputs: deterministic, incompressible file trees, and where to put them.

Generation is not timed. Every file gets distinct random bytes, so nothing is a duplicate and
every file must land in the library.
"""

from __future__ import annotations

import hashlib
import os
import random
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

KIB = 1024
MIB = 1024 * 1024
# Generated files get old mtimes, as files copied off a camera card have: a file modified
# within a source's stability window counts as still being written and is left for later.
MTIME_BASE_NS = 1_717_200_000 * 10**9  # 2024-06-01


@dataclass
class Tree:
    """A generated source folder: rel_path -> size."""

    root: Path
    files: dict[str, int] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(self.files)

    @property
    def total_bytes(self) -> int:
        return sum(self.files.values())

    def add(self, rel: str, data: bytes) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as stream:
            stream.write(data)
        mtime_ns = MTIME_BASE_NS + len(self.files) * 10**9
        os.utime(path, ns=(mtime_ns, mtime_ns))
        self.files[rel] = len(data)


def photos(root: Path, count: int, seed: int) -> Tree:
    """Photo-like files of 1-8 MiB in a few dated folders (a camera card's DCIM, roughly)."""
    rng = random.Random(seed)
    folders = ["2023/2023-12-24", "2024/2024-03-02", "2024/2024-05-18", "2024/2024-07-30",
               "2024/2024-08-01", "2024/2024-10-12"]
    tree = Tree(root)
    for i in range(count):
        size = rng.randint(1 * MIB, 8 * MIB)
        tree.add(f"{folders[i % len(folders)]}/IMG_{i:04d}.jpg", rng.randbytes(size))
    return tree


def small_files(root: Path, count: int, seed: int) -> Tree:
    """Small files of 2-60 KiB (thumbnails, small exports) over 25 folders."""
    rng = random.Random(seed)
    tree = Tree(root)
    for i in range(count):
        size = rng.randint(2 * KIB, 60 * KIB)
        tree.add(f"events/event-{i % 25:02d}/DSC_{i:05d}.jpg", rng.randbytes(size))
    return tree


def big_tree(root: Path, count: int, seed: int, per_folder: int = 100) -> Tree:
    """Tiny files (16 B - 1 KiB) in folders of `per_folder`, grouped 25 folders per parent.

    Each file starts with its own number, so even the smallest ones are never duplicates.
    """
    rng = random.Random(seed)
    tree = Tree(root)
    for i in range(count):
        folder = i // per_folder
        prefix = f"{i}\n".encode()
        size = rng.randint(16, 1024)
        tree.add(f"g{folder // 25:03d}/f{folder:04d}/p{i:06d}.jpg",
                 prefix + rng.randbytes(size - len(prefix)))
    return tree


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(MIB):
            digest.update(chunk)
    return digest.hexdigest()


def check_copy(tree: Tree, library: Path, sample: int, seed: int) -> list[str]:
    """Problems with the library copy of `tree` (layout 'keep'): missing, size, hash sample."""
    problems: list[str] = []
    for rel, size in tree.files.items():
        try:
            found = os.lstat(library / rel).st_size
        except FileNotFoundError:
            problems.append(f"missing in library: {rel}")
            continue
        if found != size:
            problems.append(f"size differs: {rel}: source {size}, library {found}")
    picked = random.Random(seed).sample(sorted(tree.files), min(sample, tree.count))
    for rel in picked:
        if (library / rel).is_file() and sha256_of(library / rel) != sha256_of(tree.root / rel):
            problems.append(f"content differs: {rel}")
    return problems


# -- where the work dir goes -------------------------------------------------------------


def _mount_of(path: Path) -> tuple[str, str]:
    """(mount point, fs type) of the mount holding `path`, from /proc/mounts."""
    best = ("/", "")
    target = os.path.realpath(path)
    try:
        with open("/proc/mounts", encoding="utf-8") as mounts:
            for line in mounts:
                parts = line.split()
                if len(parts) < 3:
                    continue
                point = parts[1].replace("\\040", " ")
                inside = target == point or target.startswith(point.rstrip("/") + "/")
                if inside and len(point) >= len(best[0]):
                    best = (point, parts[2])
    except OSError:
        pass
    return best


def describe_fs(path: Path) -> str:
    point, fstype = _mount_of(path)
    return f"{fstype or '?'} mounted at {point}"


def make_workdir(repo: Path, given: str | None) -> Path:
    """A fresh folder on the repository's filesystem (never on tmpfs): ours to delete later.

    With --workdir, a fresh sub-folder of it, so nothing already there is ever touched.
    """
    if given:
        parent = Path(given).absolute()
        parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix="mc-bench-", dir=parent))
    tmp = Path(tempfile.gettempdir())
    same_fs = os.stat(tmp).st_dev == os.stat(repo).st_dev
    if same_fs and _mount_of(tmp)[1] not in ("tmpfs", "ramfs"):
        return Path(tempfile.mkdtemp(prefix="mc-bench-"))
    out = repo / "bench" / "out"  # gitignored, and on the repository's filesystem
    out.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="work-", dir=out))
