"""A source part the mirror cannot read is unknown, never absent: nothing under it is deleted or
renamed away, the rest is mirrored, and the run reports it as a failure.

Tests run as root, which ignores permissions, so the failure is injected where the walk lists a
folder (os.scandir) or, for a folder vanishing mid-walk, made real by removing it just then."""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.mirror.plan import MirrorRules, plan_mirror
from shared.mirror.run import run_mirror
from tests.shared.mirror.mirror_trees import CountingDestination, put_file, tree

REAL_SCANDIR = os.scandir


def _on_listing(monkeypatch: pytest.MonkeyPatch, folder: Path,
                action: Callable[[], None]) -> None:
    """Run `action` when the walk lists `folder`, then list it for real."""
    target = os.fspath(folder)

    def scandir(path: Any = ".") -> Any:
        if not isinstance(path, int) and os.fspath(path) == target:  # rmtree lists by fd
            action()
        return REAL_SCANDIR(path)

    monkeypatch.setattr(os, "scandir", scandir)


def _failing(exc: OSError) -> Callable[[], None]:
    def fail() -> None:
        raise exc
    return fail


@pytest.fixture
def trees(tmp_path: Path) -> tuple[Path, Path, CountingDestination]:
    """A mirrored pair: 2023/ and 2024/ on both sides, plus one true extra on the replica."""
    src, dst = tmp_path / "src", tmp_path / "dst"
    for side in (src, dst):
        put_file(side, "2023/a.jpg", "photo a", age_s=50)
        put_file(side, "2023/deep/b.jpg", "photo b", age_s=50)
        put_file(side, "2024/c.jpg", "photo c", age_s=50)
    put_file(dst, "2023/only-on-replica.jpg", "kept while unknown", age_s=50)
    put_file(dst, "gone.jpg", "really gone from the source", age_s=50)
    # A new source file with the content and time of a replica file under 2023/: a rename
    # candidate that must not be taken from an unknown folder.
    put_file(src, "2024/moved-a.jpg", "photo a", age_s=50)
    return src, dst, CountingDestination(dst)


def _plan(src: Path, dest: CountingDestination) -> Any:
    return plan_mirror(src, dest, MirrorRules(), max_delete=1000, max_delete_share=1.0)


@pytest.mark.parametrize(("code", "transient"), [(errno.EACCES, False), (errno.EIO, True)])
def test_an_unreadable_folder_keeps_every_replica_file_under_it(
    monkeypatch: pytest.MonkeyPatch, trees: tuple[Path, Path, CountingDestination],
    code: int, transient: bool,
) -> None:
    # Given a source whose 2023/ folder cannot be listed (permission denied, or a share's EIO)
    src, dst, dest = trees
    before = tree(dst)
    _on_listing(monkeypatch, src / "2023", _failing(OSError(code, os.strerror(code))))
    # When the mirror is planned and run
    plan = _plan(src, dest)
    summary = run_mirror(plan, src, dest)
    # Then nothing under 2023/ is planned for deletion or renamed away; the true extra goes
    assert [a.rel_path for a in plan.deletes] == ["gone.jpg"]
    assert plan.renames == [] and [a.rel_path for a in plan.copies] == ["2024/moved-a.jpg"]
    assert [(u.rel_path, u.transient) for u in plan.unknown] == [("2023/", transient)]
    assert plan.kept_unknown == 3
    # And every replica byte under 2023/ is still there, the rest is mirrored
    after = tree(dst)
    assert {k: v for k, v in after.items() if k.startswith("2023/")} == {
        k: v for k, v in before.items() if k.startswith("2023/")}
    assert "gone.jpg" not in after and after["2024/moved-a.jpg"] == b"photo a"
    # And the run reports the unreadable folder as a failure (what the task result carries)
    assert summary.failed == 1 and summary.deleted == 1
    [error] = summary.errors
    assert (error.rel_path, error.action, error.retryable) == ("2023/", "read", transient)
    assert os.strerror(code) in error.reason and "nothing under it was deleted" in error.reason
    result = summary.as_dict()
    assert result["kept_unknown"] == 3 and result["unreadable"][0].startswith("2023/: ")


def test_a_folder_vanishing_mid_walk_is_unknown_not_absent(
    monkeypatch: pytest.MonkeyPatch, trees: tuple[Path, Path, CountingDestination],
) -> None:
    # Given a source whose 2023/ folder disappears after its parent was listed (a share
    # dropping away, a folder moved out during the walk)
    src, dst, dest = trees
    _on_listing(monkeypatch, src / "2023", lambda: shutil.rmtree(src / "2023"))
    # When planned
    plan = _plan(src, dest)
    # Then its replica files are kept: unknown this run, not "not in the source"
    assert [a.rel_path for a in plan.deletes] == ["gone.jpg"] and plan.renames == []
    assert [(u.rel_path, u.transient) for u in plan.unknown] == [("2023/", True)]
    assert "No such file or directory" in plan.unknown[0].reason


def test_an_unreadable_source_root_deletes_nothing(
    monkeypatch: pytest.MonkeyPatch, trees: tuple[Path, Path, CountingDestination],
) -> None:
    # Given a source root that exists but cannot be listed
    src, dst, dest = trees
    before = tree(dst)
    _on_listing(monkeypatch, src, _failing(OSError(errno.EIO, "Input/output error")))
    # When planned and run
    plan = _plan(src, dest)
    summary = run_mirror(plan, src, dest)
    # Then no delete is planned at all, and the replica is untouched
    assert plan.deletes == [] and plan.renames == [] and plan.kept_unknown == len(before)
    assert tree(dst) == before and dest.deletes == []
    assert summary.failed == 1 and summary.errors[0].rel_path == "."


class _ListingThenVanishing:
    """A listing of a folder whose `victim` file is removed once the listing was read."""

    def __init__(self, path: Path, victim: Path) -> None:
        self._entries = list(REAL_SCANDIR(path))
        victim.unlink()

    def __enter__(self) -> Iterator[os.DirEntry[str]]:
        return iter(self._entries)

    def __exit__(self, *exc: object) -> None:
        return None


def test_a_file_that_cannot_be_stat_ed_after_listing_is_unknown(
    monkeypatch: pytest.MonkeyPatch, trees: tuple[Path, Path, CountingDestination],
) -> None:
    # Given a file listed in 2024/ that is gone by the time the walk looks at it
    src, dst, dest = trees
    target = os.fspath(src / "2024")

    def scandir(path: Any = ".") -> Any:
        if os.fspath(path) == target:
            return _ListingThenVanishing(src / "2024", src / "2024" / "c.jpg")
        return REAL_SCANDIR(path)

    monkeypatch.setattr(os, "scandir", scandir)
    # When planned
    plan = _plan(src, dest)
    # Then the walk does not crash, and that file's replica copy is kept for this run
    assert [a.rel_path for a in plan.deletes] == ["2023/only-on-replica.jpg", "gone.jpg"]
    assert [u.rel_path for u in plan.unknown] == ["2024/c.jpg"]
    assert (dst / "2024" / "c.jpg").read_bytes() == b"photo c"
