"""A folder named like an option (`--cleanup`) reaches the photo apps as a folder: PhotoPrism's
argv ends its options with `--`; a configured command gets `./--cleanup`, which any program
takes for a path. Checked on the built argv with a parser that honours `--` as PhotoPrism's
does, and by running a real command through the local executor."""

from __future__ import annotations

import argparse
from pathlib import Path

from shared.config import RescanTarget, build_settings
from shared.config.rescan import AppConfig
from shared.executors import LocalExecutor
from shared.rescan.apps import photoprism_command, render, scan_folder


def photoprism_index(argv: tuple[str, ...]) -> argparse.Namespace:
    """`photoprism index [-f] [-c] [subfolder]` parsed as a CLI parser parses it (options
    anywhere before `--`, `--` ends them)."""
    assert argv[:2] == ("photoprism", "index"), argv
    parser = argparse.ArgumentParser(prog="photoprism index", exit_on_error=False)
    parser.add_argument("-f", "--force", action="store_true")
    parser.add_argument("-c", "--cleanup", action="store_true")
    parser.add_argument("subfolder", nargs="?", default="")
    return parser.parse_args(list(argv[2:]))


def test_photoprism_indexes_a_folder_named_cleanup_without_cleaning_up() -> None:
    # Given a PhotoPrism target whose originals are the library itself
    target = RescanTarget(name="pp", command=(), kind="photoprism", app=AppConfig())
    # When the folder to index is called `--cleanup` (or `-f`)
    for name in ("--cleanup", "-f"):
        argv = photoprism_command(target, name)
        # Then the argv ends the options before it, and it parses as the folder, not an option
        assert argv == ("photoprism", "index", "--", name)
        parsed = photoprism_index(argv)
        assert (parsed.subfolder, parsed.cleanup, parsed.force) == (name, False, False)


def test_a_configured_command_gets_the_folder_as_a_path(tmp_path: Path) -> None:
    # Given the README's example: a list command ending in {rel_folder}
    command = ("photoprism", "index", "{rel_folder}")
    # When the changed folder is `<library>/--cleanup`
    argv = render(command, str(tmp_path / "--cleanup"), str(tmp_path))
    # Then it reaches the program as ./--cleanup: the same folder, never an option
    assert argv == ("photoprism", "index", "./--cleanup")
    assert photoprism_index(argv).subfolder == "./--cleanup"
    assert not photoprism_index(argv).cleanup
    # … and folders that are not option-like, absolute folders and embedded ones are unchanged
    assert render(command, str(tmp_path / "2024"), str(tmp_path))[-1] == "2024"
    assert render(("scan", "{folder}"), str(tmp_path / "-x"), str(tmp_path)) == (
        "scan", str(tmp_path / "-x"))
    assert render(("occ", "--path=a/{rel_folder}"), str(tmp_path / "-x"), str(tmp_path)) == (
        "occ", "--path=a/-x")


def test_a_shell_command_runs_on_the_folder_named_like_an_option(tmp_path: Path) -> None:
    # Given a library with a folder named `--version` holding a photo, and a string command
    # (run by `sh -c`, the folder passed as "$2") that lists the changed folder
    library = tmp_path / "library"
    (library / "--version").mkdir(parents=True)
    (library / "--version" / "IMG_1.jpg").write_bytes(b"jpeg")
    (tmp_path / "in").mkdir()
    listing = tmp_path / "listing.txt"
    raw = {"sources": {"in": {"path": str(tmp_path / "in"), "library": "lib"}},
           "libraries": {"lib": {"path": str(library)}},
           "rescan": {"ls": {"command": f"cd {library} && ls {{rel_folder}} > {listing}"}}}
    target = build_settings(raw, None, tmp_path).rescan_targets["ls"]
    # When the real command runs for that folder, on this host
    outcome = scan_folder(target, LocalExecutor(), str(library / "--version"), str(library))
    # Then `ls` listed the folder (it did not print its version)
    assert outcome.ok, outcome.message
    assert listing.read_text().split() == ["IMG_1.jpg"]
