"""Conflicts on a local backup folder: each kind built on disk after a first sync, then every
policy does what it says, and nothing in conflict is overwritten under `report`."""

from __future__ import annotations

import hashlib
from pathlib import Path

import fakeredis
import pytest

from shared.errors import UnknownConflict
from shared.mirror import ConflictBook, find_conflict, resolve, run_named_mirror
from shared.state import RedisStateStore
from shared.transfer import LocalDestination
from tests.shared.mirror.conflict_cases import (
    build_conflicts,
    dated,
    make_master,
    settings_for,
    tree,
)
from tests.shared.mirror.mirror_trees import put_file


@pytest.fixture
def store(fake_redis: fakeredis.FakeRedis) -> RedisStateStore:
    return RedisStateStore(fake_redis, "mc")


def synced_then_conflicting(tmp_path: Path, store: RedisStateStore, policy: str):
    master, backup = tmp_path / "master", tmp_path / "backup"
    make_master(master)
    backup.mkdir()
    settings = settings_for(tmp_path, {"kind": "local", "root": str(backup)}, policy)
    first = run_named_mirror(settings, "m", store=store)
    assert first.copied == 6 and tree(master) == tree(backup)
    build_conflicts(master, backup)
    return settings, master, backup, tree(master), tree(backup)


def conflict_events(store: RedisStateStore) -> dict[str, str]:
    return {e["path"]: e["kind"] for e in store.read_journal() if e["event"] == "mirror_conflict"}


def test_report_lists_every_kind_and_overwrites_nothing_in_conflict(
        tmp_path: Path, store: RedisStateStore) -> None:
    # Given a synced mirror, then each kind of conflict built on disk
    settings, master, backup, master_before, backup_before = synced_then_conflicting(
        tmp_path, store, "report")
    # When the mirror runs under the `report` policy
    summary = run_named_mirror(settings, "m", store=store)
    # Then the three conflicts are listed, the restored file journaled as deleted_backup
    book = ConflictBook(store, "m", "backup")
    assert {rel: c.kind for rel, c in book.conflicts().items()} == {
        "a.jpg": "modified_both", "b.jpg": "size_mismatch", "c.jpg": "deleted_master"}
    assert conflict_events(store) == {"a.jpg": "modified_both", "b.jpg": "size_mismatch",
                                      "c.jpg": "deleted_master", "d.jpg": "deleted_backup"}
    # and on disk: the backup keeps its versions of a, b and c; d is restored; e deleted
    after = tree(backup)
    for rel in ("a.jpg", "b.jpg", "c.jpg"):
        assert after[rel] == backup_before[rel], rel
    assert after["d.jpg"] == master_before["d.jpg"] and "e.jpg" not in after
    assert tree(master) == master_before and summary.failed == 0
    # When it runs again, Then the same conflicts stay open and are not journaled twice
    run_named_mirror(settings, "m", store=store)
    assert set(book.conflicts()) == {"a.jpg", "b.jpg", "c.jpg"}
    assert len([e for e in store.read_journal() if e["event"] == "mirror_conflict"]) == 4
    assert tree(backup) == after


def test_keep_master_makes_the_backup_the_masters(tmp_path: Path, store: RedisStateStore) -> None:
    # Given the conflicts, When the mirror runs with keep_master
    settings, master, backup, master_before, _ = synced_then_conflicting(
        tmp_path, store, "keep_master")
    run_named_mirror(settings, "m", store=store)
    # Then the backup is the master exactly, the master untouched, nothing left open
    assert tree(backup) == tree(master) == master_before
    assert ConflictBook(store, "m", "backup").conflicts() == {}
    # and each conflict is journaled with what the policy did about it
    reasons = {e["path"]: e["reason"] for e in store.read_journal()
               if e["event"] == "mirror_conflict"}
    assert reasons["a.jpg"] == "modified_both: the master's version written over the backup's"
    assert reasons["b.jpg"] == "size_mismatch: the master's version written over the backup's"
    assert reasons["c.jpg"] == "deleted_master: deleted from the backup, as from the master"


