"""The `mixed` goal row (bench/mixed.py): from close and ingest times to the printed figure."""

from __future__ import annotations

from bench.goals import GOAL_KEYS
from bench.mixed import mixed_row


def test_the_row_gives_the_longest_and_median_wait_minus_the_stability_window() -> None:
    # Given three live files closed at 0, 1, 2 s and ingested 0.7, 2.0 and 6.0 s later
    closed = {"a": 100.0, "b": 101.0, "c": 102.0}
    done = {"a": 100.7, "b": 103.0, "c": 108.0}
    # When the row is made with a 0.5 s stability window and batches still waiting
    row = mixed_row(closed, done, stability=0.5, backlog_at={"a": 40, "b": 39, "c": 38})
    # Then the waits are 0.2, 1.5 and 5.5 s: the longest misses the 5 s goal
    assert row.goal == "mixed" and row.goal in GOAL_KEYS
    assert row.value == ("longest 5.50 s, p50 1.50 s over the 3 of 3 live files that arrived "
                         "while reconcile batches waited")
    assert row.met is False


def test_the_goal_is_judged_on_the_files_that_arrived_behind_the_backlog() -> None:
    closed = {"a": 10.0, "b": 11.0, "c": 12.0}
    fast = {"a": 11.0, "b": 12.0, "c": 30.0}
    # a file that arrived once the backlog had drained does not count, slow or not
    assert mixed_row(closed, fast, 0.5, {"a": 3, "b": 2, "c": 0}).met is True
    # a backlog drained before half of the files arrived proves nothing about the lanes
    assert mixed_row(closed, fast, 0.5, {"a": 3, "b": 0, "c": 0}).met is False
    # a live file never ingested is a miss, and counted
    missed = mixed_row(closed, {"a": 11.0, "b": 12.0}, 0.5, {"a": 3, "b": 2, "c": 1})
    assert missed.met is False and "1 missed" in missed.value
    none = mixed_row(closed, {}, 0.5, {"a": 3, "b": 2, "c": 1})
    assert none.met is False and none.value == (
        "no live file was ingested while the backlog waited (3 arrived then, 3 missed)")
