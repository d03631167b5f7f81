"""Mirrors to SSH targets against a real sshd: the Destination contract that LocalDestination
passes, run by the SFTP and rsync-over-SSH destinations; and a mirror of the real camera
corpus configured in TOML, checked independently with `rsync -rcn --delete`."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.sshd import SshServer
from shared.config import build_settings
from shared.errors import MirrorRefused
from shared.mirror.job import run_named_mirror
from shared.remote.sftp_destination import KINDS
from shared.transfer.destinations import Destination
from tests.conftest import CORPUS_DIR
from tests.shared.destination_contract import DestinationContract
from tests.shared.ssh_helpers import rsync_differences, target_for


class _SshDestinationContract(DestinationContract):
    kind = "sftp"

    @pytest.fixture
    def make(self, tmp_path: Path, sshd: SshServer) -> Iterator[tuple[Destination, Path]]:
        root = tmp_path / "nas"
        root.mkdir()
        destination = KINDS[self.kind](target_for(sshd, root, self.kind))
        yield destination, root
        destination.close()


class TestSftpDestinationContract(_SshDestinationContract):
    kind = "sftp"


class TestRsyncDestinationContract(_SshDestinationContract):
    kind = "rsync"


@pytest.mark.parametrize("kind", ["sftp", "rsync"])
def test_the_corpus_mirrors_over_ssh_exactly_and_a_move_is_a_rename(
        kind: str, sshd: SshServer, tmp_path: Path) -> None:
    # Given the camera corpus as a library and an empty folder on the NAS, in a TOML config
    library, nas = tmp_path / "library", tmp_path / "nas"
    shutil.copytree(CORPUS_DIR, library)
    nas.mkdir()
    raw = {"sources": {}, "libraries": {"photos": {"path": str(library)}},
           "targets": {"nas": {"kind": kind, "host": sshd.host, "port": sshd.port,
                               "user": sshd.user, "key_file": str(sshd.key_file),
                               "known_hosts": str(sshd.known_hosts), "root": str(nas)}},
           "mirrors": {"nightly": {"library": "photos", "target": "nas",
                                   "max_delete": 0, "max_delete_share": 0.0}}}
    settings = build_settings(raw, tmp_path / "mediacourier.toml", tmp_path)
    # When the mirror runs
    first = run_named_mirror(settings, "nightly")
    # Then every file arrived, verified, and an independent rsync checksum pass finds nothing
    files = [p for p in library.rglob("*") if p.is_file()]
    assert first.failed == 0 and first.copied == len(files)
    assert rsync_differences(library, nas, "--delete") == []
    # Given a folder moved in the library
    moved = next(p for p in library.iterdir() if p.is_dir())
    moved.rename(library / "renamed-folder")
    inside = sum(1 for p in (library / "renamed-folder").rglob("*") if p.is_file())
    # When the mirror runs again, Then the moves are renames on the NAS: no bytes sent
    second = run_named_mirror(settings, "nightly")
    assert (second.renamed, second.copied, second.bytes, second.deleted) == (inside, 0, 0, 0)
    assert rsync_differences(library, nas, "--delete") == []
    # Given a file deleted in the library, When mirrored with a guard of 0, Then refused
    victim = next(p for p in library.rglob("*.jpg"))
    victim.unlink()
    with pytest.raises(MirrorRefused, match="would delete 1 of"):
        run_named_mirror(settings, "nightly")
    assert rsync_differences(library, nas, "--delete") != []  # nothing was touched
    # and with force, Then the NAS matches again
    assert run_named_mirror(settings, "nightly", force=True).deleted == 1
    assert rsync_differences(library, nas, "--delete") == []


def test_listing_sweeps_abandoned_temp_files_and_keeps_fresh_ones(
        sshd: SshServer, tmp_path: Path) -> None:
    # Given a NAS folder with a photo, an upload abandoned two days ago and one under way
    nas = tmp_path / "nas"
    (nas / "2024").mkdir(parents=True)
    (nas / "2024" / "a.jpg").write_bytes(b"photo")
    old = nas / "2024" / ".mediacourier-abandoned.tmp"
    old.write_bytes(b"half an upload")
    two_days_ago = time.time() - 2 * 86400
    os.utime(old, (two_days_ago, two_days_ago))
    fresh = nas / ".mediacourier-under-way.tmp"
    fresh.write_bytes(b"being written")
    for kind in ("sftp", "rsync"):
        destination = KINDS[kind](target_for(sshd, nas, kind))
        try:
            # When the destination is listed
            listed = [e.rel_path for e in destination.list_files()]
        finally:
            destination.close()
        # Then only the photo is listed, the abandoned temp is gone and the fresh one stays
        assert listed == ["2024/a.jpg"]
        assert not old.exists() and fresh.exists()
