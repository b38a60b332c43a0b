"""The one retry policy for every outgoing HTTP call: the speech provider, the chat endpoint,
webhook deliveries and URL downloads.

What is retried
    Transport failures (no connection, a timeout, a dropped connection) and the statuses
    :func:`retryable_status` names: 408, 409, 425, 429 and every 5xx. Nothing else: another
    4xx is the request's own fault and would fail again.

How long to wait
    The server's ``retry-after`` (or ``retry-after-ms``) when it sends one; otherwise
    exponential backoff with full jitter (tenacity's ``wait_random_exponential``): attempt
    ``n`` (from 0) waits uniformly in ``[0, min(cap, base * 2**n)]``, so a crowd of clients
    that failed together does not come back together. A server that asks for a longer wait
    than ``cap`` is not waited for in-process: the caller gives up with that ``retry_after``
    and may reschedule.

Where
    Calls that retry in their own process (provider requests, URL downloads) run through
    :meth:`Policy.retrying`; Celery tasks that retry by rescheduling themselves (a chunk, a
    spoken reply, a webhook) take their countdown from :meth:`Policy.wait`. Both draw from
    the same :class:`Policy`, made from settings by :func:`in_process` or :func:`rescheduled`.
"""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import tenacity

from audiosvc import metrics
from audiosvc.settings import Settings

RETRYABLE_STATUSES = frozenset({408, 409, 425, 429})
# Celery redelivers a task whose countdown outlasts the broker's visibility timeout; a task's
# wait stays under half of it.
_VISIBILITY_SHARE = 0.5


def retryable_status(status: int) -> bool:
    """Whether an HTTP status says that the same request may succeed later."""
    return status in RETRYABLE_STATUSES or status >= 500


def retry_after(
    headers: Mapping[str, str], now: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> float | None:
    """Seconds to wait from ``retry-after-ms``, or ``retry-after`` (seconds or HTTP date)."""
    ms = headers.get("retry-after-ms")
    if ms is not None:
        try:
            value = float(ms) / 1000
            if math.isfinite(value) and value >= 0:
                return value
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        value = float(raw)
        return value if math.isfinite(value) and value >= 0 else None
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now()).total_seconds())


def _told_to_wait(exc: BaseException | None) -> float | None:
    value = getattr(exc, "retry_after", None)
    return float(value) if isinstance(value, int | float) else None


@dataclass(frozen=True)
class Policy:
    """``max_retries`` retries after the first attempt, waits from ``base`` up to ``cap``."""

    max_retries: int
    base: float
    cap: float

    def backoff(self, attempt: int) -> float:
        """The jittered wait before retry ``attempt`` (0 for the first retry)."""
        state = tenacity.RetryCallState(None, None, (), {})  # type: ignore[arg-type]
        state.attempt_number = min(attempt, 60) + 1
        return float(tenacity.wait_random_exponential(multiplier=self.base, max=self.cap)(state))

    def wait(self, attempt: int, told: float | None = None) -> float:
        """The server's ``retry-after`` when given (capped), else :meth:`backoff`."""
        return min(told, self.cap) if told is not None else self.backoff(attempt)

    def gives_up(self, attempt: int, told: float | None = None) -> bool:
        """Whether retry ``attempt`` is one too many, or the server asks for too long a wait."""
        return attempt >= self.max_retries or (told is not None and told > self.cap)

    def retrying(
        self,
        retryable: Callable[[BaseException], bool],
        *,
        call: str,
        sleep: Callable[[float], None] = time.sleep,
        deadline: float | None = None,
    ) -> tenacity.Retrying:
        """A tenacity ``Retrying`` that calls a function until it returns, raises something
        not ``retryable``, runs out of retries, is told to wait longer than ``cap``, or
        has passed ``deadline`` seconds from now (the last wait is cut to fit). The last
        exception is re-raised as is. Each retry counts in ``audiosvc_retries{call}``."""
        end = None if deadline is None else time.monotonic() + deadline

        def stop(state: tenacity.RetryCallState) -> bool:
            exc = state.outcome.exception() if state.outcome else None
            if self.gives_up(state.attempt_number - 1, _told_to_wait(exc)):
                return True
            return end is not None and time.monotonic() >= end

        def wait(state: tenacity.RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            seconds = self.wait(state.attempt_number - 1, _told_to_wait(exc))
            metrics.count("audiosvc_retries", call=call)
            return seconds if end is None else max(0.0, min(seconds, end - time.monotonic()))

        return tenacity.Retrying(
            retry=tenacity.retry_if_exception(retryable),
            stop=stop,
            wait=wait,
            sleep=sleep,
            reraise=True,
        )


def in_process(settings: Settings) -> Policy:
    """Retries a call makes while its caller waits (provider requests, downloads)."""
    return Policy(settings.max_retries, settings.backoff_base, settings.backoff_max)


def rescheduled(settings: Settings, max_retries: int) -> Policy:
    """Retries of a Celery task that reschedules itself: waits grow from twice the in-process
    base, and stay under half the broker's visibility timeout."""
    cap = max(1.0, min(600.0, settings.visibility_timeout * _VISIBILITY_SHARE))
    return Policy(max_retries, 2 * settings.backoff_base, cap)
