"""Every countdown stays below the visibility timeout, with room for the task to run: waits the
user chose are refused in one line, ceilings are capped at load."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fakeredis
import pytest

from shared.config import Settings, build_settings
from shared.errors import ConfigError
from shared.state import RedisStateStore, hold_for_source
from tests.shared.config_helpers import minimal_config

DEVICE = "P56IOI7-MZJNU2Y-IQGDREY-DM2MGTI-MGL3BXN-PQ6W5BM-TBBZ4TJ-XZWICQ2"


def _build(tmp_path: Path, **top: Any) -> Settings:
    return build_settings(minimal_config(tmp_path, **top), None, tmp_path)


def _refused(tmp_path: Path, raw: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        build_settings(raw, None, tmp_path)
    assert "\n" not in str(caught.value)
    return str(caught.value)


def test_a_debounce_longer_than_the_visibility_timeout_is_refused(tmp_path: Path) -> None:
    # Given a rescan target that debounces for 3 hours under the default 1-hour timeout
    raw = minimal_config(tmp_path, rescan={"x": {"command": ["index", "{folder}"],
                                                 "debounce": "3h"}})
    raw["libraries"]["main"]["rescan"] = ["x"]
    # When built / Then one line names the key, both durations and the limit
    message = _refused(tmp_path, raw)
    assert "[rescan.x] debounce: 3h must be below visibility_timeout (1h)" in message
    assert "under 30m (half of visibility_timeout)" in message


def test_a_debounce_that_leaves_no_room_for_the_task_is_refused(tmp_path: Path) -> None:
    # Given tasks that may run 50 minutes under a one-hour timeout: a wait must stay under 10m
    raw = minimal_config(tmp_path, task_time_limit=3000,
                         rescan={"x": {"command": ["index", "{folder}"], "debounce": "15m"}})
    assert ("[rescan.x] debounce: 15m must be below visibility_timeout (1h) with room for the "
            "task to run: under 10m (visibility_timeout less task_time_limit (50m))"
            ) in _refused(tmp_path, raw)


def test_a_stability_window_whose_followup_waits_too_long_is_refused(tmp_path: Path) -> None:
    # Given a 30-minute stability window: the follow-up reconcile waits 30m + 1 s
    raw = minimal_config(tmp_path)
    raw["sources"]["inbox"]["stability"] = "30m"
    assert "[sources.inbox] stability: 30m + 1 s must be below visibility_timeout (1h)" in \
        _refused(tmp_path, raw)
    # … while 29 minutes load
    raw["sources"]["inbox"]["stability"] = "29m"
    assert build_settings(raw, None, tmp_path).sources["inbox"].stability_seconds == 29 * 60


def test_a_syncthing_poll_longer_than_the_limit_is_refused(tmp_path: Path) -> None:
    raw = minimal_config(tmp_path, visibility_timeout=600, syncthing={"phone": {
        "folder_id": "photos", "folder_path": str(tmp_path / "lib"), "devices": [DEVICE],
        "api_key_env": "KEY", "poll": "5m"}})
    raw["libraries"]["main"]["syncthing"] = "phone"
    # 600 s timeout, 450 s tasks (three quarters): a wait must stay under 150 s
    assert ("[syncthing.phone] poll: 5m must be below visibility_timeout (10m) with room for "
            "the task to run: under 150s") in _refused(tmp_path, raw)


@pytest.mark.parametrize(("top", "expected"), [
    ({"retry_backoff_max": 5000}, 1800),  # half of the default hour
    ({"visibility_timeout": 600}, 150),  # the default 600 s under a 600 s timeout
])
def test_retry_backoff_max_is_capped_at_load(tmp_path: Path, top: dict[str, Any],
                                             expected: int) -> None:
    assert _build(tmp_path, **top).retry_backoff_max == expected


def test_pause_rechecks_leave_room_for_the_task(tmp_path: Path) -> None:
    # Given a 60 s visibility timeout (tasks may run 45 s) and a source paused for a day
    settings = _build(tmp_path, visibility_timeout=60)
    store = RedisStateStore(fakeredis.FakeRedis(decode_responses=True), "mc")
    store.client.hset("mc:paused", "source:inbox", 1000.0)
    # When its waiting work asks when to look again
    hold = hold_for_source(store, settings, "inbox")
    # Then it comes back within 15 s: the wait and the longest run fit in the timeout
    assert hold is not None and hold.countdown == 15.0
    assert hold.countdown + settings.task_time_limit <= settings.visibility_timeout
