"""The Syncthing delivery check against two REAL Syncthing instances on loopback.

Node `a` shares the library folder with node `b` (the "phone"); see tests/fixtures/syncthing.py.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from shared.config.syncthing import SyncthingConfig
from shared.delivery.check import DeliveryState, folder_relative, wait_for_delivery
from shared.delivery.syncthing import SyncthingClient, SyncthingRefused
from shared.errors import PathRefused
from tests.fixtures.syncthing import SyncthingPair


def config_for(pair: SyncthingPair, key_file: Path) -> SyncthingConfig:
    key_file.write_text(pair.a.api_key + "\n")
    return SyncthingConfig(name="phone", url=pair.a.url, folder_id=pair.folder_id,
                           folder_path=pair.a.folder, devices=(pair.b.device_id,),
                           api_key_file=str(key_file), poll_seconds=0.2)


def put_file(folder: Path, rel: str, size: int) -> tuple[str, bytes]:
    path = folder / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    data = os.urandom(size)
    path.write_bytes(data)
    return rel, data


@pytest.fixture
def setup(syncthing_pair: SyncthingPair, tmp_path: Path):
    syncthing_pair.restart_b()  # whatever an earlier test did to it
    config = config_for(syncthing_pair, tmp_path / "syncthing.key")
    return syncthing_pair, config, SyncthingClient(config.url, config.api_key())


def test_a_file_is_reported_delivered_once_it_is_on_the_other_device(setup):
    pair, config, client = setup
    # Given two new files in a subfolder of the shared folder (names needing URL encoding)
    files = [put_file(pair.a.folder, f"2024/07 Plage & été/délivré #{n}.jpg", 150_000)
             for n in range(2)]
    names = [folder_relative(config, pair.a.folder / rel) for rel, _ in files]
    # When delivery is checked
    report = wait_for_delivery(client, config, names, timeout=30)
    # Then both are reported delivered to the phone, whose folder holds the same bytes
    assert report.delivered and report.complete, report.summary()
    assert {(i.file, i.device, i.state) for i in report.items} == {
        (name, pair.b.device_id, DeliveryState.DELIVERED) for name in names}
    for rel, data in files:
        assert (pair.b.folder / rel).read_bytes() == data


def test_a_stopped_device_is_reported_disconnected_within_the_bound(setup):
    pair, config, client = setup
    # Given the phone is switched off
    pair.b.stop()
    rel, data = put_file(pair.a.folder, "2024/08/while-away.jpg", 50_000)
    # When delivery is checked with a 3 s bound
    started = time.monotonic()
    report = wait_for_delivery(client, config, [rel], timeout=3)
    # Then it says "device disconnected" within the bound, and the file is not delivered
    assert time.monotonic() - started < 8
    assert not report.delivered
    assert [i.state for i in report.items] == [DeliveryState.DISCONNECTED]
    assert "device disconnected" in report.summary()
    # And once the phone is back, the same check reports it delivered
    pair.restart_b()
    report = wait_for_delivery(client, config, [rel], timeout=30, scan=False)
    assert report.delivered, report.summary()
    assert (pair.b.folder / rel).read_bytes() == data


def test_a_slow_transfer_is_reported_still_syncing_with_items_to_go(setup):
    pair, config, client = setup
    # Given a transfer throttled to 32 KiB/s, so a 2 MB file takes about a minute
    pair.set_send_limit(32)
    try:
        rel, data = put_file(pair.a.folder, "2024/09/big.mov", 2_000_000)
        report = wait_for_delivery(client, config, [rel], timeout=1.5)
        # Then it is reported still syncing, with the phone needing at least that item
        assert [i.state for i in report.items] == [DeliveryState.SYNCING], report.summary()
        assert report.items[0].need_items >= 1
        assert "still syncing" in report.summary()
    finally:
        pair.set_send_limit(0)
    # And with the throttle lifted it arrives and is reported delivered
    report = wait_for_delivery(client, config, [rel], timeout=40, scan=False)
    assert report.delivered, report.summary()
    assert (pair.b.folder / rel).read_bytes() == data


def test_a_file_outside_the_folder_index_is_reported_not_in_folder(setup):
    pair, config, client = setup
    report = wait_for_delivery(client, config, ["2024/never-written.jpg"], timeout=0.5)
    assert [i.state for i in report.items] == [DeliveryState.NOT_IN_FOLDER]


def test_a_path_outside_the_folder_is_refused(setup, tmp_path: Path):
    _, config, _ = setup
    with pytest.raises(PathRefused, match="outside Syncthing folder"):
        folder_relative(config, tmp_path / "elsewhere.jpg")
    with pytest.raises(PathRefused):
        folder_relative(config, config.folder_path / ".." / "escape.jpg")


def test_a_wrong_api_key_is_refused_with_a_clear_message(setup):
    pair, config, _ = setup
    with pytest.raises(SyncthingRefused, match="refused the API key"):
        SyncthingClient(config.url, "not-the-key").ping()
