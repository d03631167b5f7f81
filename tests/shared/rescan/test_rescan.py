"""Coalesced rescans: the fewest folders, one command each, dirty marks cleared only on success."""

from __future__ import annotations

import os
import shlex
import signal
import time
from pathlib import Path

import pytest
import redis

from shared.config import RescanTarget
from shared.errors import CommandFailed
from shared.executors.base import LocalExecutor
from shared.rescan.apps import render
from shared.rescan.flush import flush_rescans, minimal_folders
from shared.state.store import RedisStateStore
from tests.doubles import RecordingExecutor


@pytest.fixture
def store(redis_client: redis.Redis, key_prefix: str) -> RedisStateStore:
    # Real Redis: the flush takes a Redis lock, released by a Lua script
    return RedisStateStore(redis_client, key_prefix)


def _target(command: tuple[str, ...] = ("scan", "{folder}", "--rel={rel_folder}"),
            max_folders: int = 50, timeout: float = 5.0) -> RescanTarget:
    return RescanTarget(name="immich", command=command, debounce_seconds=0.1,
                        timeout_seconds=timeout, max_folders=max_folders)


# --- minimal_folders -----------------------------------------------------------------------


def test_nested_folders_merge_into_their_parent() -> None:
    folders = ["/lib/2024/05", "/lib/2024", "/lib/2024/05/raw", "/lib/2023/01", "/lib/2024"]
    assert minimal_folders(folders, 50) == ["/lib/2023/01", "/lib/2024"]


def test_a_name_prefix_is_not_a_parent() -> None:
    # '/lib/a' does not contain '/lib/ab'
    assert minimal_folders(["/lib/a", "/lib/ab", "/lib/a/b"], 50) == ["/lib/a", "/lib/ab"]


def test_above_the_limit_the_common_parent_is_scanned() -> None:
    folders = [f"/lib/2024/{m:02d}" for m in range(1, 13)] + ["/lib/2023/12"]
    assert minimal_folders(folders, 5) == ["/lib"]
    assert minimal_folders(folders, 13) == sorted(folders)


def test_no_folders() -> None:
    assert minimal_folders([], 5) == []


def test_render_fills_both_placeholders() -> None:
    command = ("scan", "--path={folder}", "{rel_folder}")
    assert render(command, "/lib/2024/05", "/lib") == ("scan", "--path=/lib/2024/05", "2024/05")
    assert render(command, "/lib", "/lib") == ("scan", "--path=/lib", "")


# --- flush_rescans -------------------------------------------------------------------------


def test_flush_runs_once_per_minimal_folder(store: RedisStateStore) -> None:
    # Given dirty folders, some nested in others, from one library
    for folder in ("/photos/2024/05", "/photos/2024/05/raw", "/photos/2023/01", "/photos"):
        store.mark_dirty("immich", folder, 0.1)
    store.mark_dirty("plex", "/photos/other-target", 0.1)
    executor = RecordingExecutor()
    # When the target is flushed
    report = flush_rescans(_target(), store, executor, ["/photos"])
    # Then the command ran once, for the folder covering all others, placeholders rendered
    assert executor.calls == [("scan", "/photos", "--rel=")]
    assert report.folders == ("/photos",) and report.failed == ()
    # And this target's dirty folders are cleared, another target's are not
    assert store.dirty_folders("immich") == {}
    assert list(store.dirty_folders("plex")) == ["/photos/other-target"]
    # And the journal says what was rescanned
    [entry] = store.read_journal()
    assert (entry["event"], entry["target"], entry["folders"], entry["failed"]) == (
        "rescanned", "immich", "/photos", "0")


def test_flush_renders_relative_folders_per_library(store: RedisStateStore) -> None:
    for folder in ("/photos/2024/05", "/videos/clips", "/photos/2023/01"):
        store.mark_dirty("immich", folder, 0.1)
    executor = RecordingExecutor()
    flush_rescans(_target(), store, executor, ["/photos", "/videos"])
    assert executor.calls == [
        ("scan", "/photos/2023/01", "--rel=2023/01"),
        ("scan", "/photos/2024/05", "--rel=2024/05"),
        ("scan", "/videos/clips", "--rel=clips"),
    ]
    [entry] = store.read_journal()
    assert entry["folders"].split("\n") == ["/photos/2023/01", "/photos/2024/05", "/videos/clips"]


