"""`./dev bench` prints every goal of issue 12 once, with its ratio and whether it is met."""

from __future__ import annotations

from bench.goals import GOALS, GoalRow, ratio_row, render
from bench.run import MEASUREMENTS


def test_every_goal_is_printed_once_and_the_unmeasured_ones_say_so() -> None:
    # Given rows for two goals only
    rows = [ratio_row("a-sync", [3.0, 2.0, 9.0], [2.0, 2.0, 3.0], 1.0),
            GoalRow("redis-bytes", "300 bytes/file", None, True)]
    # When the table is rendered
    lines = render(rows).splitlines()
    # Then there is a header and one line per goal, in the order
    assert len(lines) == 1 + len(GOALS)
    for (_, what, target), line in zip(GOALS, lines[1:], strict=True):
        assert line.startswith(what) and target in line
    # … the measured ones carry their figure, ratio and verdict, the others "not measured"
    a_sync = lines[1]
    assert "1.50" in a_sync and a_sync.rstrip().endswith("NO")
    assert "300 bytes/file" in lines[1 + [g for g, _, _ in GOALS].index("redis-bytes")]
    unmeasured = [line for line in lines[1:] if "not measured" in line]
    assert len(unmeasured) == len(GOALS) - 2
    assert all(line.rstrip().endswith("-") for line in unmeasured)


def test_a_ratio_is_the_median_of_the_per_round_ratios() -> None:
    # Given three rounds, each timing the tool and its baseline back to back
    row = ratio_row("b-rsync", [2.2, 2.0, 2.0], [1.0, 1.25, 0.2], 2.0)
    # Then the ratio is the median of 2.2, 1.6 and 10 (not the ratio of the medians, 2.0,
    # which would pass), so the goal ≤ 2.0 is not met
    assert row.ratio == 2.2 and not row.met


def test_other_modules_can_add_a_measurement() -> None:
    # Given a measurement appended to the hook, as bench/ssh.py or a new module would
    def watcher_rss(_bench: object) -> list[GoalRow]:
        return [GoalRow("watcher-rss", "41 MB", None, True)]

    MEASUREMENTS.append(watcher_rss)
    try:
        # Then it is on the list the run goes through, and its row replaces "not measured"
        assert watcher_rss in MEASUREMENTS
        line = next(x for x in render(watcher_rss(None)).splitlines() if "watcher RSS" in x)
        assert "41 MB" in line and line.rstrip().endswith("yes")
    finally:
        MEASUREMENTS.remove(watcher_rss)
