"""Which file system a folder lives on, so the watcher knows when it must poll.

inotify only sees changes made by this kernel: on NFS, SMB and similar shares, files written by
other machines (the phone-upload server, the NAS itself) never produce an event, so those
sources have to be polled.
"""

from __future__ import annotations

import os
import re

PROC_MOUNTINFO = "/proc/self/mountinfo"
PROC_MOUNTS = "/proc/mounts"
POLLING_CHOICES = ("auto", "on", "off")

NETWORK_FS_TYPES: frozenset[str] = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "fuse.sshfs",
        "sshfs",
        "9p",
        "davfs",
        "fuse.rclone",
        "ceph",
        "glusterfs",
        "fuse.glusterfs",
        "afs",
        "lustre",
        "fuse.s3fs",
        # virtiofs is deliberately absent: its host side is local and inotify works on it.
    }
)

_OCTAL_ESCAPE = re.compile(rb"\\([0-7]{3})")


def _unescape(field: bytes) -> str:
    # The kernel writes space, tab, newline and backslash in mount points as \040 \011 \012 \134.
    raw = _OCTAL_ESCAPE.sub(lambda m: bytes([int(m.group(1), 8)]), field)
    return os.fsdecode(raw)


def _read_mountinfo(path: str) -> list[tuple[str, str]]:
    """(mount point, fs type) pairs from a mountinfo file, in mount order."""
    with open(path, "rb") as handle:
        lines = handle.read().splitlines()
    mounts = []
    for line in lines:
        fields = line.split(b" ")
        try:
            separator = fields.index(b"-", 6)
            mounts.append((_unescape(fields[4]), os.fsdecode(fields[separator + 1])))
        except (ValueError, IndexError):
            continue
    return mounts


def _read_mounts(path: str) -> list[tuple[str, str]]:
    """(mount point, fs type) pairs from a /proc/mounts style file, in mount order."""
    with open(path, "rb") as handle:
        lines = handle.read().splitlines()
    mounts = []
    for line in lines:
        fields = line.split()
        if len(fields) >= 3:
            mounts.append((_unescape(fields[1]), os.fsdecode(fields[2])))
    return mounts


def _contains(mount_point: str, path: str) -> bool:
    if mount_point == "/":
        return True
    mount_point = mount_point.rstrip("/")
    return path == mount_point or path.startswith(mount_point + "/")


def filesystem_type(
    path: str | os.PathLike[str],
    mountinfo: str = PROC_MOUNTINFO,
    mounts: str = PROC_MOUNTS,
) -> str:
    """The type ('ext4', 'nfs4', 'fuse.sshfs', ...) of the file system holding `path`.

    Symlinks in `path` are resolved first. Returns '' when no mount table can be read (not
    Linux), which callers treat as a local file system.
    """
    resolved = os.path.realpath(path)
    try:
        table = _read_mountinfo(mountinfo)
    except OSError:
        try:
            table = _read_mounts(mounts)
        except OSError:
            return ""
    best_length, best_type = -1, ""
    for mount_point, fs_type in table:
        # `>=`: a later mount on the same point hides the earlier one.
        if _contains(mount_point, resolved) and len(mount_point) >= best_length:
            best_length, best_type = len(mount_point), fs_type
    return best_type


def is_network_fs(
    path: str | os.PathLike[str],
    mountinfo: str = PROC_MOUNTINFO,
    mounts: str = PROC_MOUNTS,
) -> bool:
    """True if `path` is on a network file system, where inotify misses remote changes."""
    return filesystem_type(path, mountinfo, mounts) in NETWORK_FS_TYPES


def should_poll(
    path: str | os.PathLike[str],
    polling: str,
    mountinfo: str = PROC_MOUNTINFO,
    mounts: str = PROC_MOUNTS,
) -> bool:
    """Whether to watch `path` by polling: 'on', 'off', or 'auto' (poll network shares only)."""
    if polling == "on":
        return True
    if polling == "off":
        return False
    if polling == "auto":
        return is_network_fs(path, mountinfo, mounts)
    raise ValueError(f"polling must be one of {', '.join(POLLING_CHOICES)}, got {polling!r}")
