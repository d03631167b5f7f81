"""check_icloud_delete: icloudpd may delete from iCloud only when every file here that it would
delete (mtime N days old or more, less a margin) is recorded as a verified copy of that very
version, or a duplicate of one. Real files in tmp_path, records in fakeredis."""

from __future__ import annotations

import os
import time
from pathlib import Path

import fakeredis
import pytest

from shared.config import SourceConfig
from shared.source import check_icloud_delete
from shared.state import FileRecord, RedisStateStore
from tests.shared.source.icloud_standin import icloud_settings

DAY = 86400.0
NOW = time.time()


@pytest.fixture
def store(fake_redis: fakeredis.FakeRedis) -> RedisStateStore:
    return RedisStateStore(fake_redis, "t")


def _source(tmp_path: Path, **keys: object) -> SourceConfig:
    return icloud_settings(tmp_path, tmp_path / "icloudpd", **keys).sources["phone"]


def _photo(source: SourceConfig, rel: str, age_days: float) -> Path:
    """A photo as icloudpd leaves it: its mtime the asset's creation date."""
    path = source.path / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xff\xd8 " + rel.encode())
    stamp = NOW - age_days * DAY
    os.utime(path, (stamp, stamp))
    return path


def _record(store: RedisStateStore, source: SourceConfig, rel: str, state: str,
            dest: str = "2024/05/x.jpg") -> None:
    info = (source.path / rel).stat()
    store.put_record(source.name, rel, FileRecord(info.st_size, info.st_mtime_ns, info.st_ino,
                                                  "ab" * 32, state, dest))


def test_old_files_all_verified_are_safe_and_recent_ones_do_not_count(
        tmp_path: Path, store: RedisStateStore) -> None:
    # Given two 40-day-old photos, one ingested and one a duplicate, and a new unrecorded one
    source = _source(tmp_path)
    _photo(source, "2024/04/IMG_1.JPG", 40)
    _photo(source, "2024/04/IMG_2.JPG", 40)
    _photo(source, "2024/05/IMG_3.JPG", 2)
    _record(store, source, "2024/04/IMG_1.JPG", "ingested")
    _record(store, source, "2024/04/IMG_2.JPG", "duplicate", dest="")
    # When deleting what is 30 days old is checked
    check = check_icloud_delete(store, source, 30, now=NOW)
    # Then it is safe: both old files are verified, the new one is kept in iCloud anyway
    assert check.safe and (check.unsafe, check.checked) == (0, 2)


def test_an_old_file_not_verified_blocks_and_is_named(tmp_path: Path,
                                                      store: RedisStateStore) -> None:
    # Given three 40-day-old photos: one ingested, one seen only, one with no record
    source = _source(tmp_path)
    _photo(source, "2024/04/IMG_1.JPG", 40)
    _photo(source, "2024/04/IMG_2.JPG", 40)
    _photo(source, "2024/04/IMG_3.JPG", 40)
    _record(store, source, "2024/04/IMG_1.JPG", "ingested")
    _record(store, source, "2024/04/IMG_2.JPG", "seen")
    # When deleting what is 30 days old is checked
    check = check_icloud_delete(store, source, 30, now=NOW)
    # Then it is not safe, and one line says how many and names the first
    assert not check.safe
    assert check.line() == (
        "not deleting from iCloud yet: 2 files older than 30 days not verified yet "
        f"(first: {source.path / '2024/04/IMG_2.JPG'})")


@pytest.mark.parametrize("state", ["failed", "skipped", "empty", "seen"])
def test_outcomes_that_are_not_a_verified_copy_are_not_safe(
        tmp_path: Path, store: RedisStateStore, state: str) -> None:
    # Given an old photo recorded with an outcome that left no verified copy
    source = _source(tmp_path)
    _photo(source, "IMG_1.JPG", 40)
    _record(store, source, "IMG_1.JPG", state)
    # When checked, Then it blocks the delete
    assert check_icloud_delete(store, source, 30, now=NOW).unsafe == 1


def test_a_version_changed_since_it_was_verified_or_verified_without_a_dest_is_not_safe(
        tmp_path: Path, store: RedisStateStore) -> None:
    # Given an old photo ingested then rewritten (new size), and one "ingested" with no dest
    source = _source(tmp_path)
    path = _photo(source, "IMG_1.JPG", 40)
    _record(store, source, "IMG_1.JPG", "ingested")
    stamp = path.stat().st_mtime
    path.write_bytes(b"\xff\xd8 other bytes, longer than before")
    os.utime(path, (stamp, stamp))
    _photo(source, "IMG_2.JPG", 40)
    _record(store, source, "IMG_2.JPG", "verified", dest="")
    # When checked, Then neither counts as safe
    check = check_icloud_delete(store, source, 30, now=NOW)
    assert check.unsafe == 2 and check.first == str(source.path / "IMG_1.JPG")


def test_an_excluded_file_still_counts_and_a_part_file_does_not(
        tmp_path: Path, store: RedisStateStore) -> None:
    # Given a source excluding videos, an old video icloudpd downloaded, and an old .part
    source = _source(tmp_path, exclude=["*.MOV"])
    _photo(source, "IMG_1.MOV", 40)
    _photo(source, "HBW2EH4ZJ7XKOMOGJWWQ5CZQWB3DPK3T.part", 40)
    # When checked, Then the video blocks (it is never carried; its asset must stay in iCloud)
    check = check_icloud_delete(store, source, 30, now=NOW)
    assert (check.unsafe, check.checked) == (1, 1)
    assert check.first == str(source.path / "IMG_1.MOV")


def test_the_margin_counts_files_just_younger_than_the_days(tmp_path: Path,
                                                            store: RedisStateStore) -> None:
    # Given an unrecorded photo 29.5 days old
    source = _source(tmp_path)
    _photo(source, "IMG_1.JPG", 29.5)
    # When checked for 30 days with no margin, and with a day's margin
    exact = check_icloud_delete(store, source, 30, margin=0, now=NOW)
    wide = check_icloud_delete(store, source, 30, margin=DAY, now=NOW)
    # Then only the margin brings it in (icloudpd may read its clock later than we did)
    assert exact.safe and not wide.safe


def test_zero_days_means_every_file(tmp_path: Path, store: RedisStateStore) -> None:
    # Given a photo downloaded a minute ago and not ingested yet
    source = _source(tmp_path)
    _photo(source, "IMG_1.JPG", 60 / DAY)
    # When deleting everything (0 days) is checked, Then it blocks
    assert check_icloud_delete(store, source, 0, now=NOW).unsafe == 1
