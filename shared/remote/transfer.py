"""A library on an SSH target, behind the same TransferBackend Protocol as LocalTransfer.

`root` arguments are absolute paths on the target (the library's `path`). Nothing is linked:
every placement is an upload to a temp name, checked (size and the target's own sha256), made
durable there (fsync) and renamed into place without overwriting; verify_copy then reads the
target's sha256 again.

The copy check of a placement here is the sha256 of the bytes sent (a local copy's is the hash
of the bytes written): it marks the placement as a copy (the journal's `copied`), and checking
it asks the target to hash the file it holds, which reads the target's disk, instead of
reading the whole file back over the network.
"""

from __future__ import annotations

import os
import posixpath
from pathlib import Path

from shared.errors import FileBusy
from shared.remote.preupload import Planned, discard, preupload
from shared.remote.sftp_destination import SftpDestination
from shared.transfer import Expected, Placement


class RemoteTransfer:
    def __init__(self, destination: SftpDestination) -> None:
        self.destination = destination
        self._sent_ahead: list[Planned] = []

    def prepare(self, root: Path, files: list[tuple[str, str, int, int]]) -> None:
        """Send the bytes of a batch's files, (src, rel_path, size, mtime_ns) each, ahead in one
        rsync run (see preupload.py); each `place` then finds its bytes there and checks them.
        `done_preparing` removes what no placement took."""
        self._sent_ahead += preupload(self.destination, [
            Planned(src, posixpath.join(str(root), rel), size, mtime_ns)
            for src, rel, size, mtime_ns in files])

    def done_preparing(self) -> None:
        sent, self._sent_ahead = self._sent_ahead, []
        discard(self.destination, sent)

    def stat(self, root: Path, rel_path: str) -> tuple[int, int] | None:
        with self.destination.pool.session() as session:
            return session.stat(posixpath.join(str(root), rel_path))

    def stat_size(self, root: Path, rel_path: str) -> int | None:
        found = self.stat(root, rel_path)
        return None if found is None else found[0]

    def digest(self, root: Path, rel_path: str, check: bool = False) -> tuple[int, str] | None:
        """(size, sha256) of the file on the target, by the target (see the module's note)."""
        path = posixpath.join(str(root), rel_path)
        with self.destination.pool.session() as session:
            found = session.stat(path)
            if found is None:
                return None
            if found[0] < 0:
                return -1, ""  # a folder or link holds the name: never ours
            # check or not, the target's own sha256: the copy check of an upload is a sha256
            digest = session.sha256(path)
        return (found[0], digest) if digest is not None else None

    def place(self, src: str, root: Path, rel_path: str, expected: Expected,
              link_ok: bool) -> Placement | None:
        info = os.lstat(src)
        if (info.st_size, info.st_mtime_ns) != (expected.size, expected.mtime_ns):
            raise FileBusy(f"{src}: changed since it was hashed")
        done = self.destination.upload(src, posixpath.join(str(root), rel_path),
                                       expected.mtime_ns, False, expected.sha256, None)
        if done is None:
            return None
        return Placement(rel_path, done[0], done[1], linked=False, check=done[0])

    def make_durable(self, root: Path, rel_path: str) -> None:
        """fsync a file found already in place on the target, and its folder (as an upload
        does; a target that offers no way to sync is trusted, as uploads to it are)."""
        path = posixpath.join(str(root), rel_path)
        with self.destination.pool.session() as session:
            session.fsync(path)
            session.fsync(posixpath.dirname(path))

    def remove(self, root: Path, rel_path: str) -> None:
        with self.destination.pool.session() as session:
            session.remove_quietly(posixpath.join(str(root), rel_path))

    def flush(self) -> None:
        """Nothing to do: every upload was checked and fsynced on the target before its rename,
        and its folder fsynced after it (see SftpDestination.upload)."""
