"""`verify = "disk"`: the read-back of a copy reads the disk, not the page cache."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from shared.config import build_settings
from shared.errors import ConfigError
from shared.ingest.pipeline import run_stage
from shared.jobs import FileJob, Outcome

SIZE = 8 * 1024 * 1024


def _storage_reads() -> int:
    """Bytes this process had fetched from storage (not from the page cache)."""
    with open("/proc/self/io", encoding="ascii") as io:
        return int(next(line for line in io if line.startswith("read_bytes:")).split()[1])


def _on_tmpfs(path: Path) -> bool:
    best, fstype = "", ""
    with open("/proc/mounts", encoding="utf-8") as mounts:
        for line in mounts:
            _, point, kind = line.split()[:3]
            if str(path).startswith(point.rstrip("/") + "/") and len(point) > len(best):
                best, fstype = point, kind
    return fstype in ("tmpfs", "ramfs", "overlay")


def test_verify_disk_reads_the_copy_back_from_the_disk(make_rig) -> None:  # type: ignore[no-untyped-def]
    # Given a copy-mode library with verify = "disk" on a disk-backed filesystem
    rig = make_rig(mode="copy")
    if _on_tmpfs(rig.lib) or not os.path.exists("/proc/self/io"):
        pytest.skip(f"{rig.lib} is not on a block device: nothing to read from but memory")
    library = dataclasses.replace(rig.ctx.settings.libraries["lib"], verify="disk")
    settings = dataclasses.replace(rig.ctx.settings, libraries={"lib": library})
    ctx = dataclasses.replace(rig.ctx, settings=settings)
    data = os.urandom(SIZE)
    rig.put("2024/IMG_1.jpg", data)
    job = FileJob("cam", "2024/IMG_1.jpg")
    for name in ("hash_file", "claim_content", "transfer_file"):
        job = run_stage(name, job, ctx)
    # When its copy (fsynced, its pages still in the cache) is verified
    before = _storage_reads()
    job = run_stage("verify_copy", job, ctx)
    read = _storage_reads() - before
    # Then it is verified, and the read-back fetched the whole copy from storage
    assert job.outcome == Outcome.VERIFIED
    assert (rig.lib / "2024/IMG_1.jpg").read_bytes() == data
    assert read >= SIZE, f"only {read} bytes read from storage for an {SIZE}-byte copy"


def test_an_unknown_verify_mode_is_one_line_naming_the_key(tmp_path: Path) -> None:
    # Given a library whose verify is neither "cache" nor "disk"
    raw = {"libraries": {"lib": {"path": str(tmp_path), "verify": "twice"}}}
    # When the settings are built
    with pytest.raises(ConfigError) as caught:
        build_settings(raw, None, tmp_path)
    # Then the message names the table, the key, the value and the choices, on one line
    text = str(caught.value)
    assert "verify" in text and "twice" in text and "disk" in text and "\n" not in text