def test_collapsing_never_scans_above_a_library_root(store: RedisStateStore) -> None:
    # Given more dirty folders than max_folders, spread over two libraries
    for folder in ("/photos/a", "/photos/b", "/videos/a", "/videos/b"):
        store.mark_dirty("immich", folder, 0.1)
    executor = RecordingExecutor()
    # When flushed with max_folders=2
    flush_rescans(_target(max_folders=2), store, executor, ["/photos", "/videos"])
    # Then every scanned folder is inside a library (never '/', the whole machine)
    scanned = [call[1] for call in executor.calls]
    assert scanned, "nothing was scanned"
    roots = ("/photos", "/videos")
    for folder in scanned:
        assert any(folder == r or folder.startswith(r + "/") for r in roots), scanned
    assert store.dirty_folders("immich") == {}


def test_nothing_dirty_runs_nothing(store: RedisStateStore) -> None:
    executor = RecordingExecutor()
    report = flush_rescans(_target(), store, executor, ["/photos"])
    assert executor.calls == [] and report.folders == ()
    assert store.read_journal() == []


def test_failing_command_keeps_folders_dirty(store: RedisStateStore) -> None:
    # Given two dirty folders and a command that fails
    store.mark_dirty("immich", "/photos/a", 0.1)
    store.mark_dirty("immich", "/photos/b", 0.1)
    executor = RecordingExecutor(exit_code=3)
    # When flushed / Then CommandFailed names the folders, which stay dirty for the retry
    with pytest.raises(CommandFailed, match="immich.*/photos/a, /photos/b"):
        flush_rescans(_target(), store, executor, ["/photos"])
    assert len(executor.calls) == 2
    assert set(store.dirty_folders("immich")) == {"/photos/a", "/photos/b"}
    # And the journal has one rescan-failed entry per folder, and no "rescanned" one: nothing was
    events = [(e["event"], e.get("folder"), e.get("exit_code")) for e in store.read_journal()]
    assert events == [("rescan-failed", "/photos/a", "3"), ("rescan-failed", "/photos/b", "3")]
    # And a later successful flush clears them
    flush_rescans(_target(), store, RecordingExecutor(), ["/photos"])
    assert store.dirty_folders("immich") == {}


def test_a_failed_scan_fails_with_its_reason_and_journals_no_rescan(
        store: RedisStateStore) -> None:
    # Given a dirty folder and a scanner that reports a locked database on stderr, exit 3
    store.mark_dirty("immich", "/photos/a", 0.1)
    script = 'echo "index database is locked" >&2; exit 3'
    target = _target(command=("sh", "-c", script, "scan", "{folder}"))
    # When flushed / Then the error says why, on one line, and the folder stays dirty
    with pytest.raises(CommandFailed) as caught:
        flush_rescans(target, store, LocalExecutor(), ["/photos"])
    assert str(caught.value) == ("rescan immich: will retry /photos/a: "
                                 "index database is locked")
    assert list(store.dirty_folders("immich")) == ["/photos/a"]
    # And the journal says it failed, with no "rescanned" entry of zero counts beside it
    journal = store.read_journal()
    assert [e["event"] for e in journal] == ["rescan-failed"]
    assert journal[0]["permanent"] == "0" and journal[0]["reason"] == "index database is locked"


def test_a_partly_failed_flush_journals_only_the_scanned_folders(store: RedisStateStore) -> None:
    # Given two dirty folders and a scanner that is busy for one of them
    for folder in ("/photos/a", "/photos/b"):
        store.mark_dirty("immich", folder, 0.1)
    script = 'case "$1" in */b) echo "b is busy" >&2; exit 3;; esac'
    target = _target(command=("sh", "-c", script, "scan", "{folder}"))
    # When flushed / Then the busy one is retried, and "rescanned" names only the other
    with pytest.raises(CommandFailed, match="will retry /photos/b: b is busy"):
        flush_rescans(target, store, LocalExecutor(), ["/photos"])
    rescanned = [e for e in store.read_journal() if e["event"] == "rescanned"]
    assert [(e["folders"], e["failed"]) for e in rescanned] == [("/photos/a", "1")]
    assert list(store.dirty_folders("immich")) == ["/photos/b"]


