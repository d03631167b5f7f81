"""Running a mirror plan: exact end state, renames without upload, the guard, per-file errors."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from shared.errors import MirrorRefused
from shared.mirror.plan import MirrorRules, plan_mirror
from shared.mirror.run import MirrorSummary, Progress, run_mirror
from tests.shared.mirror.mirror_trees import CountingDestination, put_file, tree


def mirror_once(src: Path, dest: CountingDestination, force: bool = False, parallel: int = 4,
                **limits: float):  # noqa: ANN201 - (plan, summary)
    limits.setdefault("max_delete", 1000)
    limits.setdefault("max_delete_share", 1.0)
    plan = plan_mirror(src, dest, MirrorRules(), **limits)
    return plan, run_mirror(plan, src, dest, parallel=parallel, force=force)


def test_mirror_makes_the_destination_exact_and_a_second_run_does_nothing(tmp_path: Path) -> None:
    # Given a source with nested files and sidecars, and a stale destination
    src, dst = tmp_path / "src", tmp_path / "dst"
    for i in range(12):
        put_file(src, f"2024/{i % 3}/img{i}.jpg", os.urandom(20_000 + i), age_s=100 + i)
        put_file(src, f"2024/{i % 3}/img{i}.xmp", f"<xmp {i}/>", age_s=100 + i)
    put_file(dst, "2024/0/img0.jpg", "stale", age_s=500)
    put_file(dst, "gone/old.jpg", "old")
    dest = CountingDestination(dst)
    progress: list[Progress] = []
    # When mirrored with 4 parallel transfers
    plan = plan_mirror(src, dest, MirrorRules(), max_delete=5, max_delete_share=0.5)
    summary = run_mirror(plan, src, dest, parallel=4, progress=progress.append)
    # Then the trees are equal byte for byte, with the source's mtimes
    assert tree(dst) == tree(src)
    for rel in tree(src):
        assert (dst / rel).stat().st_mtime_ns == (src / rel).stat().st_mtime_ns
    assert (summary.copied, summary.updated, summary.deleted, summary.failed) == (23, 1, 1, 0)
    assert summary.bytes == sum(len(b) for b in tree(src).values())
    assert progress[-1].done == progress[-1].total == 25
    assert progress[-1].bytes == summary.bytes == progress[-1].total_bytes
    # And a second run finds nothing to do
    again, second = mirror_once(src, dest)
    assert again.actions() == [] and again.unchanged == 24
    assert (second.copied, second.updated, second.deleted) == (0, 0, 0)


def test_a_moved_folder_is_renamed_on_the_destination_not_uploaded(tmp_path: Path) -> None:
    # Given a mirrored tree
    src, dst = tmp_path / "src", tmp_path / "dst"
    for i in range(5):
        put_file(src, f"inbox/p{i}.jpg", os.urandom(100_000), age_s=10 + i)
    dest = CountingDestination(dst)
    mirror_once(src, dest)
    inodes = {i: (dst / f"inbox/p{i}.jpg").stat().st_ino for i in range(5)}
    sent_before = dest.uploaded_bytes
    # When the user moves the folder and renames one file
    (src / "2024").mkdir()
    os.rename(src / "inbox", src / "2024" / "trip")
    os.rename(src / "2024/trip/p0.jpg", src / "2024/trip/first.jpg")
    plan, summary = mirror_once(src, dest)
    # Then every file was renamed on the destination: no byte re-sent, same inodes, old gone
    assert summary.renamed == 5 and summary.copied == summary.deleted == 0
    assert dest.uploaded_bytes == sent_before and summary.bytes == 0
    assert (dst / "2024/trip/first.jpg").stat().st_ino == inodes[0]
    for i in range(1, 5):
        assert (dst / f"2024/trip/p{i}.jpg").stat().st_ino == inodes[i]
    assert tree(dst) == tree(src) and not (dst / "inbox").exists()


def test_guard_refuses_and_changes_nothing_then_force_deletes(tmp_path: Path) -> None:
    # Given a destination of 10 files and a source that lost 6 of them (e.g. half unmounted)
    src, dst = tmp_path / "src", tmp_path / "dst"
    for i in range(10):
        put_file(dst, f"f{i}.jpg", f"{i}")
        if i < 4:
            put_file(src, f"f{i}.jpg", f"{i}")
    put_file(src, "new.jpg", "new")
    before = tree(dst)
    dest = CountingDestination(dst)
    # When mirrored with the guard at 5 files
    with pytest.raises(MirrorRefused, match=r"would delete 6 of 10 destination files \(60%\)"):
        mirror_once(src, dest, max_delete=5, max_delete_share=1.0)
    # Then nothing at all changed (not even the new file)
    assert tree(dst) == before and dest.puts == [] and dest.deletes == []
    # When forced, Then the deletes happen
    _, summary = mirror_once(src, dest, force=True, max_delete=5, max_delete_share=1.0)
    assert summary.deleted == 6 and tree(dst) == tree(src)


def test_one_bad_file_does_not_stop_the_rest(tmp_path: Path) -> None:
    # Given a destination where a folder holds the name one source file needs
    src, dst = tmp_path / "src", tmp_path / "dst"
    for name in ("a.jpg", "blocked.jpg", "c.jpg"):
        put_file(src, name, name * 100)
    (dst / "blocked.jpg").mkdir(parents=True)
    (dst / "blocked.jpg" / "Thumbs.db").write_text("excluded, so never deleted")
    dest = CountingDestination(dst)
    # When mirrored
    _, summary = mirror_once(src, dest, parallel=1)
    # Then the other files arrived and the failure is reported with its file and reason
    assert (dst / "a.jpg").read_bytes() == (src / "a.jpg").read_bytes()
    assert (dst / "c.jpg").read_bytes() == (src / "c.jpg").read_bytes()
    assert summary.failed == 1 and summary.copied == 2
    error = summary.errors[0]
    assert error.rel_path == "blocked.jpg" and error.action == "copy"
    assert "blocked.jpg" in error.reason


class Interrupted(Exception):
    """Stands for Celery's SoftTimeLimitExceeded, which a signal raises in the main thread."""


def test_an_interrupted_run_stops_starting_transfers_and_the_next_run_finishes(
        tmp_path: Path) -> None:
    # Given 40 files to send through a destination that takes 20 ms per file
    src, dst = tmp_path / "src", tmp_path / "dst"
    for i in range(40):
        put_file(src, f"f{i:02}.jpg", os.urandom(1000))
    dest = CountingDestination(dst)
    slow_put = dest.put

    def put(*args, **kwargs) -> str:  # noqa: ANN002,ANN003 - same signature as put
        time.sleep(0.02)
        return slow_put(*args, **kwargs)

    dest.put = put  # type: ignore[method-assign]
    plan = plan_mirror(src, dest, MirrorRules())
    summary = MirrorSummary()
    # When a signal interrupts the run after 0.1 s (as a soft time limit does)
    previous = signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(Interrupted()))
    signal.setitimer(signal.ITIMER_REAL, 0.1)
    try:
        with pytest.raises(Interrupted):
            run_mirror(plan, src, dest, parallel=2, summary=summary)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    # Then some files were sent, no more started, each sent file is whole, no temp file is left
    assert 0 < summary.copied < 40 and summary.copied == len(dest.puts)
    landed = tree(dst)
    assert len(landed) == summary.copied and summary.seconds > 0
    assert all(data == (src / rel).read_bytes() for rel, data in landed.items())
    # And the next run sends exactly the rest
    again, second = mirror_once(src, dest)
    assert second.copied == 40 - summary.copied and again.unchanged == summary.copied
    assert tree(dst) == tree(src)
