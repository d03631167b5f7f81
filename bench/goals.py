"""The goals table of issue 12 and the rows `./dev bench` prints against it.

A measurement is a function of the running `Bench` that returns `GoalRow`s: what it measured,
the figure, its ratio against the baseline measured in the same run (None when the goal is an
absolute figure), the goal as text, and whether it is met. `bench/run.py` keeps them in one
list (`MEASUREMENTS`); a bench module adds its own by appending a function there. Every goal
in `GOALS` gets a row: one that no measurement produced is printed as "not measured".
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

# (goal key, what, the goal as text): in the order of the table.
GOALS: tuple[tuple[str, str, str], ...] = (
    ("a-sync", "a: photos vs `rsync -a && sync`", "≤ 1.0×"),
    ("a-rsync", "a: photos vs bare `rsync -a`", "≤ 1.2×"),
    ("b-sync", "b: small files vs `rsync -a && sync`", "≤ 1.5×"),
    ("b-rsync", "b: small files vs bare `rsync -a`", "≤ 2.0×"),
    ("first-import", "first import of the tiny-file tree vs `rsync -a`", "≤ 2.0×"),
    ("c", "c: reconcile, no change", "≥ 250,000 files/s"),
    ("ssh-sftp", "ssh: SFTP target vs `rsync -a -e ssh`", "≤ 1.2×"),
    ("ssh-rsync", "ssh: rsync target vs `rsync -a -e ssh`", "≤ 1.2×"),
    ("latency", "idle latency, file closed → verified (p50)", "≤ stability + 0.2 s"),
    ("watcher-rss", "watcher RSS with 100,000 files", "≤ 60 MB"),
    ("redis-bytes", "Redis memory per ingested file", "≤ 400 bytes"),
    ("mixed", "mixed: longest wait of a live file behind a reconcile", "≤ 5 s"),
    ("index", "index of an existing 100,000-file library (first pass)", "≥ 1,000 files/s"),
)
GOAL_KEYS = tuple(key for key, _, _ in GOALS)


@dataclass(frozen=True)
class GoalRow:
    """One printed figure. `goal` is the key of a line of `GOALS` (or a new name)."""

    goal: str
    value: str
    ratio: float | None
    met: bool | None
    what: str = ""
    target: str = ""


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def ratio_row(goal: str, tool: Sequence[float], base: Sequence[float], limit: float,
              note: str = "") -> GoalRow:
    """The median of the per-round ratios tool/base (each round measured the two back to
    back, so a busy moment of the machine weighs on both), against `limit`."""
    ratios = [t / b for t, b in zip(tool, base, strict=True) if b > 0]
    ratio = median(ratios) if ratios else float("nan")
    value = f"{median(tool):.2f} s vs {median(base):.2f} s" + (f" ({note})" if note else "")
    return GoalRow(goal, value, round(ratio, 2), ratio <= limit)


def not_measured(goal: str, why: str = "not measured") -> GoalRow:
    return GoalRow(goal, why, None, None)


def complete(rows: list[GoalRow]) -> list[GoalRow]:
    """Every goal of the table once, in its order (a "not measured" row for a missing one),
    then any extra rows; `what` and `target` filled from the table."""
    by_goal: dict[str, list[GoalRow]] = {}
    for row in rows:
        by_goal.setdefault(row.goal, []).append(row)
    out = []
    for key, what, target in GOALS:
        for row in by_goal.pop(key, None) or [not_measured(key)]:
            out.append(GoalRow(row.goal, row.value, row.ratio, row.met, row.what or what,
                               row.target or target))
    for extra in by_goal.values():
        out += extra
    return out


def _met(met: bool | None) -> str:
    return "-" if met is None else ("yes" if met else "NO")


def render(rows: list[GoalRow]) -> str:
    """The goals table: what, figure, ratio, goal, met."""
    rows = complete(rows)
    what_width = max(len(r.what or r.goal) for r in rows)
    value_width = max(len(r.value) for r in rows)
    lines = [f"{'goal':<{what_width}}  {'measured':<{value_width}}  {'ratio':>6}  "
             f"{'target':<20} met"]
    for row in rows:
        ratio = "" if row.ratio is None else f"{row.ratio:.2f}"
        lines.append(f"{row.what or row.goal:<{what_width}}  {row.value:<{value_width}}  "
                     f"{ratio:>6}  {row.target:<20} {_met(row.met)}")
    return "\n".join(lines)
