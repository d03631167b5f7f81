"""`mediacourier doctor` lines for a Syncthing delivery check, against two real Syncthing nodes."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.harness import Deployment
from tests.fixtures.syncthing import SyncthingPair
from tests.workers.cli_helpers import cli, configure
from tests.workers.test_cli import doctor_lines

UNKNOWN_DEVICE = "AAAAAAA-BBBBBBB-CCCCCCC-DDDDDDD-EEEEEEE-FFFFFFF-GGGGGGG-HHHHHHH"


def syncthing_table(pair: SyncthingPair, key_file: Path, devices: list[str]) -> dict:
    return {"url": pair.a.url, "api_key_file": str(key_file), "folder_id": pair.folder_id,
            "folder_path": str(pair.a.folder), "devices": devices}


def test_doctor_tells_api_key_folder_and_each_device(dep: Deployment,
                                                     syncthing_pair: SyncthingPair) -> None:
    pair = syncthing_pair
    pair.restart_b()
    key_file = dep.root / "syncthing.key"
    key_file.write_text(pair.a.api_key)
    # Given the phone and an ID Syncthing does not know
    configure(dep, **{"syncthing.phone": syncthing_table(pair, key_file,
                                                         [pair.b.device_id, UNKNOWN_DEVICE])})
    # When doctor runs
    done = cli(dep.env(), "doctor")
    lines = doctor_lines(done.stdout)
    # Then API, key, folder and the phone are ok (connected), the unknown ID fails, exit 1
    assert done.returncode == 1, done.stdout + done.stderr
    assert lines["syncthing phone api"][0] == "ok"
    assert lines["syncthing phone key"] == ("ok", "API key accepted")
    assert lines["syncthing phone folder"][0] == "ok"
    assert pair.folder_id in lines["syncthing phone folder"][1]
    phone = lines[f"syncthing phone device {pair.b.device_id[:7]}"]
    assert phone[0] == "ok" and "connected (" in phone[1]
    unknown = lines["syncthing phone device AAAAAAA"]
    assert unknown[0] == "FAIL" and "not a device of this Syncthing" in unknown[1]


def test_doctor_tells_a_refused_key_and_a_disconnected_device(dep: Deployment,
                                                              syncthing_pair: SyncthingPair
                                                              ) -> None:
    pair = syncthing_pair
    key_file = dep.root / "syncthing.key"
    key_file.write_text("not-the-key")
    good_key = dep.root / "good.key"
    good_key.write_text(pair.a.api_key)
    configure(dep, **{"syncthing.bad": syncthing_table(pair, key_file, [pair.b.device_id]),
                      "syncthing.phone": syncthing_table(pair, good_key, [pair.b.device_id])})
    # Given the phone is switched off
    pair.b.stop()
    try:
        done = cli(dep.env(), "doctor")
    finally:
        pair.restart_b()
    lines = doctor_lines(done.stdout)
    # Then the wrong key is one clear FAIL line, and the phone is known but not connected
    assert lines["syncthing bad api"][0] == "ok"
    assert lines["syncthing bad key"][0] == "FAIL"
    assert "refused the API key" in lines["syncthing bad key"][1]
    assert "not-the-key" not in done.stdout
    phone = lines[f"syncthing phone device {pair.b.device_id[:7]}"]
    assert phone == ("ok", "known, NOT connected now: deliveries wait until it is back")
