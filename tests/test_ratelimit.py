"""RateLimiter with a fake clock: sleeping advances the clock, nothing waits for real."""

from __future__ import annotations

import threading

import pytest

from audiosvc.errors import InvalidRequestError
from audiosvc.ratelimit import RateLimiter


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


def make(rpm: int = 0, ash: float = 0.0) -> tuple[RateLimiter, FakeClock]:
    clock = FakeClock()
    return RateLimiter(rpm, ash, clock=clock, sleep=clock.sleep), clock


def test_requests_within_the_budget_do_not_wait() -> None:
    limiter, clock = make(rpm=3)
    assert [limiter.acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert clock.sleeps == []
    assert limiter.usage() == (3, 0.0)


def test_request_over_the_rpm_waits_for_the_oldest_to_leave_the_window() -> None:
    limiter, clock = make(rpm=3)
    limiter.acquire()  # t=0
    clock.advance(30)
    limiter.acquire()  # t=30
    clock.advance(10)
    limiter.acquire()  # t=40
    clock.advance(10)  # t=50: the window holds 3
    assert limiter.acquire() == pytest.approx(10.0)  # until t=60, when t=0 expires
    assert limiter.acquire() == pytest.approx(30.0)  # until t=90, when t=30 expires
    assert clock.now == pytest.approx(1090.0)


def test_the_window_slides_rather_than_resetting_each_minute() -> None:
    limiter, clock = make(rpm=2)
    limiter.acquire()  # t=0
    clock.advance(59)
    limiter.acquire()  # t=59
    clock.advance(2)  # t=61: t=0 has left the window, t=59 has not
    assert limiter.acquire() == 0.0
    assert limiter.acquire() == pytest.approx(58.0)  # until t=119, when t=59 expires


def test_audio_seconds_per_hour_budget() -> None:
    limiter, clock = make(ash=100.0)
    assert limiter.acquire(60.0) == 0.0  # t=0
    clock.advance(10)
    assert limiter.acquire(40.0) == 0.0  # t=10: exactly the budget
    clock.advance(10)  # t=20
    # 10 more seconds only fit once the first 60 s leave the hour window at t=3600.
    assert limiter.acquire(10.0) == pytest.approx(3580.0)
    requests, audio = limiter.usage()
    assert requests == 1
    assert audio == pytest.approx(50.0)  # 40 (t=10) + 10 (now)


def test_audio_wait_frees_only_as_much_as_needed() -> None:
    limiter, clock = make(ash=100.0)
    limiter.acquire(30.0)  # t=0
    clock.advance(100)
    limiter.acquire(30.0)  # t=100
    clock.advance(100)
    limiter.acquire(30.0)  # t=200
    # 90 used; 50 more need 40 freed: the first two grants (t=0 and t=100) must expire.
    assert limiter.acquire(50.0) == pytest.approx(3700.0 - 200.0)
    assert clock.sleeps == [pytest.approx(3500.0)]  # one sleep, straight to the right time


def test_request_larger_than_the_hourly_budget_is_rejected_without_waiting() -> None:
    limiter, clock = make(rpm=10, ash=100.0)
    with pytest.raises(InvalidRequestError, match="exceeds"):
        limiter.acquire(100.5)
    assert clock.sleeps == []
    assert limiter.usage() == (0, 0.0)  # nothing was recorded
    assert limiter.acquire(100.0) == 0.0  # exactly the budget is fine


def test_negative_audio_seconds_is_a_bug() -> None:
    limiter, _ = make()
    with pytest.raises(ValueError):
        limiter.acquire(-1.0)


def test_penalize_holds_everyone_back() -> None:
    limiter, _ = make(rpm=100)
    limiter.penalize(5.0)
    assert limiter.acquire() == pytest.approx(5.0)
    assert limiter.acquire() == 0.0  # the penalty is over


def test_a_shorter_penalty_does_not_cut_a_longer_one_short() -> None:
    limiter, _ = make()
    limiter.penalize(10.0)
    limiter.penalize(2.0)
    limiter.penalize(0.0)
    assert limiter.acquire() == pytest.approx(10.0)


def test_penalty_and_rpm_combine_to_the_longer_wait() -> None:
    limiter, _ = make(rpm=1)
    limiter.acquire()  # t=0
    limiter.penalize(5.0)
    assert limiter.acquire() == pytest.approx(60.0)


def test_zero_limits_mean_unlimited() -> None:
    limiter, clock = make(rpm=0, ash=0.0)
    for _ in range(1000):
        assert limiter.acquire(3600.0) == 0.0
    assert clock.sleeps == []


def test_concurrent_acquires_share_one_budget() -> None:
    """12 grants from 4 threads at 5 per minute need at least two full windows of waiting:
    the 6th grant comes >= 60 s after the 1st, the 11th >= 60 s after the 6th."""
    limiter, clock = make(rpm=5)
    start = clock()
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(3):
                limiter.acquire()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert not errors
    assert clock() - start >= 120.0
    requests, _ = limiter.usage()
    assert requests <= 5
