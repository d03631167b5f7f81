"""The stability tracker hands a file over only once it has stopped changing."""

from __future__ import annotations

import os
import stat

import pytest

from shared.source.stability import StabilityTracker, backoff_delay


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeFiles:
    """A stat function over an in-memory table of path -> (mode, size, mtime_ns)."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[int, int, int]] = {}

    def write(self, path: str, size: int, mtime_ns: int, mode: int = stat.S_IFREG) -> None:
        self.files[path] = (mode | 0o644, size, mtime_ns)

    def __call__(self, path: str) -> os.stat_result:
        if path not in self.files:
            raise FileNotFoundError(2, "No such file", path)
        mode, size, mtime_ns = self.files[path]
        return os.stat_result(
            (mode, 1, 1, 1, 0, 0, size, mtime_ns // 10**9, mtime_ns // 10**9, mtime_ns // 10**9)
            + (0.0, 0.0, 0.0)
            + (mtime_ns, mtime_ns, mtime_ns)
        )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def files() -> FakeFiles:
    return FakeFiles()


@pytest.fixture
def tracker(clock: FakeClock, files: FakeFiles) -> StabilityTracker:
    return StabilityTracker(2.0, clock=clock, stat=files)


def test_quiet_unchanged_file_is_due_once(
    tracker: StabilityTracker, clock: FakeClock, files: FakeFiles
) -> None:
    # Given a file that got one event and then stayed the same
    files.write("/src/a.jpg", 100, 5)
    tracker.touch("/src/a.jpg")
    # When the quiet period passes
    clock.advance(1.9)
    early = tracker.due()
    clock.advance(0.1)
    ready = tracker.due()
    # Then it is handed over exactly once, with its fresh stat
    assert early == []
    assert [(path, info.st_size, info.st_mtime_ns) for path, info in ready] == [
        ("/src/a.jpg", 100, 5)
    ]
    assert tracker.due() == []
    assert tracker.pending() == 0


def test_growing_file_without_events_is_not_due(
    tracker: StabilityTracker, clock: FakeClock, files: FakeFiles
) -> None:
    # Given a file that keeps growing after its only event
    files.write("/src/v.mp4", 100, 5)
    tracker.touch("/src/v.mp4")
    # When the quiet period passes but the size changed meanwhile
    clock.advance(2.0)
    files.write("/src/v.mp4", 200, 6)
    first = tracker.due()
    # Then it waits another full quiet period, and is due once it stops changing
    clock.advance(1.9)
    second = tracker.due()
    clock.advance(0.1)
    third = tracker.due()
    assert first == [] and second == []
    assert [(p, i.st_size) for p, i in third] == [("/src/v.mp4", 200)]


def test_mtime_change_alone_resets_the_wait(
    tracker: StabilityTracker, clock: FakeClock, files: FakeFiles
) -> None:
    # Given a file rewritten in place with the same size
    files.write("/src/a.jpg", 100, 5)
    tracker.touch("/src/a.jpg")
    files.write("/src/a.jpg", 100, 7)
    # When the quiet period passes
    clock.advance(2.0)
    # Then it is not yet due
    assert tracker.due() == []
    assert tracker.pending() == 1


def test_new_event_restarts_the_quiet_period(
    tracker: StabilityTracker, clock: FakeClock, files: FakeFiles
) -> None:
    # Given a file touched, then touched again just before it would be due
    files.write("/src/a.jpg", 100, 5)
    tracker.touch("/src/a.jpg")
    clock.advance(1.5)
    files.write("/src/a.jpg", 150, 6)
    tracker.touch("/src/a.jpg")
    # When the original quiet period has elapsed
    clock.advance(0.5)
    at_first_deadline = tracker.due()
    clock.advance(1.5)
    at_second_deadline = tracker.due()
    # Then only the second deadline counts
    assert at_first_deadline == []
    assert [p for p, _ in at_second_deadline] == ["/src/a.jpg"]


def test_vanished_file_is_dropped_silently(
    tracker: StabilityTracker, clock: FakeClock, files: FakeFiles
) -> None:
    # Given a tracked file that is deleted before it settles
    files.write("/src/a.jpg", 100, 5)
    tracker.touch("/src/a.jpg")
    del files.files["/src/a.jpg"]
    # When the quiet period passes
    clock.advance(5)
    # Then nothing is due and nothing is tracked
    assert tracker.due() == []
    assert tracker.pending() == 0


def test_touching_a_missing_file_forgets_it(
    tracker: StabilityTracker, clock: FakeClock, files: FakeFiles
) -> None:
    # Given a tracked file that was then renamed away (its last event finds it gone)
    files.write("/src/a.jpg.part", 10, 5)
    tracker.touch("/src/a.jpg.part")
    del files.files["/src/a.jpg.part"]
    # When it is touched again
    tracker.touch("/src/a.jpg.part")
    # Then it is no longer tracked
    assert tracker.pending() == 0
    assert "/src/a.jpg.part" not in tracker


def test_directories_are_dropped_and_special_files_returned(
    tracker: StabilityTracker, clock: FakeClock, files: FakeFiles
) -> None:
    # Given a directory, a FIFO and a symlink that all got events
    files.write("/src/dir", 4096, 5, stat.S_IFDIR)
    files.write("/src/fifo", 0, 5, stat.S_IFIFO)
    files.write("/src/link.jpg", 12, 5, stat.S_IFLNK)
    for path in ("/src/dir", "/src/fifo", "/src/link.jpg"):
        tracker.touch(path)
    # When they settle
    clock.advance(2)
    ready = sorted(p for p, _ in tracker.due())
    # Then the pipeline gets the non-directories, to report them itself
    assert ready == ["/src/fifo", "/src/link.jpg"]
    assert tracker.pending() == 0


def test_forget_and_forget_tree(
    tracker: StabilityTracker, clock: FakeClock, files: FakeFiles
) -> None:
    # Given files in two folders
    for path in ("/src/a/1.jpg", "/src/a/b/2.jpg", "/src/ab/3.jpg", "/src/4.jpg"):
        files.write(path, 1, 1)
        tracker.touch(path)
    # When one file and one folder are forgotten
    tracker.forget("/src/4.jpg")
    tracker.forget_tree("/src/a")
    clock.advance(2)
    # Then only the file in the other folder (a mere name-prefix sibling) remains
    assert [p for p, _ in tracker.due()] == ["/src/ab/3.jpg"]


def test_next_deadline_is_the_earliest(
    tracker: StabilityTracker, clock: FakeClock, files: FakeFiles
) -> None:
    # Given nothing tracked, then two files touched a second apart
    idle = tracker.next_deadline()
    files.write("/src/a.jpg", 1, 1)
    files.write("/src/b.jpg", 1, 1)
    tracker.touch("/src/a.jpg")
    clock.advance(1)
    tracker.touch("/src/b.jpg")
    # When / Then
    assert idle is None
    assert tracker.next_deadline() == pytest.approx(1002.0)


def test_failed_hand_over_comes_back_with_growing_backoff(
    tracker: StabilityTracker, clock: FakeClock, files: FakeFiles
) -> None:
    # Given a settled file whose hand-over fails
    files.write("/src/a.jpg", 100, 5)
    tracker.touch("/src/a.jpg")
    clock.advance(2)
    [(path, info)] = tracker.due()
    # When it fails twice
    first_delay = tracker.retry_later(path, info)
    clock.advance(first_delay)
    [(path, info)] = tracker.due()
    second_delay = tracker.retry_later(path, info)
    clock.advance(second_delay - 0.01)
    too_early = tracker.due()
    clock.advance(0.01)
    retried = tracker.due()
    # Then it comes back after 1 s, then 2 s, still unchanged
    assert (first_delay, second_delay) == (1.0, 2.0)
    assert too_early == []
    assert [p for p, _ in retried] == ["/src/a.jpg"]


def test_success_resets_the_backoff(
    tracker: StabilityTracker, clock: FakeClock, files: FakeFiles
) -> None:
    # Given a file whose hand-over failed once and then succeeded
    files.write("/src/a.jpg", 100, 5)
    info = files("/src/a.jpg")
    tracker.retry_later("/src/a.jpg", info)
    clock.advance(1)
    tracker.due()
    tracker.handed_over("/src/a.jpg")
    # When a later version fails again
    delay = tracker.retry_later("/src/a.jpg", info)
    # Then the backoff starts from the beginning
    assert delay == 1.0


def test_changed_file_waiting_for_retry_gets_a_new_quiet_period(
    tracker: StabilityTracker, clock: FakeClock, files: FakeFiles
) -> None:
    # Given a file waiting for a retry that is rewritten meanwhile
    files.write("/src/a.jpg", 100, 5)
    tracker.retry_later("/src/a.jpg", files("/src/a.jpg"))
    files.write("/src/a.jpg", 300, 9)
    # When the retry comes due
    clock.advance(1)
    at_retry = tracker.due()
    clock.advance(2)
    later = tracker.due()
    # Then it is re-checked rather than trusted, and handed over once quiet
    assert at_retry == []
    assert [(p, i.st_size) for p, i in later] == [("/src/a.jpg", 300)]


def test_backoff_doubles_up_to_a_cap() -> None:
    # Given / When / Then
    assert [backoff_delay(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert backoff_delay(10_000) == 60


def test_negative_quiet_period_is_refused() -> None:
    # Given / When / Then
    with pytest.raises(ValueError):
        StabilityTracker(-1)
