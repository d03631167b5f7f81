"""`[scrub.NAME]`, `[notify.NAME]` and a mirror's `conflicts`: read strictly, one line for a
mistake; and the beat entries they give."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from beat.schedule import beat_schedule
from shared.config import build_settings
from shared.errors import ConfigError


def raw(tmp_path: Path, **tables: Any) -> dict[str, Any]:
    (tmp_path / "lib").mkdir(exist_ok=True)
    (tmp_path / "usb").mkdir(exist_ok=True)
    return {"sources": {}, "libraries": {"photos": {"path": str(tmp_path / "lib")}},
            "targets": {"usb": {"kind": "local", "root": str(tmp_path / "usb")}}, **tables}


def load(tmp_path: Path, **tables: Any):
    return build_settings(raw(tmp_path, **tables), tmp_path / "mc.toml", tmp_path)


def test_scrub_and_notify_tables_are_read_and_scheduled(tmp_path: Path) -> None:
    # Given a nightly scrub at 10 MB/s and a notifier for two events
    settings = load(tmp_path, scrub={"photos": {"schedule": "0 2 * * *", "rate": "10MB/s",
                                                "repair": True}},
                    notify={"phone": {"urls": ["ntfy://mediacourier"],
                                      "events": ["holds", "scrub"], "min_interval": "30m"}})
    # Then the settings hold them, and beat runs the scrub nightly and the notifier every minute
    scrub, notify = settings.scrubs["photos"], settings.notify["phone"]
    assert (scrub.library, scrub.rate, scrub.cron, scrub.repair) == (
        "photos", 10_000_000, "0 2 * * *", True)
    assert (notify.events, notify.min_interval) == (("holds", "scrub"), 1800.0)
    entries = beat_schedule(settings)
    assert entries["scrub-photos"]["task"] == "mediacourier.scrub"
    assert entries["scrub-photos"]["args"] == ["photos"]
    assert entries["notify"]["schedule"] == dt.timedelta(seconds=60)
    # and the Apprise URLs, which carry tokens, are not in the settings' repr
    assert "ntfy://" not in repr(settings)


@pytest.mark.parametrize(("tables", "message"), [
    ({"scrub": {"nas": {}}},
     r"mc.toml: \[scrub.nas\] library: no library named 'nas'; configured: photos"),
    ({"scrub": {"photos": {"rate": "fast"}}},
     r"\[scrub.photos\] rate: \"fast\" is not a rate"),
    ({"scrub": {"photos": {"schedule": "nightly"}}},
     r"\[scrub.photos\] schedule: \"nightly\" is not a valid five-field cron expression"),
    ({"notify": {"phone": {"urls": []}}},
     r"\[notify.phone\] urls: give at least one Apprise URL"),
    ({"notify": {"phone": {"urls": ["json://x"], "events": ["everything"]}}},
     r"\[notify.phone\] events: \"everything\" is not one of failures, holds, conflicts"),
    ({"notify": {"phone": {"urls": ["json://x"], "summary_at": "8pm"}}},
     r"\[notify.phone\] summary_at: \"8pm\" is not a time of day"),
    ({"mirrors": {"m": {"library": "photos", "target": "usb", "conflicts": "newest"}}},
     r"\[mirrors.m\] conflicts: \"newest\" is not one of report, keep_master, keep_backup"),
])
def test_a_mistake_is_one_line_naming_the_key(tmp_path: Path, tables: dict[str, Any],
                                              message: str) -> None:
    # Given a table with one mistake, When loaded, Then one line names the table, key, reason
    with pytest.raises(ConfigError, match=message) as caught:
        load(tmp_path, **tables)
    assert "\n" not in str(caught.value)


def test_a_mirror_reports_conflicts_unless_told_otherwise(tmp_path: Path) -> None:
    # Given two mirrors, one with a policy, When loaded, Then the other reports
    settings = load(tmp_path, mirrors={
        "a": {"library": "photos", "target": "usb"},
        "b": {"library": "photos", "target": "usb", "conflicts": "keep_both"}})
    assert (settings.mirrors["a"].conflicts, settings.mirrors["b"].conflicts) == (
        "report", "keep_both")
