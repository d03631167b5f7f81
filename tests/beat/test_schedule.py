"""Beat entries from the configured schedules: one reconcile per source, expiring in time."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from celery.schedules import crontab

from beat.schedule import beat_schedule, cron_period_seconds, crontab_of, entry_for
from shared.config import Schedule, build_settings


def test_every_gives_a_timedelta_and_expires_before_the_next_run() -> None:
    # Given a source scanned every 15 minutes
    entry = entry_for(Schedule(source="phone", every_seconds=900.0))
    # Then beat runs mediacourier.reconcile for that source every 15 minutes
    assert entry["task"] == "mediacourier.reconcile"
    assert entry["args"] == ["phone"]
    assert entry["schedule"] == dt.timedelta(minutes=15)
    # And a run not started before the next is due is dropped
    assert 0 < entry["options"]["expires"] < 900


def test_cron_fields_are_in_cron_order() -> None:
    # Given '0 3 * * 1': minute 0, hour 3, any day of month, any month, Monday
    schedule = crontab_of("0 3 * * 1")
    # Then the crontab has each field where it belongs
    assert isinstance(schedule, crontab)
    assert schedule.minute == {0}
    assert schedule.hour == {3}
    assert schedule.day_of_week == {1}
    assert schedule.day_of_month == set(range(1, 32))
    assert schedule.month_of_year == set(range(1, 13))


def test_cron_fields_with_day_of_month_and_month() -> None:
    schedule = crontab_of("15 4 10 6 *")
    assert (schedule.minute, schedule.hour, schedule.day_of_month, schedule.month_of_year) == (
        {15}, {4}, {10}, {6})
    assert schedule.day_of_week == set(range(7))


def test_weekly_cron_entry_expires_within_the_week() -> None:
    entry = entry_for(Schedule(source="camera", cron="0 3 * * 1"))
    assert entry["args"] == ["camera"]
    assert entry["schedule"] == crontab_of("0 3 * * 1")
    week = 7 * 86400
    assert cron_period_seconds("0 3 * * 1") == week
    assert 0 < entry["options"]["expires"] < week


@pytest.mark.parametrize(("expression", "period"),
                         [("*/5 * * * *", 300), ("0 * * * *", 3600), ("30 2 * * *", 86400)])
def test_regular_cron_periods(expression: str, period: float) -> None:
    assert cron_period_seconds(expression) == period
    assert entry_for(Schedule(source="s", cron=expression))["options"]["expires"] < period


@pytest.mark.parametrize(("expression", "shortest_gap"),
                         [("0 0,6 * * *", 6 * 3600), ("0 0 1,2 * *", 86400)])
def test_irregular_cron_expires_before_its_shortest_gap(expression: str,
                                                        shortest_gap: float) -> None:
    # Given a cron whose runs are not evenly spaced (midnight and 6 am; the 1st and the 2nd)
    entry = entry_for(Schedule(source="s", cron=expression))
    # Then a delayed run still expires before the next one is due, whichever gap it falls in
    assert entry["options"]["expires"] < shortest_gap


def test_beat_schedule_has_one_entry_per_source_hourly_by_default(tmp_path: Path) -> None:
    for name in ("a", "b", "c", "lib"):
        (tmp_path / name).mkdir()
    raw = {
        "sources": {n: {"path": str(tmp_path / n), "library": "lib"} for n in ("a", "b", "c")},
        "libraries": {"lib": {"path": str(tmp_path / "lib")}},
        "schedules": {"a": {"every": "1h"}, "b": {"cron": "0 3 * * 1"}},
    }
    schedule = beat_schedule(build_settings(raw, None, tmp_path))
    # Then every source has a reconcile: the configured ones, and hourly for the rest (beside
    # the in-flight sweeper, which is always there, and the index of their library)
    assert set(schedule) == {"reconcile-a", "reconcile-b", "reconcile-c", "sweep-inflight",
                             "index-lib"}
    assert schedule["index-lib"]["task"] == "mediacourier.index"
    assert schedule["reconcile-c"]["schedule"] == dt.timedelta(hours=1)
    assert schedule["reconcile-a"]["schedule"] == dt.timedelta(hours=1)
    assert schedule["reconcile-a"]["args"] == ["a"]
    assert schedule["reconcile-b"]["schedule"].hour == {3}
    assert schedule["reconcile-b"]["args"] == ["b"]


@pytest.mark.parametrize(("timeout", "period"), [(None, 15.0), (600, 60.0), (4, 2.0)])
def test_the_in_flight_sweeper_is_always_scheduled(tmp_path: Path, timeout: int | None,
                                                   period: float) -> None:
    # Given a configuration with no source and no mirror (and an inflight_timeout, or not)
    raw = {} if timeout is None else {"inflight_timeout": timeout}
    schedule = beat_schedule(build_settings(raw, None, tmp_path))
    # Then beat still runs the sweeper: every minute, or every half inflight_timeout if shorter
    entry = schedule["sweep-inflight"]
    assert entry["task"] == "mediacourier.sweep_inflight" and entry["args"] == []
    assert entry["schedule"] == dt.timedelta(seconds=period)
    assert 0 < entry["options"]["expires"] < period


def test_a_library_on_an_ssh_target_is_indexed_on_its_sources_schedule(tmp_path: Path) -> None:
    # Given a source feeding a library on an SSH target, reconciled every 30 minutes
    (tmp_path / "cam").mkdir()
    for name in ("key", "known_hosts"):
        (tmp_path / name).write_text("")
    raw = {
        "sources": {"cam": {"path": str(tmp_path / "cam"), "library": "nas_lib"}},
        "libraries": {"nas_lib": {"path": "photo", "target": "nas"}},
        "targets": {"nas": {"kind": "sftp", "host": "nas.lan", "user": "mc", "root": "/volume1",
                            "key_file": str(tmp_path / "key"),
                            "known_hosts": str(tmp_path / "known_hosts")}},
        "schedules": {"cam": {"every": "30m"}},
    }
    # When beat builds its schedule
    schedule = beat_schedule(build_settings(raw, None, tmp_path))
    # Then the target library's index is kept current on that schedule too
    assert schedule["index-nas_lib"]["task"] == "mediacourier.index"
    assert schedule["index-nas_lib"]["args"] == ["nas_lib"]
    assert schedule["index-nas_lib"]["schedule"] == dt.timedelta(minutes=30)
