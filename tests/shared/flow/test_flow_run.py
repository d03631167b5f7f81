"""A flow's steps run in order over real files (tmp_path) with the store on fakeredis: where
every file ends, by its bytes; batches one after the other; a failing file and a failing step."""

from __future__ import annotations

import os
import time
from pathlib import Path

import fakeredis
import pytest

from shared.compress import StubCompressor
from shared.flow import FlowLedger, dry_run
from shared.state import RedisStateStore
from tests.shared.flow.helpers import PhoneDouble, photos, run_flow, settings_for, tree

RELAY = [
    {"kind": "deliver", "library": "pixel", "batch": 2},
    {"kind": "archive", "library": "nas"},
    {"kind": "compress", "to": "compressed"},
    {"kind": "release", "to": "icloud-delete"},
    {"kind": "cleanup", "folder": "icloud", "older_than": "1h"},
]


@pytest.fixture
def store(fake_redis: fakeredis.FakeRedis) -> RedisStateStore:
    return RedisStateStore(fake_redis, "mc")


def test_the_relay_carries_every_file_through_every_step(tmp_path: Path,
                                                         store: RedisStateStore) -> None:
    # Given five photos downloaded from iCloud, a stale temp file a day old and a fresh one
    settings = settings_for(tmp_path, RELAY)
    for name in ("compressed", "icloud-delete"):  # a step's folder must be there already
        (tmp_path / name).mkdir()
    made = photos(tmp_path / "icloud", 5)
    stale, fresh = tmp_path / "icloud" / "old.tmp", tmp_path / "icloud" / "new.tmp"
    stale.write_bytes(b"x")
    fresh.write_bytes(b"y")
    day_ago = time.time() - 86400
    os.utime(stale, (day_ago, day_ago))
    # … and a temp file of a copy still going on (its mtime is the source's, a day old)
    copying = tmp_path / "icloud" / ".mediacourier-0123-abc.tmp"
    copying.write_bytes(b"z")
    os.utime(copying, (day_ago, day_ago))
    # When the flow runs (the stub compressor keeps the first half of each file)
    outcomes = run_flow(settings, store, compressor=StubCompressor(ratio=0.5))
    # Then the deliver step went in three batches (2, 2, 1) before the next steps
    assert [(o.step, o.reached) for o in outcomes] == [
        (1, 2), (1, 2), (1, 1), (2, 5), (3, 5), (4, 5), (5, 5)]
    assert not any(o.held or o.failed for o in outcomes)
    # … the originals ended in the release folder, byte for byte, none left behind
    assert tree(tmp_path / "icloud-delete") == made
    assert tree(tmp_path / "synced" / "pixel") == {}
    assert tree(tmp_path / "nas") == made
    assert {k: len(v) for k, v in tree(tmp_path / "compressed").items()} == {
        k: len(v) // 2 for k, v in made.items()}
    # … the stale temp file was cleaned up, the fresh one and the live copy's kept
    assert tree(tmp_path / "icloud") == {"new.tmp": b"y", copying.name: b"z"}
    # … and every file's record says it reached step 5, with the journal naming each step
    files = FlowLedger(store, "relay").files()
    assert {f.done for f in files.values()} == {5}
    assert files["IMG_0003.jpg"].at == str(tmp_path / "icloud-delete" / "IMG_0003.jpg")
    steps = [(e["step"], e["path"]) for e in store.read_journal() if e["event"] == "flow-step"]
    assert ("2 archive", "IMG_0000.jpg") in steps and len(steps) == 25
    assert FlowLedger(store, "relay").run().state == "done"


def test_each_batch_goes_to_the_phone_only_once_the_one_before_is_confirmed(
        tmp_path: Path, store: RedisStateStore) -> None:
    # Given a deliver step of 2 files per batch into a library the phone syncs
    settings = settings_for(tmp_path, RELAY[:2], phone=True)
    photos(tmp_path / "icloud", 5)
    phone = PhoneDouble(tmp_path / "synced")
    # When it runs
    run_flow(settings, store, client_for=phone)
    # Then at each delivery check the phone's folder held one more batch, never more
    assert [len(names) for names in phone.scans] == [2, 4, 5]
    assert phone.scans[0] == ["IMG_0000.jpg", "IMG_0001.jpg"]


def test_a_file_the_phone_never_gets_fails_and_the_others_go_on(
        tmp_path: Path, store: RedisStateStore) -> None:
    # Given a phone that never receives IMG_0001.jpg
    settings = settings_for(tmp_path, RELAY[:2], phone=True)
    made = photos(tmp_path / "icloud", 3)
    phone = PhoneDouble(tmp_path / "synced", never={"IMG_0001.jpg"})
    # When the flow runs
    run_flow(settings, store, client_for=phone)
    # Then the others were archived, that one stays in the phone's folder, on the failed list
    assert set(tree(tmp_path / "nas")) == {"IMG_0000.jpg", "IMG_0002.jpg"}
    assert tree(tmp_path / "synced" / "pixel") == made
    failures = store.failures()
    assert [(f["source"], f["path"]) for f in failures] == [("flow:relay", "IMG_0001.jpg")]
    assert "not confirmed on the device within 1 s" in failures[0]["reason"]
    assert FlowLedger(store, "relay").held() is None


def test_a_batch_the_phone_gets_none_of_holds_the_flow(tmp_path: Path,
                                                       store: RedisStateStore) -> None:
    # Given a phone that receives nothing
    settings = settings_for(tmp_path, RELAY[:2], phone=True)
    photos(tmp_path / "icloud", 4)
    phone = PhoneDouble(tmp_path / "synced", never={f"IMG_{i:04d}.jpg" for i in range(4)})
    # When the flow runs
    outcomes = run_flow(settings, store, client_for=phone)
    # Then the first batch held the flow: the second batch was never sent to the phone
    assert len(outcomes) == 1 and "every file of the batch failed (2)" in outcomes[0].held
    assert len(tree(tmp_path / "synced" / "pixel")) == 2
    assert len(tree(tmp_path / "icloud")) == 2
    held = FlowLedger(store, "relay").held()
    assert held is not None and held.step == 1 and "not confirmed" in held.reason
    assert FlowLedger(store, "relay").run().state == "held"


def test_an_archive_that_is_not_there_holds_the_flow_and_releases_nothing(
        tmp_path: Path, store: RedisStateStore) -> None:
    # Given a relay whose archive folder is a NAS share that is not mounted
    steps = [{"kind": "archive", "to": "nas-share"}, {"kind": "release", "to": "icloud-delete"}]
    settings = settings_for(tmp_path, steps)
    made = photos(tmp_path / "icloud", 3)
    # When the flow runs
    outcomes = run_flow(settings, store)
    # Then it is held at step 1 with the reason, nothing was written or released
    assert [o.step for o in outcomes] == [1]
    held = FlowLedger(store, "relay").held()
    assert held is not None and "nas-share does not exist (not mounted?)" in held.reason
    assert tree(tmp_path / "icloud") == made and not (tmp_path / "nas-share").exists()
    assert not (tmp_path / "icloud-delete").exists()
    # When the share is back and the flow is run again
    (tmp_path / "nas-share").mkdir()
    (tmp_path / "icloud-delete").mkdir()
    run_flow(settings, store)
    # Then the hold is lifted and every file went through
    assert FlowLedger(store, "relay").held() is None
    assert tree(tmp_path / "nas-share") == made == tree(tmp_path / "icloud-delete")


def test_a_file_changed_after_it_entered_fails_and_is_kept(tmp_path: Path,
                                                           store: RedisStateStore) -> None:
    # Given a flow whose first step ran, and one file rewritten before the release
    steps = [{"kind": "archive", "library": "nas"}, {"kind": "release", "to": "icloud-delete"}]
    settings = settings_for(tmp_path, steps)
    (tmp_path / "icloud-delete").mkdir()
    made = photos(tmp_path / "icloud", 3)
    run_flow(settings, store, end=1)
    (tmp_path / "icloud" / "IMG_0002.jpg").write_bytes(b"edited on the phone")
    # When step 2 runs
    run_flow(settings, store, start=2)
    # Then the other two were released and the changed one is kept where it was, failed
    assert set(tree(tmp_path / "icloud-delete")) == {"IMG_0000.jpg", "IMG_0001.jpg"}
    assert tree(tmp_path / "icloud") == {"IMG_0002.jpg": b"edited on the phone"}
    assert tree(tmp_path / "nas")["IMG_0002.jpg"] == made["IMG_0002.jpg"]
    failed = FlowLedger(store, "relay").files()["IMG_0002.jpg"]
    assert failed.done == 1 and "content changed since it entered the flow" in failed.failed


def test_a_file_that_failed_a_step_never_reaches_a_later_one(tmp_path: Path,
                                                            store: RedisStateStore) -> None:
    # Given a compress step that fails for one file, before the release
    steps = [{"kind": "archive", "library": "nas"}, {"kind": "compress", "to": "small"},
             {"kind": "release", "to": "icloud-delete"}]
    settings = settings_for(tmp_path, steps)
    for name in ("small", "icloud-delete"):
        (tmp_path / name).mkdir()
    photos(tmp_path / "icloud", 2)
    # When the flow runs
    run_flow(settings, store, compressor=StubCompressor(failing={"IMG_0000.jpg"}))
    # Then that file is still in the download folder (not released), the other is released
    assert set(tree(tmp_path / "icloud")) == {"IMG_0000.jpg"}
    assert set(tree(tmp_path / "icloud-delete")) == {"IMG_0001.jpg"}
    assert "the stub was told to fail it" in store.failures()[0]["reason"]


def test_a_dry_run_changes_nothing(tmp_path: Path, store: RedisStateStore,
                                   fake_redis: fakeredis.FakeRedis) -> None:
    # Given the relay with five photos, two of which already went through the first step
    settings = settings_for(tmp_path, RELAY)
    photos(tmp_path / "icloud", 5)
    run_flow(settings, store, end=1)  # batches of 2 …
    ledger = FlowLedger(store, "relay")
    first = sorted(ledger.files())[:2]
    for rel in sorted(ledger.files())[2:]:  # … of which only the first went through
        ledger.put(ledger.files()[rel].evolve(done=0))
    before = tree(tmp_path)
    keys = {k: fake_redis.dump(k) for k in fake_redis.keys("*")}
    # When a dry run of the whole flow is asked for
    lines = dry_run(settings, ledger, settings.flows["relay"], 1, 5)
    # Then it says what each step would do …
    text = "\n".join(lines)
    assert "step 1 deliver" in text and "3 file(s) in 2 batches" in text
    assert f"step 2 archive: verified copy to library nas ({tmp_path / 'nas'})" in text
    assert any(line.startswith("step 2 archive") and "5 file(s)" in line for line in lines)
    assert all(name not in lines[2] for name in first)
    # … and nothing changed: not a byte on disk, not a key in Redis
    assert tree(tmp_path) == before
    assert {k: fake_redis.dump(k) for k in fake_redis.keys("*")} == keys


class BrokenCompressor:
    """A compressor with a bug of its own: not an error of ours, nothing we could foresee."""

    def compress(self, src: Path, dest_dir: Path, options: object) -> object:
        raise RuntimeError("ffmpeg wrapper crashed")


def test_an_unforeseen_error_holds_the_flow_so_a_waiting_run_ends(
        tmp_path: Path, store: RedisStateStore) -> None:
    # Given a compress step whose compressor fails in a way no step expects
    settings = settings_for(tmp_path, [{"kind": "compress", "to": "small"}])
    (tmp_path / "small").mkdir()
    made = photos(tmp_path / "icloud", 2)
    # When the flow runs
    with pytest.raises(RuntimeError, match="ffmpeg wrapper crashed"):
        run_flow(settings, store, compressor=BrokenCompressor())
    # Then the error still reaches the worker's log, and the flow is held with it (the
    # progress display of `--run` ends on the hold instead of waiting for ever)
    ledger = FlowLedger(store, "relay")
    held = ledger.held()
    assert held is not None and "stopped by RuntimeError: ffmpeg wrapper crashed" in held.reason
    assert ledger.run().state == "held"
    assert tree(tmp_path / "icloud") == made