def test_folder_marked_again_during_the_flush_stays_dirty(store: RedisStateStore) -> None:
    # Given a command during which the same folder is marked dirty again
    store.mark_dirty("immich", "/photos/a", 0.1)

    class MarkingExecutor(RecordingExecutor):
        def run(self, argv, timeout):  # type: ignore[no-untyped-def]
            time.sleep(0.01)
            store.mark_dirty("immich", "/photos/a", 0.1)
            return super().run(argv, timeout)

    # When flushed / Then the folder stays dirty: the new change has not been scanned
    flush_rescans(_target(), store, MarkingExecutor(), ["/photos"])
    assert list(store.dirty_folders("immich")) == ["/photos/a"]


# --- LocalExecutor -------------------------------------------------------------------------


def test_local_executor_really_runs_the_command(store: RedisStateStore, tmp_path: Path) -> None:
    # Given a shell command that appends its argument to a log, and awkward folder names
    log = tmp_path / "scan.log"
    command = ("sh", "-c", f'echo "$1" >> {shlex.quote(str(log))}', "sh", "{folder}")
    folders = [f"{tmp_path}/lib/My Photos/it's $(rm -rf x)", f"{tmp_path}/lib/2024"]
    for folder in folders:
        store.mark_dirty("immich", folder, 0.1)
    # When flushed with the local executor
    report = flush_rescans(_target(command), store, LocalExecutor(), [f"{tmp_path}/lib"])
    # Then each folder reached the command as one argument, verbatim
    assert log.read_text().splitlines() == sorted(folders)
    assert report.failed == ()
    assert store.dirty_folders("immich") == {}


def test_local_executor_reports_exit_code_and_output() -> None:
    result = LocalExecutor().run(("sh", "-c", "echo out; echo err >&2; exit 4"), timeout=5)
    assert (result.exit_code, result.stdout, result.stderr, result.ok) == (4, "out\n", "err\n",
                                                                          False)


def test_local_executor_timeout_is_exit_code_minus_one() -> None:
    started = time.monotonic()
    result = LocalExecutor().run(("sleep", "10"), timeout=0.3)
    assert result.exit_code == -1 and not result.ok
    assert "timed out" in result.stderr
    assert time.monotonic() - started < 5


def test_local_executor_missing_program() -> None:
    result = LocalExecutor().run(("/nonexistent/scanner", "x"), timeout=5)
    assert result.exit_code == -1
    assert "/nonexistent/scanner" in result.stderr


def test_timeout_through_flush_keeps_folder_dirty(store: RedisStateStore) -> None:
    store.mark_dirty("immich", "/photos/a", 0.1)
    with pytest.raises(CommandFailed):
        target = _target(("sh", "-c", "sleep 10; echo $1", "sh", "{folder}"), timeout=0.3)
        flush_rescans(target, store, LocalExecutor(), ["/photos"])
    assert list(store.dirty_folders("immich")) == ["/photos/a"]
    failed = store.read_journal()[0]
    assert failed["event"] == "rescan-failed" and failed["exit_code"] == "-1"
    assert "timed out" in failed["reason"]


def _running(pid: int) -> bool:
    """True while pid is a live process (a zombie waiting to be reaped counts as ended)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    state = next(line for line in status.splitlines() if line.startswith("State:"))
    return "Z" not in state.split()[1]


def test_local_executor_timeout_ends_the_commands_children(tmp_path: Path) -> None:
    # Given a shell command that starts a long child and waits for it
    pid_file = tmp_path / "child.pid"
    script = f"sleep 30 & echo $! > {shlex.quote(str(pid_file))}; wait"
    child = 0
    try:
        # When it times out
        result = LocalExecutor().run(("sh", "-c", script), timeout=0.5)
        assert result.exit_code == -1
        child = int(pid_file.read_text())
        # Then its child does not keep running behind the next flush's back
        deadline = time.monotonic() + 2
        while _running(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _running(child), f"child {child} of the timed-out command still runs"
    finally:
        if child and _running(child):
            os.kill(child, signal.SIGKILL)
