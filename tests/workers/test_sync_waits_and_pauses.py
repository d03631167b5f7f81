"""`mediacourier sync` does what a user means: it waits for files copied in just before it, and
a paused source is refused (or carried anyway with --force, saying so). Real redis-server."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.harness import Deployment
from tests.workers.cli_helpers import cli

PHOTOS = {f"drop/IMG_{n}.jpg": b"\xff\xd8\xff\xe0" + bytes([n]) * 20_000 for n in range(3)}


def source_with(dep: Deployment, stability: str) -> tuple[Path, Path]:
    source, library = dep.one_source(mode="copy", stability=stability)
    return source, library


def put(source: Path) -> None:
    for rel, data in PHOTOS.items():
        (source / rel).parent.mkdir(parents=True, exist_ok=True)
        (source / rel).write_bytes(data)  # mtime now: inside the stability window


def library_files(library: Path) -> dict[str, bytes]:
    return {p.relative_to(library).as_posix(): p.read_bytes()
            for p in library.rglob("*") if p.is_file()}


def test_sync_waits_for_files_copied_in_just_before_it(dep: Deployment) -> None:
    # Given three photos written this very moment into a source with an 8 s stability window
    # (longer than sync takes to start, even on a loaded machine)
    source, library = source_with(dep, "8s")
    put(source)

    # When sync runs at once
    done = cli(dep.env(), "sync", "inbox")

    # Then it says it waits for them, and then carries all three, byte for byte
    assert done.returncode == 0, done.stdout + done.stderr
    assert "waiting for 3 files to settle (8 s without change)" in done.stdout
    assert library_files(library) == PHOTOS


def test_a_paused_source_is_refused_in_one_line_and_force_carries_it(dep: Deployment) -> None:
    # Given settled photos in a source that is paused
    source, library = source_with(dep, "0s")
    put(source)
    assert cli(dep.env(), "pause", "source", "inbox").returncode == 0

    # When sync runs
    refused = cli(dep.env(), "sync", "inbox")

    # Then it is refused with exit 3 (a guard) and one line saying why and what to do; nothing
    # was carried
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert refused.stderr.splitlines() == [
        "mediacourier: source 'inbox' is paused: sync refused (`mediacourier resume` it, or "
        "sync --force to carry the files anyway)"]
    assert library_files(library) == {}

    # When sync runs with --force; Then it says it overrides the pause, and carries them
    forced = cli(dep.env(), "sync", "inbox", "--force")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert "source 'inbox' is paused: --force given, syncing anyway" in forced.stdout
    assert library_files(library) == PHOTOS
