"""Reading one file back from a mirror's Destination into a local folder, verified.

The Destination protocol writes; restoring (a damaged library file, a conflict kept from the
backup side) needs the other direction. A local folder is opened directly; an SFTP or rsync
target through its pooled SFTP session. Bytes land under a temp name beside the final one,
are checked against the sha256 they must have, get their modification time, and are renamed
into place: a reader sees the old file or the checked new one, never a partial one.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from shared.errors import DestinationExists, PathRefused, RepairImpossible
from shared.transfer import CHUNK, TMP_PREFIX, Destination, LocalDestination, fsync_dir


def _plain(rel_path: str) -> list[str]:
    parts = rel_path.split("/")
    if not rel_path or rel_path.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise PathRefused(f"{rel_path!r}: not a plain relative path under the target")
    return parts


@contextlib.contextmanager
def open_backup(destination: Destination, rel_path: str) -> Iterator[BinaryIO]:
    """The backup's copy of rel_path, open for reading (FileNotFoundError when absent)."""
    parts = _plain(rel_path)
    if isinstance(destination, LocalDestination):
        with open(os.path.join(destination.root, *parts), "rb") as handle:
            yield handle
        return
    pool, path = getattr(destination, "pool", None), getattr(destination, "path", None)
    if pool is None or path is None:  # neither a folder nor SSH: nothing to read back with
        raise RepairImpossible(f"target {destination.name}: cannot read files back from it")
    with pool.session() as session, session.sftp.open(path(rel_path), "rb") as handle:
        handle.prefetch()
        yield handle


def fetch_backup(destination: Destination, rel_path: str, to: Path, mtime_ns: int,
                 replace: bool, expect_sha256: str | None = None) -> tuple[str, int]:
    """Copy the backup's rel_path to `to`; returns (sha256, size). With `expect_sha256` the
    bytes must hash to it (else RepairImpossible, nothing changed); without, to what the
    target itself hashes. replace=False never overwrites (DestinationExists)."""
    to.parent.mkdir(parents=True, exist_ok=True)
    tmp = to.parent / f"{TMP_PREFIX}{uuid.uuid4().hex[:12]}.part"
    digest, size = hashlib.sha256(), 0
    try:
        with open_backup(destination, rel_path) as source, open(tmp, "xb") as sink:
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                sink.write(chunk)
                size += len(chunk)
            sink.flush()
            os.fsync(sink.fileno())
        sha = digest.hexdigest()
        want = expect_sha256 or destination.sha256(rel_path)
        if sha != want:
            raise RepairImpossible(f"{destination.name}:{rel_path}: the copy read back has "
                                   f"sha256 {sha[:12]}, expected {str(want)[:12]}; not restored")
        os.utime(tmp, ns=(mtime_ns, mtime_ns))
        if replace:
            os.replace(tmp, to)
        else:
            try:
                os.link(tmp, to)  # fails on a taken name: never overwrites
            except FileExistsError as exc:
                raise DestinationExists(f"{to}: already exists; not overwritten") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    fsync_dir(str(to.parent))
    return sha, size
