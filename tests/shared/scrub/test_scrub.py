"""Scrub on real files: a flipped byte is found (journal, ledger, counters), an edited file is
not called rotten, a damaged file is never mirrored over the backup, a repair restores it from a
verified mirror copy, a pass resumes at its cursor and keeps to its rate."""

from __future__ import annotations

import os
from pathlib import Path

import fakeredis
import pytest

from shared.errors import RepairImpossible
from shared.mirror import run_named_mirror
from shared.scrub import ScrubLedger, ScrubSummary, repair_file, repairer, scrub_library
from shared.state import RedisStateStore
from tests.shared.scrub.scrub_helpers import flip_byte, ingested, settings_for

FILES = {f"2024/IMG_{n}.jpg": bytes([n]) * (1000 + n) for n in range(5)}


@pytest.fixture
def store(fake_redis: fakeredis.FakeRedis) -> RedisStateStore:
    return RedisStateStore(fake_redis, "mc")


def test_a_flipped_byte_is_found_and_an_edit_is_not(tmp_path: Path,
                                                    store: RedisStateStore) -> None:
    # Given an indexed library, one file with a byte flipped and one edited by its owner
    settings = settings_for(tmp_path)
    library = tmp_path / "library"
    ingested(store, library, FILES)
    flip_byte(library / "2024/IMG_1.jpg")
    (library / "2024/IMG_3.jpg").write_bytes(b"retouched")
    # When the library is scrubbed
    summary = scrub_library(settings, store, "photos", rate=0)
    # Then exactly the flipped file is damaged; the edit is counted as changed
    assert (summary.checked, summary.ok, summary.damaged, summary.changed) == (5, 3, 1, 1)
    assert summary.damaged_paths == ["2024/IMG_1.jpg"] and summary.complete
    assert ScrubLedger(store, "photos").damaged_paths() == {"2024/IMG_1.jpg"}
    mismatch = [e for e in store.read_journal() if e["event"] == "scrub_mismatch"]
    assert [(e["source"], e["path"]) for e in mismatch] == [("photos", "2024/IMG_1.jpg")]
    assert store.counters()["scrub_mismatch"] == 1
    assert "files/s" in summary.line() and "MB/s" in summary.line()


def test_a_damaged_file_is_never_mirrored_over_the_backup(tmp_path: Path,
                                                          store: RedisStateStore) -> None:
    # Given a library mirrored to a USB disk, then a file that rotted, and the backup's copy gone
    settings = settings_for(tmp_path, max_delete_share=1.0)
    library, backup = tmp_path / "library", tmp_path / "backup"
    ingested(store, library, FILES)
    run_named_mirror(settings, "usb", store=store)
    flip_byte(library / "2024/IMG_2.jpg")
    (backup / "2024/IMG_2.jpg").unlink()
    scrub_library(settings, store, "photos", rate=0)
    # When the mirror runs
    summary = run_named_mirror(settings, "usb", store=store)
    # Then the rotten bytes were not copied: the file is skipped
    assert not (backup / "2024/IMG_2.jpg").exists()
    assert summary.copied == 0 and summary.skipped == 1


def test_repair_restores_the_file_from_a_verified_mirror_copy(tmp_path: Path,
                                                              store: RedisStateStore) -> None:
    # Given a mirrored library and a byte flipped in one of its files
    settings = settings_for(tmp_path)
    library = tmp_path / "library"
    ingested(store, library, FILES)
    run_named_mirror(settings, "usb", store=store)
    victim = library / "2024/IMG_4.jpg"
    mtime = victim.stat().st_mtime_ns
    flip_byte(victim)
    # When the library is scrubbed with repair
    summary = scrub_library(settings, store, "photos", rate=0,
                            repair=repairer(settings, store, "photos"))
    # Then the file holds its original bytes and time again, and nothing is left damaged
    assert (summary.damaged, summary.repaired) == (1, 1)
    assert victim.read_bytes() == FILES["2024/IMG_4.jpg"]
    assert victim.stat().st_mtime_ns == mtime
    assert ScrubLedger(store, "photos").damaged_paths() == set()
    repaired = [e for e in store.read_journal() if e["event"] == "scrub_repaired"]
    assert [e["reason"] for e in repaired] == ["restored from mirror usb"]
    # and a second pass finds the library whole
    assert scrub_library(settings, store, "photos", rate=0).ok == 5


