"""`[mirrors.NAME]` and local `[targets.NAME]` tables: parsed strictly, errors name the key;
beat schedules the mirrors that have a schedule."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from celery.schedules import crontab

from beat.schedule import beat_schedule
from shared.config import Settings, build_settings
from shared.errors import ConfigError, TargetUnreachable
from shared.remote.targets import open_destination
from shared.transfer.destinations import LocalDestination


def settings_with(root: Path, mirrors: dict[str, Any], targets: dict[str, Any] | None = None,
                  ) -> Settings:
    for folder in ("in", "lib", "other"):
        (root / folder).mkdir(exist_ok=True)
    raw = {"sources": {"in": {"path": "in", "library": "lib"}},
           "libraries": {"lib": {"path": "lib"}},
           "targets": {"nas": {"kind": "local", "root": "nas", "parallel": 3}}
           if targets is None else targets,
           "mirrors": mirrors}
    return build_settings(raw, root / "mediacourier.toml", root)


def test_a_full_mirror_table(tmp_path: Path) -> None:
    # Given a mirror of a library with every key set
    settings = settings_with(tmp_path, {"nightly": {
        "library": "lib", "target": "nas", "exclude": ["*.tmp"], "max_delete": 7,
        "max_delete_share": 0.25, "schedule": "0 3 * * *", "modify_window": "1s"}})
    mirror = settings.mirrors["nightly"]
    # Then every value is read, the source root is the library's folder
    assert (mirror.target, mirror.exclude, mirror.max_delete, mirror.max_delete_share) == (
        "nas", ("*.tmp",), 7, 0.25)
    assert mirror.cron == "0 3 * * *" and mirror.every_seconds is None
    assert mirror.modify_window == 1.0
    assert settings.mirror_root(mirror) == tmp_path / "lib"
    # And its target opens as a local destination under the configured root, once it exists
    with pytest.raises(TargetUnreachable, match=r"targets.nas: folder .* \(not mounted\?\)"):
        open_destination(settings, "nas")
    assert not (tmp_path / "nas").exists()
    (tmp_path / "nas").mkdir()
    destination = open_destination(settings, "nas")
    assert isinstance(destination, LocalDestination) and destination.root == tmp_path / "nas"
    assert settings.targets["nas"].parallel == 3


def test_defaults_and_source_path(tmp_path: Path) -> None:
    mirror = settings_with(tmp_path, {"m": {"source_path": "other", "target": "nas"}}).mirrors["m"]
    assert mirror.source_path == tmp_path / "other" and mirror.library is None
    assert (mirror.max_delete, mirror.max_delete_share, mirror.modify_window) == (50, 0.1, 2.0)


@pytest.mark.parametrize(("table", "message"), [
    ({"target": "nas"}, "[mirrors.m]: give exactly one of 'library' or 'source_path'"),
    ({"library": "lib", "source_path": "other", "target": "nas"}, "exactly one of"),
    ({"library": "lib"}, "[mirrors.m]: 'target' is required"),
    ({"library": "nope", "target": "nas"}, '[mirrors.m] library: no library named "nope"'),
    ({"library": "lib", "target": "nope"}, '[mirrors.m] target: no target named "nope"'),
    ({"source_path": "missing", "target": "nas"}, "[mirrors.m] source_path: folder"),
    ({"library": "lib", "target": "nas", "schedule": "every night"}, "not a valid five-field"),
    ({"library": "lib", "target": "nas", "schedule": "0 3 * * *", "every": "1h"},
     "at most one of 'schedule' or 'every'"),
    ({"library": "lib", "target": "nas", "max_delete_share": 2},
     "[mirrors.m] max_delete_share: 2 is out of range: must be between 0 and 1"),
    ({"library": "lib", "target": "nas", "max_delete": "10"},
     '[mirrors.m] max_delete: expected an integer, got "10"'),
    ({"library": "lib", "target": "nas", "typo": 1}, "[mirrors.m] typo: unknown key"),
])
def test_bad_mirror_tables_name_the_file_and_key(tmp_path: Path, table: dict[str, Any],
                                                 message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as caught:
        settings_with(tmp_path, {"m": table})
    assert str(tmp_path / "mediacourier.toml") in str(caught.value)
    assert "\n" not in str(caught.value)


def test_bad_local_target(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[targets.t\]: 'root' is required"):
        settings_with(tmp_path, {}, {"t": {"kind": "local"}})
    with pytest.raises(ConfigError, match=r"\[targets.t\] parallel: 0 is out of range: "
                                          r"must be between 1 and 64"):
        settings_with(tmp_path, {}, {"t": {"kind": "local", "root": "x", "parallel": 0}})


def test_beat_runs_scheduled_mirrors_only(tmp_path: Path) -> None:
    # Given one mirror on cron, one every 6 hours and one without a schedule
    settings = settings_with(tmp_path, {
        "nightly": {"library": "lib", "target": "nas", "schedule": "0 3 * * *"},
        "often": {"library": "lib", "target": "nas", "every": "6h"},
        "manual": {"library": "lib", "target": "nas"}})
    schedule = beat_schedule(settings)
    # Then beat calls mediacourier.mirror for the two scheduled ones, expiring before the next
    nightly, often = schedule["mirror-nightly"], schedule["mirror-often"]
    assert nightly["task"] == often["task"] == "mediacourier.mirror"
    assert nightly["args"] == ["nightly"] and often["args"] == ["often"]
    assert isinstance(nightly["schedule"], crontab) and nightly["schedule"].hour == {3}
    assert often["schedule"] == dt.timedelta(hours=6)
    assert often["options"]["expires"] < 6 * 3600
    assert "mirror-manual" not in schedule and "reconcile-in" in schedule
