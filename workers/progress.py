"""The rate and the time left of a progress bar (`sync`, `mirror`): one figure for both.

Rich's own speed divides what the samples of its window added by the time between the first
and the last sample: two batches that finish a millisecond apart read as gigabytes a second.
Here the rate is what was done since a point RATE_WINDOW seconds back (or the start) divided by
the time since then, so it moves smoothly; the time left divides what remains by that same rate,
and a finished bar shows the average of the whole run, which is the summary's figure.
"""

from __future__ import annotations

from collections import deque

from rich import filesize
from rich.progress import ProgressColumn, Task
from rich.text import Text

RATE_WINDOW = 10.0  # seconds the shown rate averages over


class SteadyRate:
    """Bytes a second of one bar, averaged over the last `window` seconds."""

    def __init__(self, window: float = RATE_WINDOW) -> None:
        self.window = window
        self._samples: deque[tuple[float, float]] = deque()

    def __call__(self, task: Task) -> float | None:
        if task.start_time is None:
            return None
        if task.finished:  # finished_time: the elapsed time when it finished, fixed from then
            elapsed = task.finished_time or 0.0
            return task.completed / elapsed if elapsed > 0 else None
        now = task.get_time()
        self._samples.append((now, task.completed))
        # The baseline: the newest sample at least a window old, else the start (0 done).
        while len(self._samples) > 1 and self._samples[1][0] <= now - self.window:
            self._samples.popleft()
        since, done_then = self._samples[0]
        if since > now - self.window:
            since, done_then = task.start_time, 0.0
        seconds = now - since
        return (task.completed - done_then) / seconds if seconds > 0 else None


class RateColumn(ProgressColumn):
    def __init__(self, rate: SteadyRate) -> None:
        super().__init__()
        self.rate = rate

    def render(self, task: Task) -> Text:
        speed = self.rate(task)
        return Text(f"{filesize.decimal(int(speed))}/s" if speed else "?/s",
                    style="progress.data.speed")


class TimeLeftColumn(ProgressColumn):
    def __init__(self, rate: SteadyRate) -> None:
        super().__init__()
        self.rate = rate

    def render(self, task: Task) -> Text:
        speed = self.rate(task)
        if task.finished or task.total is None or not speed:
            return Text("-:--:--" if not task.finished else "0:00:00",
                        style="progress.remaining")
        left = int(max(0.0, task.total - task.completed) / speed)
        return Text(f"{left // 3600}:{left // 60 % 60:02d}:{left % 60:02d}",
                    style="progress.remaining")


def rate_columns() -> tuple[RateColumn, TimeLeftColumn]:
    """The rate and the time left of one bar, sharing one average."""
    rate = SteadyRate()
    return RateColumn(rate), TimeLeftColumn(rate)
