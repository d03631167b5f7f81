"""Beat does not reconcile a source a [flows.NAME] takes: its files are the flow's alone."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from beat.schedule import beat_schedule
from shared.config import build_settings


@pytest.mark.parametrize("flow", [{"source": "icloud"}, {"from": "icloud"}],
                         ids=["source", "from"])
def test_beat_reconciles_no_source_fed_to_a_flow(tmp_path: Path, flow: dict[str, str]) -> None:
    # Given source icloud taken by flow relay (by name, or by its folder), inbox by no flow,
    # both with a schedule of their own, feeding libraries of their own
    for name in ("icloud", "inbox", "lib", "photos", "nas"):
        (tmp_path / name).mkdir()
    raw = {
        "sources": {"icloud": {"path": str(tmp_path / "icloud"), "library": "photos"},
                    "inbox": {"path": str(tmp_path / "inbox"), "library": "main"}},
        "libraries": {"main": {"path": str(tmp_path / "lib")},
                      "photos": {"path": str(tmp_path / "photos")}},
        "schedules": {"icloud": {"every": "10m"}, "inbox": {"every": "30m"}},
        "flows": {"relay": {**flow, "steps": [{"kind": "archive", "to": str(tmp_path / "nas")}]}},
    }
    # When beat builds its schedule
    schedule = beat_schedule(build_settings(raw, None, tmp_path))
    # Then inbox is reconciled (and its library indexed) on its schedule, icloud not at all
    assert schedule["reconcile-inbox"]["args"] == ["inbox"]
    assert schedule["reconcile-inbox"]["schedule"] == dt.timedelta(minutes=30)
    assert "index-main" in schedule
    assert not [name for name, entry in schedule.items()
                if entry["task"] in ("mediacourier.reconcile", "mediacourier.index")
                and entry["args"] in (["icloud"], ["photos"])]
