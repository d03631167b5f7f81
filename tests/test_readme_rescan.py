"""The configuration reference's `[rescan.NAME]` section documents every key the loader reads
for a rescan target, and the rescans page every kind and executor."""

from __future__ import annotations

from pathlib import Path

from shared.config.rescan import EXECUTORS, KINDS
from tests.docs_helpers import config_schema, doc


def test_every_rescan_key_kind_and_executor_is_documented(tmp_path: Path) -> None:
    # Given the keys the loader reads for the rescan targets of every kind and executor
    keys = config_schema(tmp_path)["rescan"]
    assert {"kind", "executor", "nextcloud_user", "library_id", "docker_command"} <= keys
    # Then each is a row of the [rescan.NAME] section of the configuration reference
    text = doc("configuration")
    section = text[text.index("## `[rescan.NAME]`"):text.index("## `[syncthing.NAME]`")]
    for key in sorted(keys):
        assert f"| `{key}` |" in section, f"rescan key {key} is not in the reference's table"
    # And the rescans page names every kind and executor
    for name in KINDS + EXECUTORS:
        assert f"`{name}`" in doc("rescans"), name
