"""The one retry policy: what is retryable, how long each wait is, when it gives up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from audiosvc import retry
from audiosvc.errors import ProviderUnavailable


def test_retryable_statuses() -> None:
    assert [
        s for s in (200, 400, 401, 404, 408, 409, 413, 425, 429) if retry.retryable_status(s)
    ] == [
        408,
        409,
        425,
        429,
    ]
    assert all(retry.retryable_status(s) for s in (500, 502, 503, 504, 599))


def test_retry_after_forms() -> None:
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    date = format_datetime(now + timedelta(seconds=7), usegmt=True)
    assert retry.retry_after(httpx.Headers({"Retry-After": "3"})) == 3.0
    assert retry.retry_after(httpx.Headers({"retry-after": "1.5"})) == 1.5
    assert retry.retry_after(httpx.Headers({"Retry-After-Ms": "250"})) == 0.25
    assert retry.retry_after(httpx.Headers({"retry-after": date}), now=lambda: now) == 7.0
    past = format_datetime(now - timedelta(seconds=7), usegmt=True)
    assert retry.retry_after(httpx.Headers({"retry-after": past}), now=lambda: now) == 0.0
    assert retry.retry_after(httpx.Headers({"retry-after": "soon"})) is None
    assert retry.retry_after(httpx.Headers({})) is None


def test_backoff_is_full_jitter_under_a_growing_capped_ceiling() -> None:
    policy = retry.Policy(max_retries=10, base=1.0, cap=4.0)
    waits = {a: [policy.backoff(a) for _ in range(200)] for a in range(6)}
    for attempt, drawn in waits.items():
        ceiling = min(4.0, 2.0**attempt)
        assert all(0.0 <= w <= ceiling for w in drawn)
        assert max(drawn) > 0.8 * ceiling  # the whole range is used, not a fixed schedule
    assert len({round(w, 6) for w in waits[5]}) > 150
    assert policy.backoff(10_000) <= 4.0  # no overflow on absurd attempt counts


def test_told_waits_are_capped_and_too_long_ones_give_up() -> None:
    policy = retry.Policy(max_retries=3, base=1.0, cap=10.0)
    assert policy.wait(0, told=7.0) == 7.0
    assert policy.wait(0, told=70.0) == 10.0
    assert not policy.gives_up(2) and policy.gives_up(3)
    assert policy.gives_up(0, told=11.0) and not policy.gives_up(0, told=10.0)


class Flaky:
    def __init__(self, failures: list[BaseException]) -> None:
        self.failures = failures
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "ok"


def test_retrying_retries_only_what_it_is_told_and_reraises_the_last() -> None:
    waits: list[float] = []
    policy = retry.Policy(max_retries=2, base=0.01, cap=0.02)
    transient = lambda exc: isinstance(exc, ProviderUnavailable)  # noqa: E731
    flaky = Flaky([ProviderUnavailable("a"), ProviderUnavailable("b")])
    assert policy.retrying(transient, call="test", sleep=waits.append)(flaky) == "ok"
    assert flaky.calls == 3 and len(waits) == 2

    flaky = Flaky([ProviderUnavailable(str(i)) for i in range(5)])
    with pytest.raises(ProviderUnavailable, match=r"^2$"):
        policy.retrying(transient, call="test", sleep=waits.append)(flaky)
    assert flaky.calls == 3  # the first attempt and max_retries=2

    flaky = Flaky([ValueError("bad")])
    with pytest.raises(ValueError):
        policy.retrying(transient, call="test", sleep=waits.append)(flaky)
    assert flaky.calls == 1


def test_retrying_honours_retry_after() -> None:
    waits: list[float] = []
    policy = retry.Policy(max_retries=3, base=1.0, cap=5.0)
    flaky = Flaky([ProviderUnavailable("busy", retry_after=0.25)])
    assert policy.retrying(lambda exc: True, call="test", sleep=waits.append)(flaky) == "ok"
    assert waits == [0.25]

    flaky = Flaky([ProviderUnavailable("come back tomorrow", retry_after=86_400)])
    with pytest.raises(ProviderUnavailable):
        policy.retrying(lambda exc: True, call="test", sleep=waits.append)(flaky)
    assert flaky.calls == 1  # not waited for in-process: the caller reschedules


def test_a_deadline_ends_the_retries() -> None:
    policy = retry.Policy(max_retries=1000, base=0.01, cap=0.01)
    flaky = Flaky([ProviderUnavailable(str(i)) for i in range(1000)])
    with pytest.raises(ProviderUnavailable):
        policy.retrying(lambda exc: True, call="test", deadline=0.2)(flaky)
    assert 2 < flaky.calls < 1000


def test_rescheduled_waits_stay_under_half_the_visibility_timeout() -> None:
    from audiosvc.settings import Settings

    policy = retry.rescheduled(Settings(visibility_timeout=60), max_retries=4)
    assert policy.cap == 30.0 and policy.max_retries == 4
    assert policy.wait(0, told=1000.0) == 30.0