def test_repair_refuses_a_backup_copy_that_is_damaged_too(tmp_path: Path,
                                                          store: RedisStateStore) -> None:
    # Given a file rotted in the library and its mirror copy rotted as well
    settings = settings_for(tmp_path)
    library, backup = tmp_path / "library", tmp_path / "backup"
    ingested(store, library, FILES)
    run_named_mirror(settings, "usb", store=store)
    flip_byte(library / "2024/IMG_0.jpg")
    flip_byte(backup / "2024/IMG_0.jpg", offset=5)
    damaged = (library / "2024/IMG_0.jpg").read_bytes()
    scrub_library(settings, store, "photos", rate=0)
    # When it is repaired, Then one line says why not, and the file is left as it was
    item = ScrubLedger(store, "photos").damaged()["2024/IMG_0.jpg"]
    with pytest.raises(RepairImpossible, match=r"photos:2024/IMG_0.jpg: no verified copy .*usb: "
                       "copy differs"):
        repair_file(settings, store, "photos", "2024/IMG_0.jpg", item["expected"],
                    item["mtime_ns"])
    assert (library / "2024/IMG_0.jpg").read_bytes() == damaged


def test_an_interrupted_pass_resumes_at_its_cursor(tmp_path: Path,
                                                   store: RedisStateStore) -> None:
    # Given a pass interrupted after its second file
    settings = settings_for(tmp_path)
    ingested(store, tmp_path / "library", FILES)

    def stop_after_two(summary: ScrubSummary) -> None:
        if summary.checked == 2:
            raise KeyboardInterrupt

    first = ScrubSummary("photos")
    with pytest.raises(KeyboardInterrupt):
        scrub_library(settings, store, "photos", 0, summary=first, progress=stop_after_two)
    assert first.checked == 2 and not first.complete
    # When the next pass runs, Then it starts after the second file and checks only the rest
    second = scrub_library(settings, store, "photos", rate=0)
    assert second.resumed_from == "2024/IMG_1.jpg"
    assert (second.checked, second.ok, second.complete) == (3, 3, True)
    # and the pass after that starts from the beginning again
    assert scrub_library(settings, store, "photos", rate=0).checked == 5


def test_a_pass_keeps_to_its_rate(tmp_path: Path, store: RedisStateStore) -> None:
    # Given 1.5 MB of indexed files, When scrubbed at 1 MB/s
    settings = settings_for(tmp_path)
    ingested(store, tmp_path / "library",
             {f"big{n}.jpg": os.urandom(500_000) for n in range(3)})
    summary = scrub_library(settings, store, "photos", rate=1_000_000)
    # Then it took at least the time that rate allows (load can only make it slower)
    assert summary.ok == 3 and summary.bytes == 1_500_000
    assert summary.seconds >= 1.4 and summary.mb_s <= 1.1


def test_a_file_indexed_without_its_ingest_record_is_judged_from_the_next_pass(
        tmp_path: Path, store: RedisStateStore) -> None:
    # Given indexed files whose ingest records are gone (a source removed from the config)
    settings = settings_for(tmp_path)
    library = tmp_path / "library"
    ingested(store, library, FILES)
    store.forget_records("cam", list(FILES))
    # When a first pass reads them whole, Then they are ok and their size and time noted
    assert scrub_library(settings, store, "photos", rate=0).ok == 5
    # When a byte flips afterwards, Then the next pass finds it
    flip_byte(library / "2024/IMG_2.jpg")
    summary = scrub_library(settings, store, "photos", rate=0)
    assert (summary.ok, summary.damaged, summary.damaged_paths) == (4, 1, ["2024/IMG_2.jpg"])
