"""Which job needs a delivery check, refusing destinations outside the library, and the journal
entries it leaves (fast: fakeredis; the real path is in tests/e2e/test_syncthing_delivery.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.config import build_settings
from shared.delivery.check import DeliveryReport, DeliveryState, DeviceDelivery
from shared.delivery.jobs import delivery_target, record_delivery
from shared.delivery.syncthing import Completion
from shared.errors import PathRefused
from shared.jobs import FileJob, Outcome
from shared.state.store import RedisStateStore
from tests.shared.config.test_config_syncthing import DEVICE, raw_config


@pytest.fixture
def settings(tmp_path: Path):
    return build_settings(raw_config(tmp_path), tmp_path / "mc.toml", tmp_path)


def ingested(dest: str) -> FileJob:
    return FileJob("inbox", "a.jpg", outcome=Outcome.INGESTED, dest_path=dest)


def test_an_ingested_file_is_named_relative_to_the_syncthing_folder(settings) -> None:
    library, config, names = delivery_target(settings, ingested("2024/a.jpg"))
    assert (library.name, config.name, names) == ("photos", "phone", ["library/2024/a.jpg"])


@pytest.mark.parametrize("outcome", [Outcome.DUPLICATE, Outcome.FAILED, Outcome.SKIPPED])
def test_files_that_brought_nothing_new_need_no_check(settings, outcome: Outcome) -> None:
    job = FileJob("inbox", "a.jpg", outcome=outcome, dest_path="2024/a.jpg")
    assert delivery_target(settings, job) is None


@pytest.mark.parametrize("dest", ["../../etc/passwd", "/etc/passwd", "2024/../../x.jpg"])
def test_a_destination_outside_the_library_is_refused(settings, dest: str) -> None:
    with pytest.raises(PathRefused, match="outside library 'photos'"):
        delivery_target(settings, ingested(dest))


def test_the_journal_says_delivered_or_pending_with_the_reason(settings, fake_redis) -> None:
    store = RedisStateStore(fake_redis, "mc")
    library, config, names = delivery_target(settings, ingested("2024/a.jpg"))
    away = DeliveryReport((DeviceDelivery(names[0], DEVICE, DeliveryState.DISCONNECTED),),
                          {DEVICE: Completion(100, 0, 0)})
    there = DeliveryReport((DeviceDelivery(names[0], DEVICE, DeliveryState.DELIVERED),),
                           {DEVICE: Completion(100, 0, 0)})
    record_delivery(store, ingested("2024/a.jpg"), library, config, away, 3.0)
    record_delivery(store, ingested("2024/a.jpg"), library, config, there, 9.0)
    pending, delivered = store.read_journal()
    assert pending["event"] == "delivery-pending"
    assert pending["reason"] == f"library/2024/a.jpg on {DEVICE[:7]}: device disconnected"
    assert (delivered["event"], delivered["dest"], delivered["syncthing"]) == (
        "delivered", "2024/a.jpg", "phone")
    assert store.counters() == {"delivery-pending": 1, "delivered": 1}
