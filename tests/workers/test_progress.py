"""The progress bar's rate and time left (workers/progress.py): one steady average, not the
bursts of batches that finish together."""

from __future__ import annotations

import io

from rich.console import Console
from rich.progress import Progress

from workers.progress import RATE_WINDOW, SteadyRate, rate_columns

MB = 1_000_000


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def bar(clock: Clock, total: int) -> tuple[Progress, int]:
    progress = Progress(console=Console(file=io.StringIO()), get_time=clock, auto_refresh=False)
    return progress, progress.add_task("sync", total=total)


def test_two_batches_finishing_together_do_not_make_the_rate_jump() -> None:
    # Given a bar that has run 5 s at 10 MB/s, as batches of 10 MB once a second
    clock, rate = Clock(), SteadyRate()
    progress, task = bar(clock, 200 * MB)
    for _ in range(5):
        clock.now += 1.0
        progress.update(task, advance=10 * MB)
        rate(progress.tasks[0])

    # When two more batches finish a millisecond apart (two processes at once)
    clock.now += 1.0
    progress.update(task, advance=10 * MB)
    clock.now += 0.001
    progress.update(task, advance=10 * MB)
    shown = rate(progress.tasks[0])

    # Then the rate is the average since the start, about 11.7 MB/s, not a burst of GB/s
    assert shown is not None and 11 * MB < shown < 12 * MB


def test_the_rate_averages_the_last_window_and_the_time_left_uses_it() -> None:
    # Given a bar that went at 1 MB/s for 20 s and then at 4 MB/s for a whole window
    clock = Clock()
    progress, task = bar(clock, 200 * MB)
    rate_column, left_column = rate_columns()
    for speed, seconds in ((1, 20), (4, int(RATE_WINDOW))):
        for _ in range(seconds):
            clock.now += 1.0
            progress.update(task, advance=speed * MB)
            rate_column.render(progress.tasks[0])

    # When the columns render
    shown_rate = str(rate_column.render(progress.tasks[0]))
    shown_left = str(left_column.render(progress.tasks[0]))

    # Then the rate is the last window's (4 MB/s), and the time left divides the 140 MB left by
    # that same rate: 35 s
    assert shown_rate == "4.0 MB/s"
    assert shown_left == "0:00:35"


def test_a_finished_bar_shows_the_average_of_the_whole_run() -> None:
    # Given a run of 30 MB that took 3 s, the last second faster
    clock = Clock()
    progress, task = bar(clock, 30 * MB)
    rate_column, left_column = rate_columns()
    for advance in (5, 5, 20):
        clock.now += 1.0
        progress.update(task, advance=advance * MB)
        rate_column.render(progress.tasks[0])

    # When it has finished, and renders again later (the bar's last line, at its stop)
    clock.now += 5.0

    # Then it shows 10 MB/s (the summary's figure), not less as time goes on, and no time left
    assert progress.tasks[0].finished
    assert str(rate_column.render(progress.tasks[0])) == "10.0 MB/s"
    assert str(left_column.render(progress.tasks[0])) == "0:00:00"
