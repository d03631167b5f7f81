"""Retry delays: exponential, jittered, and never past the broker's visibility timeout."""

from __future__ import annotations

import random

import pytest

from shared.backoff import backoff_seconds, retry_cap


class FixedRandom(random.Random):
    """A Random whose random() always returns the same value."""

    def __init__(self, value: float) -> None:
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


def test_delay_doubles_with_each_retry() -> None:
    # Given no jitter at the top of the range
    top = FixedRandom(1.0)
    # When the delays for retries 0..9 are computed with a high cap
    delays = [backoff_seconds(n, cap=10_000, rand=top) for n in range(10)]
    # Then they are 1, 2, 4 … 512 seconds
    assert delays == [float(2**n) for n in range(10)]


def test_base_scales_the_delay() -> None:
    assert backoff_seconds(3, cap=10_000, base=0.5, rand=FixedRandom(1.0)) == 4.0


def test_jitter_stays_within_half_to_full() -> None:
    # Given many draws for the same retry number
    rand = random.Random(1234)
    delays = [backoff_seconds(3, cap=10_000, rand=rand) for _ in range(2000)]
    # Then each is 50–100 % of 8 s, and they really spread over that range
    assert all(4.0 <= d <= 8.0 for d in delays)
    assert min(delays) < 4.2 and max(delays) > 7.8
    assert backoff_seconds(3, cap=10_000, rand=FixedRandom(0.0)) == 4.0


def test_cap_bounds_every_delay() -> None:
    rand = random.Random(99)
    for retries in (0, 5, 10, 31, 1000, 10**6):
        delay = backoff_seconds(retries, cap=300, rand=rand)
        assert 0 < delay <= 300
    assert backoff_seconds(50, cap=300, rand=FixedRandom(1.0)) == 300.0
    assert backoff_seconds(50, cap=300, rand=FixedRandom(0.0)) == 150.0


@pytest.mark.parametrize(
    ("visibility", "backoff_max", "expected"),
    [(3600, 600, 600.0), (600, 600, 300.0), (100, 600, 50.0), (3600, 5000, 1800.0)],
)
def test_retry_cap_is_below_half_the_visibility_timeout(visibility: float, backoff_max: float,
                                                        expected: float) -> None:
    cap = retry_cap(visibility, backoff_max)
    assert cap == expected
    assert cap <= visibility / 2 and cap <= backoff_max


def test_retry_cap_is_at_least_a_second() -> None:
    assert retry_cap(3600, 0) == 1.0


def test_no_retry_outlives_the_visibility_timeout() -> None:
    # Given the default settings (visibility 3600 s, backoff max 600 s)
    cap = retry_cap(3600, 600)
    rand = random.Random(7)
    # Then no delay for any retry number reaches half the visibility timeout
    assert max(backoff_seconds(n, cap, rand=rand) for n in range(40)) <= 1800
