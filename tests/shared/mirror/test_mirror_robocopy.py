"""A mirror to a `kind = "robocopy"` target: robocopy /L first, the delete guard, then /MIR —
through the real LocalExecutor and a stand-in robocopy replaying real published outputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.config import build_settings
from shared.errors import ConfigError, MirrorRefused
from shared.executors.base import LocalExecutor
from shared.mirror.robocopy import run_robocopy_mirror
from shared.robocopy.target import parse_robocopy_target
from tests.shared.robocopy.test_robocopy_run import StandIn

SOURCE = r"D:\Photos\Sorted"


def target(executable: str) -> object:
    return parse_robocopy_target("nas", {"kind": "robocopy", "root": r"\\NAS\photo\Library",
                                         "executable": executable})


def test_the_guard_refuses_a_mirror_that_would_delete_a_third_of_the_destination(
        tmp_path: Path) -> None:
    # Given robocopy /L reports 1 extra file beside 2 unchanged ones (a real /L output)
    stand_in = StandIn(tmp_path)
    exe = stand_in.replay("en_mirror_list_only_extra.txt", 2)
    # When the mirror runs with the default guard (10 %)
    with pytest.raises(MirrorRefused, match=r"would delete 1 of 3 destination files \(33%\)"):
        run_robocopy_mirror(SOURCE, target(exe), LocalExecutor(), (), 50, 0.1)
    # Then only the listing ran: /L was passed, no real /MIR run followed
    assert "/L" in stand_in.argv and "/MIR" in stand_in.argv


def test_forced_mirror_runs_robocopy_for_real_and_reports_the_counts(tmp_path: Path) -> None:
    # Given the same trees, and --force
    stand_in = StandIn(tmp_path)
    exe = stand_in.replay("en_mirror_list_only_extra.txt", 2)
    # When the mirror runs
    summary = run_robocopy_mirror(SOURCE, target(exe), LocalExecutor(), ("*.tmp",), 50, 0.1,
                                  force=True)
    # Then the last run was the real one (no /L), with the source, root and exclusions
    argv = stand_in.argv
    assert "/L" not in argv and argv[:2] == [SOURCE, r"\\NAS\photo\Library"]
    assert "*.tmp" in argv
    # and the summary carries robocopy's numbers
    assert (summary.deleted, summary.skipped, summary.copied, summary.failed) == (1, 2, 0, 0)


def test_a_dry_run_only_lists(tmp_path: Path) -> None:
    stand_in = StandIn(tmp_path)
    exe = stand_in.replay("en_mirror_list_only_extra.txt", 2)
    summary = run_robocopy_mirror(SOURCE, target(exe), LocalExecutor(), (), 50, 0.5,
                                  dry_run=True)
    assert "/L" in stand_in.argv and summary.deleted == 1


def test_a_robocopy_target_is_read_from_the_targets_table(tmp_path: Path) -> None:
    # Given a config with a robocopy target and a mirror to it
    (tmp_path / "lib").mkdir()
    raw = {"sources": {}, "libraries": {"lib": {"path": "lib"}},
           "targets": {"win": {"kind": "robocopy", "root": "Z:\\photos", "threads": 16,
                               "retries": 2}},
           "mirrors": {"nightly": {"library": "lib", "target": "win"}}}
    settings = build_settings(raw, tmp_path / "mediacourier.toml", tmp_path)
    # Then the target carries its robocopy options
    robocopy = settings.targets["win"].robocopy
    assert (robocopy.root, robocopy.threads, robocopy.retries) == ("Z:\\photos", 16, 2)
    # and a POSIX root is a one-line error naming the key
    raw["targets"]["win"]["root"] = "/mnt/photos"
    with pytest.raises(ConfigError, match=r"targets\.win\.root .* is a POSIX path"):
        build_settings(raw, tmp_path / "mediacourier.toml", tmp_path)
