"""Conflicts on an SFTP backup against the test sshd and a real redis-server: the backup's side
is read back over SFTP (listing, sha256, and its version brought into the master)."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from bench.sshd import SshServer
from shared.mirror import ConflictBook, run_named_mirror
from shared.state import RedisStateStore
from tests.shared.mirror.conflict_cases import (
    build_conflicts,
    dated,
    make_master,
    settings_for,
    tree,
)


def sftp_target(sshd: SshServer, root: Path) -> dict[str, object]:
    return {"kind": "sftp", "host": sshd.host, "port": sshd.port, "user": sshd.user,
            "key_file": str(sshd.key_file), "known_hosts": str(sshd.known_hosts),
            "root": str(root)}


@pytest.mark.parametrize("policy", ["report", "keep_both"])
def test_conflicts_over_sftp(policy: str, sshd: SshServer, tmp_path: Path,
                             redis_client: redis.Redis, key_prefix: str) -> None:
    # Given a library synced to a folder on the NAS over SFTP, then every kind of conflict
    store = RedisStateStore(redis_client, key_prefix)
    master, backup = tmp_path / "master", tmp_path / "nas"
    make_master(master)
    backup.mkdir()
    settings = settings_for(tmp_path, sftp_target(sshd, backup), policy)
    assert run_named_mirror(settings, "m", store=store).copied == 6
    build_conflicts(master, backup)
    master_before, backup_before = tree(master), tree(backup)
    # When the mirror runs again
    summary = run_named_mirror(settings, "m", store=store)
    assert summary.failed == 0, summary.errors
    book = ConflictBook(store, "m", "backup")
    if policy == "report":
        # Then the three conflicts are open, the backup keeps its versions, d is restored
        assert {r: c.kind for r, c in book.conflicts().items()} == {
            "a.jpg": "modified_both", "b.jpg": "size_mismatch", "c.jpg": "deleted_master"}
        after = tree(backup)
        assert {r: after[r] for r in ("a.jpg", "b.jpg", "c.jpg")} == {
            r: backup_before[r] for r in ("a.jpg", "b.jpg", "c.jpg")}
        assert after["d.jpg"] == master_before["d.jpg"] and "e.jpg" not in after
        assert tree(master) == master_before
    else:
        # Then the backup's a was read back over SFTP into the master under a dated name
        now = tree(master)
        assert now["a.jpg"] == master_before["a.jpg"]
        assert now[dated("a.jpg", 120)] == backup_before["a.jpg"]
        assert tree(backup) == now and book.conflicts() == {}
