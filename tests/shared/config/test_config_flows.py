"""`[flows.NAME]` tables: the steps parsed in order, every mistake one line naming the key."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest

from shared.config import build_settings
from shared.errors import ConfigError

DEVICE = "MFZWI3D-BONSGYC-YLTMRWG-C43ENR5-QXGZDMM-FZWI3DP-BONSGYY-LTMRWAD"


def relay(tmp_path: Path) -> dict[str, Any]:
    """The Pixel relay: iCloud download → phone in 5s → NAS → compress → release → cleanup."""
    for name in ("icloud", "synced/pixel", "nas", "inbox"):
        (tmp_path / name).mkdir(parents=True, exist_ok=True)
    (tmp_path / "st.key").write_text("key\n")
    return {
        "data_dir": "data",
        "sources": {"icloud": {"path": "icloud", "library": "nas"}},
        "libraries": {"pixel": {"path": "synced/pixel", "syncthing": "phone"},
                      "nas": {"path": "nas"}},
        "syncthing": {"phone": {"api_key_file": "st.key", "folder_id": "pixel",
                                "folder_path": "synced", "devices": [DEVICE]}},
        "flows": {"relay": {"source": "icloud", "steps": [
            {"kind": "deliver", "library": "pixel", "batch": 5, "timeout": "2m"},
            {"kind": "archive", "library": "nas"},
            {"kind": "move", "to": "processing"},
            {"kind": "compress", "to": "compressed", "image_quality": 70,
             "image_format": "heic", "video_crf": 30},
            {"kind": "release", "to": "icloud-delete"},
            {"kind": "cleanup", "folder": "icloud", "older_than": "24h"},
        ]}},
    }


def load(tmp_path: Path, raw: dict[str, Any]):
    return build_settings(raw, tmp_path / "mc.toml", tmp_path)


def test_the_pixel_relay_is_parsed_step_by_step(tmp_path: Path) -> None:
    # Given the relay with its six steps, files entering from the [sources.icloud] folder
    # When it loads
    flow = load(tmp_path, relay(tmp_path)).flows["relay"]
    # Then each step keeps its order, number and options, folders relative to the file
    assert flow.from_path == tmp_path / "icloud" and flow.source == "icloud"
    assert [(s.number, s.kind) for s in flow.steps] == [
        (1, "deliver"), (2, "archive"), (3, "move"), (4, "compress"), (5, "release"),
        (6, "cleanup")]
    deliver, archive, move, compress, release, cleanup = flow.steps
    assert (deliver.library, deliver.batch, deliver.timeout_seconds) == ("pixel", 5, 120.0)
    assert (archive.library, archive.to) == ("nas", None)
    assert move.to == tmp_path / "processing" and release.to == tmp_path / "icloud-delete"
    assert (compress.image_quality, compress.image_format, compress.video_crf,
            compress.video_codec) == (70, "heic", 30, "libx265")
    assert (cleanup.folder, cleanup.older_than_seconds) == (tmp_path / "icloud", 86400.0)
    assert "*.tmp" in cleanup.patterns


def test_a_flow_can_start_from_a_folder(tmp_path: Path) -> None:
    raw = relay(tmp_path)
    del raw["flows"]["relay"]["source"]
    raw["flows"]["relay"]["from"] = "downloads"
    assert load(tmp_path, raw).flows["relay"].from_path == tmp_path / "downloads"


def _changed(tmp_path: Path, path: str, value: Any) -> dict[str, Any]:
    raw = copy.deepcopy(relay(tmp_path))
    table = raw["flows"]["relay"]
    if path.startswith("steps["):
        index, key = re.fullmatch(r"steps\[(\d)\]\.(\w+)", path).groups()
        target = table["steps"][int(index)]
    else:
        target, key = table, path
    if value is None:
        target.pop(key, None)
    else:
        target[key] = value
    return raw


@pytest.mark.parametrize(("path", "value", "message"), [
    ("steps[3].kind", "compres", '[flows.relay.steps[3]] kind: "compres" is not one of deliver, '
     'archive, move, release, compress, cleanup; did you mean "compress"?'),
    ("steps[0].library", "phone", "[flows.relay.steps[0]] library: no [libraries.phone] table"),
    ("steps[0].library", None, "[flows.relay.steps[0]] library: required"),
    ("steps[1].to", "elsewhere", "[flows.relay.steps[1]]: give exactly one of 'library' or "
     "'to'"),
    ("steps[1].batch", 5, "[flows.relay.steps[1]] batch: unknown key"),
    ("steps[0].batch", -1, "[flows.relay.steps[0]] batch: -1 is out of range"),
    ("steps[3].image_quality", 0, "[flows.relay.steps[3]] image_quality: 0 is out of range"),
    ("steps[3].video_codec", "vp9", '[flows.relay.steps[3]] video_codec: "vp9" is not one of'),
    ("steps[5].patterns", ["*.jpg"], '[flows.relay.steps[5]] patterns: "*.jpg" matches media '
     "files such as 'IMG_0001.jpg'"),
    ("steps[5].patterns", ["*"], '[flows.relay.steps[5]] patterns: "*" matches media files'),
    ("source", "camera", "[flows.relay] source: no [sources.camera] table"),
    ("from", "downloads", "[flows.relay]: give exactly one of 'source' or 'from'"),
    ("steps", [], "[flows.relay] steps: list at least one step"),
    ("colour", "red", "[flows.relay] colour: unknown key"),
])
def test_mistakes_are_one_line_naming_the_key(tmp_path: Path, path: str, value: Any,
                                              message: str) -> None:
    # Given the relay with one mistake; When it loads; Then one line names the key and why
    with pytest.raises(ConfigError) as err:
        load(tmp_path, _changed(tmp_path, path, value))
    assert message in str(err.value)
    assert "\n" not in str(err.value) and str(tmp_path / "mc.toml") in str(err.value)


def test_a_release_needs_a_proven_copy_before_it(tmp_path: Path) -> None:
    # Given a flow that would hand files over for deletion before any copy was made
    raw = relay(tmp_path)
    raw["flows"]["relay"]["steps"] = [{"kind": "release", "to": "icloud-delete"},
                                      {"kind": "archive", "library": "nas"}]
    # When it loads; Then it is refused, naming the step
    with pytest.raises(ConfigError, match=re.escape(
            '[flows.relay.steps[0]] kind: "release" needs an earlier deliver or archive step')):
        load(tmp_path, raw)


def test_destination_folders_need_not_exist_when_the_file_loads(tmp_path: Path) -> None:
    # Given folders of steps that are not there (a NAS not mounted): the step holds when it
    # runs; every other command must still load the configuration
    flow = load(tmp_path, relay(tmp_path)).flows["relay"]
    assert not (tmp_path / "processing").exists() and flow.steps[2].to is not None
