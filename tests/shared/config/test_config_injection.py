"""Names from the configuration that reach a command line cannot be read as options there: a
container named like a `docker exec` option, a Nextcloud user like an occ option, a robocopy
mirror's exclude like a robocopy switch; each is refused in one line naming the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shared.config import build_settings
from shared.errors import ConfigError
from tests.shared.config_helpers import minimal_config


def _refused(tmp_path: Path, raw: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        build_settings(raw, None, tmp_path)
    assert "\n" not in str(caught.value)
    return str(caught.value)


def test_a_container_named_like_an_option_is_refused(tmp_path: Path) -> None:
    raw = minimal_config(tmp_path, rescan={"app": {
        "command": ["index", "{folder}"], "executor": "docker", "container": "--privileged"}})
    assert "[rescan.app] container: '--privileged' is not a container name" in \
        _refused(tmp_path, raw)


def test_a_nextcloud_user_named_like_an_option_is_refused(tmp_path: Path) -> None:
    raw = minimal_config(tmp_path, rescan={"nc": {"kind": "nextcloud",
                                                  "nextcloud_user": "--all"}})
    assert "[rescan.nc]: 'nextcloud_user'" in _refused(tmp_path, raw)


def test_a_robocopy_mirror_exclude_that_is_a_switch_is_refused(tmp_path: Path) -> None:
    raw = minimal_config(tmp_path, targets={"win": {"kind": "robocopy", "root": "Z:\\photos"}},
                         mirrors={"m": {"library": "main", "target": "win",
                                        "exclude": ["*.tmp", "/PURGE/"]}})
    assert "[mirrors.m] exclude: '/PURGE/' starts with '/': robocopy would read it as an option" \
        in _refused(tmp_path, raw)
