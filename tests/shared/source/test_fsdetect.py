"""Detecting network file systems, where inotify misses remote writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.source.fsdetect import NETWORK_FS_TYPES, filesystem_type, is_network_fs, should_poll

MOUNTINFO = r"""22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
30 22 0:26 / /proc rw,nosuid - proc proc rw
41 22 0:40 / /mnt/nas rw,relatime shared:20 - nfs4 nas:/export rw,vers=4.2
42 41 8:17 / /mnt/nas/local rw,relatime - ext4 /dev/sdb1 rw
43 22 0:41 / /mnt/Phone\040Uploads rw,relatime - cifs //nas/phone rw
44 22 0:42 / /mnt/tab\011name rw - fuse.sshfs user@host:/x rw
45 22 0:43 / /mnt/share rw - ext4 /dev/sdc1 rw
46 45 0:44 / /mnt/share rw - fuse.rclone remote: rw
47 22 0:45 / /mnt/vm rw - virtiofs shared rw
48 22 0:46 / /mnt/nas2 rw master:3 propagate_from:2 - smb3 //nas/two rw
"""


@pytest.fixture
def mountinfo(tmp_path: Path) -> str:
    path = tmp_path / "mountinfo"
    path.write_text(MOUNTINFO)
    return str(path)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/", "ext4"),
        ("/home/user/photos", "ext4"),
        ("/mnt/nas", "nfs4"),
        ("/mnt/nas/DCIM/a.jpg", "nfs4"),
        ("/mnt/nas/local/x", "ext4"),  # nested mount inside the share
        ("/mnt/nasty", "ext4"),  # a name prefix is not containment
        ("/mnt/Phone Uploads/2024", "cifs"),  # \040 is an escaped space
        ("/mnt/tab\tname", "fuse.sshfs"),
        ("/mnt/share/x", "fuse.rclone"),  # the later mount on the same point wins
        ("/mnt/nas2/x", "smb3"),  # optional fields before the separator
    ],
)
def test_filesystem_type_picks_the_longest_containing_mount(
    mountinfo: str, path: str, expected: str
) -> None:
    # Given a mount table / When / Then
    assert filesystem_type(path, mountinfo=mountinfo) == expected


def test_network_detection(mountinfo: str) -> None:
    # Given a mount table with network, local and virtiofs mounts / When / Then
    assert is_network_fs("/mnt/nas/DCIM", mountinfo=mountinfo)
    assert is_network_fs("/mnt/Phone Uploads", mountinfo=mountinfo)
    assert not is_network_fs("/mnt/nas/local", mountinfo=mountinfo)
    assert not is_network_fs("/mnt/vm/photos", mountinfo=mountinfo)


def test_symlinks_are_resolved_before_lookup(tmp_path: Path) -> None:
    # Given a symlink whose target lies under a network mount point
    target = tmp_path / "nfsmount" / "photos"
    target.mkdir(parents=True)
    link = tmp_path / "link"
    link.symlink_to(target)
    table = tmp_path / "mountinfo"
    table.write_text(
        f"22 1 8:1 / / rw - ext4 /dev/sda1 rw\n"
        f"41 22 0:40 / {tmp_path.resolve() / 'nfsmount'} rw - nfs nas:/x rw\n"
    )
    # When / Then
    assert filesystem_type(link, mountinfo=str(table)) == "nfs"


def test_falls_back_to_proc_mounts_format(tmp_path: Path) -> None:
    # Given no mountinfo but a /proc/mounts style table
    mounts = tmp_path / "mounts"
    mounts.write_text("/dev/sda1 / ext4 rw 0 0\n//nas/photos /mnt/My\\040Photos cifs rw 0 0\n")
    # When
    found = filesystem_type(
        "/mnt/My Photos/a", mountinfo=str(tmp_path / "missing"), mounts=str(mounts)
    )
    # Then
    assert found == "cifs"


def test_no_mount_table_means_unknown_and_local(tmp_path: Path) -> None:
    # Given neither table exists (not Linux) / When / Then
    missing = str(tmp_path / "missing")
    assert filesystem_type("/x", mountinfo=missing, mounts=missing) == ""
    assert not should_poll("/x", "auto", mountinfo=missing, mounts=missing)


def test_should_poll_choices(mountinfo: str) -> None:
    # Given a local and a network path / When / Then
    assert should_poll("/mnt/nas/a", "auto", mountinfo=mountinfo)
    assert not should_poll("/home/a", "auto", mountinfo=mountinfo)
    assert should_poll("/home/a", "on", mountinfo=mountinfo)
    assert not should_poll("/mnt/nas/a", "off", mountinfo=mountinfo)
    with pytest.raises(ValueError, match="polling"):
        should_poll("/home/a", "sometimes", mountinfo=mountinfo)


def test_network_types_include_9p_but_not_virtiofs() -> None:
    # Given / When / Then
    assert {"nfs", "nfs4", "cifs", "smb3", "fuse.sshfs", "9p"} <= NETWORK_FS_TYPES
    assert "virtiofs" not in NETWORK_FS_TYPES


def test_real_mount_table_knows_the_root() -> None:
    # Given this machine's own mount table / When
    found = filesystem_type("/")
    # Then whatever it is, it has a name
    assert found