def test_keep_backup_brings_the_backups_versions_into_the_master(
        tmp_path: Path, store: RedisStateStore) -> None:
    # Given the conflicts, When the mirror runs with keep_backup
    settings, master, backup, master_before, backup_before = synced_then_conflicting(
        tmp_path, store, "keep_backup")
    run_named_mirror(settings, "m", store=store)
    # Then the master holds the backup's a, b and c; the sides agree; nothing is open
    now = tree(master)
    for rel in ("a.jpg", "b.jpg", "c.jpg"):
        assert now[rel] == backup_before[rel], rel
    assert now["f.jpg"] == master_before["f.jpg"] and tree(backup) == now
    assert ConflictBook(store, "m", "backup").conflicts() == {}


def test_keep_both_keeps_the_backups_version_under_a_dated_name(
        tmp_path: Path, store: RedisStateStore) -> None:
    # Given the conflicts, When the mirror runs with keep_both
    settings, master, backup, master_before, backup_before = synced_then_conflicting(
        tmp_path, store, "keep_both")
    run_named_mirror(settings, "m", store=store)
    # Then the master's a stays, the backup's a is beside it as `a (backup DAY).jpg`, both sides
    now = tree(master)
    assert now["a.jpg"] == master_before["a.jpg"]
    assert now[dated("a.jpg", 120)] == backup_before["a.jpg"]
    assert now["c.jpg"] == backup_before["c.jpg"]  # only the backup had it: kept as it was
    assert tree(backup) == now
    # and a further run finds nothing to do and nothing in conflict
    again = run_named_mirror(settings, "m", store=store)
    assert (again.copied, again.updated, again.deleted) == (0, 0, 0)
    assert ConflictBook(store, "m", "backup").conflicts() == {}


@pytest.mark.parametrize(("keep", "a_on_both"), [("master", "master"), ("backup", "backup")])
def test_resolve_settles_one_conflict_and_leaves_the_others(
        tmp_path: Path, store: RedisStateStore, keep: str, a_on_both: str) -> None:
    # Given conflicts reported by a run
    settings, master, backup, master_before, backup_before = synced_then_conflicting(
        tmp_path, store, "report")
    run_named_mirror(settings, "m", store=store)
    book = ConflictBook(store, "m", "backup")
    # When a.jpg is resolved
    done = resolve(book, find_conflict(book, "a.jpg"), keep, master, LocalDestination(backup))
    # Then both sides hold the chosen version of a.jpg, b and c stay open and untouched
    want = (master_before if a_on_both == "master" else backup_before)["a.jpg"]
    assert tree(master)["a.jpg"] == tree(backup)["a.jpg"] == want, done
    assert set(book.conflicts()) == {"b.jpg", "c.jpg"}
    assert tree(backup)["b.jpg"] == backup_before["b.jpg"]
    # and the next run sees a.jpg in sync
    summary = run_named_mirror(settings, "m", store=store)
    assert summary.updated == 0 and set(book.conflicts()) == {"b.jpg", "c.jpg"}


def test_resolve_of_a_path_not_in_conflict_is_one_clear_error(
        tmp_path: Path, store: RedisStateStore) -> None:
    # Given a mirror with no conflicts, When a path is resolved, Then one line names it
    book = ConflictBook(store, "m", "backup")
    with pytest.raises(UnknownConflict, match=r"mirror m: 'x.jpg' is not in conflict"):
        find_conflict(book, "x.jpg")


def test_a_file_never_synced_by_us_follows_the_plain_mirror_rules(
        tmp_path: Path, store: RedisStateStore) -> None:
    # Given a backup that already held an older, different a.jpg before the first run
    master, backup = tmp_path / "master", tmp_path / "backup"
    make_master(master)
    put_file(backup, "a.jpg", "an older copy", age_s=7200)
    settings = settings_for(tmp_path, {"kind": "local", "root": str(backup)}, "report")
    # When the mirror runs, Then with no history there is no conflict: it is updated
    run_named_mirror(settings, "m", store=store)
    assert tree(backup) == tree(master)
    book = ConflictBook(store, "m", "backup")
    assert book.conflicts() == {}
    # and every file is now noted as synced, with the sha256 of its bytes
    assert {rel: s.sha256 for rel, s in book.synced().items()} == {
        rel: hashlib.sha256(data).hexdigest() for rel, data in tree(master).items()}
