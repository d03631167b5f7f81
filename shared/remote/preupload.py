"""A batch's bytes sent ahead in one rsync run, so each file's upload finds them in place.

Per file, the rsync backend pays for one rsync run: a process here, a session and a login shell
on the target, a process there (≈ 0.5 s measured on a loopback sshd, more than sending 5 MB).
`preupload` sends every file of a batch to its upload temp name (the one `upload` resumes from)
with ONE `rsync --files-from` over the destination's shared ssh connection. It only sends
bytes: each file's `upload` then runs as always and trusts nothing it finds — the temp is
hashed on the target against the source's own bytes, checked, fsynced and renamed into place
without overwriting — so a pre-upload that failed, was cut short or sent other bytes costs time,
never a file. Temps that no upload took (the name was taken, the file changed) are removed by
`discard`.

rsync cannot rename on the way, so the list is a private folder of symlinks here, named as the
temps will be there, each pointing at its source (`--copy-links` sends what they point at).
"""

from __future__ import annotations

import logging
import os
import posixpath
import stat
import subprocess
import tempfile
from dataclasses import dataclass

from shared.remote.sftp_destination import RsyncDestination, SftpDestination, temp_name
from shared.remote.ssh import ssh_command_string

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Planned:
    """One file of a batch: its source here and its final absolute path on the target."""

    src: str
    final: str
    size: int
    mtime_ns: int

    @property
    def temp(self) -> str:
        return posixpath.join(posixpath.dirname(self.final),
                              temp_name(self.final, self.size, self.mtime_ns))


def preupload(destination: SftpDestination, planned: list[Planned]) -> list[Planned]:
    """Send the bytes of `planned` to their temp names on the target in one rsync run; the
    files it was tried for (empty when there is nothing to win: one file, an SFTP target, a
    bandwidth limit that rsync's single run could not share fairly)."""
    if not isinstance(destination, RsyncDestination) or destination.target.bandwidth_limit:
        return []
    root = destination.target.root.rstrip("/") or "/"
    todo = [p for p in planned if _regular(p) and p.final.startswith(root + "/")]
    if len(todo) < 2:
        return []
    with tempfile.TemporaryDirectory(prefix="mc-preupload-") as staging:
        names = []
        for item in todo:
            rel = posixpath.relpath(item.temp, root)
            link = os.path.join(staging, *rel.split("/"))
            os.makedirs(os.path.dirname(link), exist_ok=True)
            os.symlink(item.src, link)
            names.append(rel)
        listing = os.path.join(staging, ".files-from")
        with open(listing, "wb") as out:
            out.write(b"\0".join(os.fsencode(n) for n in names) + b"\0")
        target = destination.target
        # -s: remote names reach rsync as they are; --copy-links: send what a link points at;
        # --fsync: each file goes to disk as it arrives, so each upload's own fsync of its temp
        # (kept) finds nothing left to write instead of waiting for the whole file.
        with destination.pool.session() as session:
            fsync = ["--fsync"] if destination._fsync_known(session) else []
        argv = ["rsync", "-s", "--copy-links", *fsync, "--from0", f"--files-from={listing}",
                "--timeout", str(int(target.timeout * 4)),
                "-e", ssh_command_string(target, *destination._multiplexing()),
                "--", f"{staging}/", f"{target.user}@{target.host}:{root}/"]
        done = subprocess.run(argv, capture_output=True, text=True, errors="replace",
                              stdin=subprocess.DEVNULL, check=False)
    if done.returncode != 0:  # each upload then sends its file itself, and says why it cannot
        log.info("target %s: batch pre-upload of %d files ended with rsync exit %d: %s",
                 destination.name, len(todo), done.returncode, done.stderr.strip()[-300:])
    return todo


def discard(destination: SftpDestination, tried: list[Planned]) -> None:
    """Remove the temps of `tried` that no upload took (the upload renames the ones it uses)."""
    if not tried:
        return
    with destination.pool.session() as session:
        for item in tried:
            session.remove_quietly(item.temp)


def _regular(item: Planned) -> bool:
    """Only a regular file still of the size and mtime planned (never a link's target)."""
    try:
        info = os.lstat(item.src)
    except OSError:
        return False
    return stat.S_ISREG(info.st_mode) and (info.st_size, info.st_mtime_ns) == (
        item.size, item.mtime_ns)
