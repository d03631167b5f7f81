"""`mediacourier flow`: the steps listed, a wrong range or name refused in one line, and the
status of a held flow with its failed files, in `flow --status` and in `status`."""

from __future__ import annotations

import io
from pathlib import Path

import fakeredis
import pytest
from rich.console import Console

from shared.flow import FlowFile, FlowLedger
from shared.state import RedisStateStore
from tests.shared.flow.helpers import settings_for
from workers import exit_codes
from workers.cli import main
from workers.flow_cli import print_status as print_flow_status
from workers.report import print_status

CONFIG = """
data_dir = "data"
redis_url = "redis://127.0.0.1:1/0"

[sources.inbox]
path = "inbox"
library = "nas"

[libraries.nas]
path = "nas"

[flows.relay]
from = "icloud"

[[flows.relay.steps]]
kind = "archive"
library = "nas"

[[flows.relay.steps]]
kind = "release"
to = "icloud-delete"
"""


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("inbox", "nas"):
        (tmp_path / name).mkdir()
    path = tmp_path / "mediacourier.toml"
    path.write_text(CONFIG)
    monkeypatch.setenv("MEDIACOURIER_CONFIG", str(path))  # main() sets it; restored after
    return path


def test_list_steps_numbers_each_step_and_says_what_it_does(
        config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # When the steps are listed (no Redis needed: the configured one is not there)
    code = main(["--config", str(config), "flow", "relay", "--list-steps"])
    # Then each is numbered with what it does and where
    out = capsys.readouterr().out
    assert code == exit_codes.OK
    assert f"1. archive: verified copy to library nas ({config.parent / 'nas'})" in out
    assert f"2. release: release (move, ready to delete elsewhere) to " \
           f"{config.parent / 'icloud-delete'}" in out


@pytest.mark.parametrize(("argv", "message"), [
    (["flow", "relay", "--run", "--start", "2", "--end", "3"],
     "flow 'relay' has steps 1 to 2: --start 2 --end 3 is not a range of them"),
    (["flow", "relya", "--status"], "no flow named 'relya'; configured: relay"),
])
def test_a_wrong_range_or_name_is_one_line_and_exit_2(
        config: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    code = main(["--config", str(config), *argv])
    err = capsys.readouterr().err
    assert code == exit_codes.CONFIG
    assert err.strip() == f"mediacourier: {message}"


def test_a_held_flow_and_its_failed_files_are_shown_by_both_status_commands(
        tmp_path: Path, fake_redis: fakeredis.FakeRedis) -> None:
    # Given a flow held at its archive step, with one file failed at its first step
    settings = settings_for(tmp_path, [{"kind": "archive", "library": "nas"}])
    store = RedisStateStore(fake_redis, "mc")
    ledger = FlowLedger(store, "relay")
    ledger.admit([FlowFile("IMG_1.jpg", str(tmp_path / "icloud" / "IMG_1.jpg"))])
    ledger.fail(ledger.files()["IMG_1.jpg"], "1 archive", "its content changed")
    ledger.hold(1, "1 archive", "archive folder /mnt/nas does not exist (not mounted?)")
    # When `flow relay --status` and `status` print
    flow_out = Console(file=io.StringIO(), width=200)
    print_flow_status(flow_out, ledger, settings.flows["relay"])
    overall = Console(file=io.StringIO(), width=200)
    print_status(overall, store, {}, [])
    # Then both show the hold and its reason; the flow's status lists the failed file
    text = flow_out.file.getvalue()
    assert "HELD since" in text and "/mnt/nas does not exist (not mounted?)" in text
    assert "failed at step 1: IMG_1.jpg: its content changed" in text
    assert "1 archive        0 reached      0 waiting      1 failed" in text
    status = overall.file.getvalue()
    assert "flow relay" in status and "HELD" in status and "/mnt/nas does not exist" in status
    assert "flow:relay:IMG_1.jpg" in status


def test_brackets_in_a_folder_name_are_printed_as_they_are(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    # Given a flow releasing into a folder whose name holds brackets (as "[syncthing.pixel]")
    for name in ("inbox", "nas"):
        (tmp_path / name).mkdir()
    path = tmp_path / "mediacourier.toml"
    path.write_text(CONFIG.replace('to = "icloud-delete"', 'to = "delete [bold]later[/bold]"'))
    monkeypatch.setenv("MEDIACOURIER_CONFIG", str(path))
    # When the steps are listed, Then the name is not read as markup
    assert main(["--config", str(path), "flow", "relay", "--list-steps"]) == exit_codes.OK
    assert f"{tmp_path / 'delete [bold]later[/bold]'}" in capsys.readouterr().out
