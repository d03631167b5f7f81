"""`mediacourier scrub` end to end: photos of the corpus ingested by `sync`, mirrored to a
backup folder by `mirror`, a byte flipped on the library disk; scrub finds it (exit 1, the file
named, files/s and MB/s, the mismatch journaled), and `scrub --repair` restores the original
bytes from the mirror copy (exit 0)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from tests.e2e.harness import Deployment
from tests.shared.scrub.scrub_helpers import flip_byte
from tests.workers.cli_helpers import cli, configure, dep  # noqa: F401 - the fixture
from tests.workers.test_cli_sync import settled_copy


def test_scrub_finds_a_flipped_byte_and_repairs_it_from_the_mirror(
        dep: Deployment, corpus_dir: Path) -> None:  # noqa: F811 - the fixture
    # Given corpus photos ingested into the library and mirrored to a backup folder
    backup = dep.folder("backup")
    source, library = configure(
        dep, **{"targets.usb": {"kind": "local", "root": str(backup)},
                "mirrors.usb": {"library": "library", "target": "usb"}})
    settled_copy(corpus_dir, source, ("gps",))
    assert cli(dep.env(), "sync", "inbox").returncode == 0
    assert cli(dep.env(), "mirror", "usb").returncode == 0
    photos = sorted(p for p in library.rglob("*.jpg"))
    victim = photos[len(photos) // 2]
    good = victim.read_bytes()
    # When a byte flips on the library disk and the library is scrubbed
    flip_byte(victim, offset=len(good) // 2)
    found = cli(dep.env(), "scrub", "library", "--rate", "0")
    # Then scrub exits 1 and names the file, with its throughput
    rel = victim.relative_to(library).as_posix()
    assert found.returncode == 1, found.stderr
    assert f"damaged: library:{rel}" in found.stdout
    assert re.search(rf"checked {len(photos)}, ok {len(photos) - 1}, damaged 1", found.stdout)
    assert re.search(r"\d+\.\d files/s, \d+\.\d MB/s", found.stdout), found.stdout
    assert [e["path"] for e in dep.events("scrub_mismatch")] == [rel]
    # When it is repaired, Then the original bytes are back, with their time, and exit is 0
    mtime = victim.stat().st_mtime_ns
    repaired = cli(dep.env(), "scrub", "library", "--repair", "--rate", "0")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert victim.read_bytes() == good and victim.stat().st_mtime_ns == mtime
    assert (backup / rel).read_bytes() == good
    # and a later pass finds every photo whole
    again = cli(dep.env(), "scrub", "library")
    assert again.returncode == 0 and f"ok {len(photos)}, damaged 0" in again.stdout
    assert not [n for n in os.listdir(victim.parent) if n.startswith(".mediacourier")]
