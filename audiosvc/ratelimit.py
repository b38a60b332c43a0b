"""Client-side rate limiting for a speech provider's quotas.

Groq (and OpenAI) enforce two budgets per API key: requests per minute and seconds of audio
per hour. A long recording is split into many chunks that several threads send at once, so
without a shared limiter the service would burn through the per-minute budget in a burst and
then collect 429s. :class:`RateLimiter` keeps both budgets over *sliding* windows (the last
60 s and the last 3600 s), which is how the provider counts them, and lets a caller that got a
429 hold every other caller back with :meth:`RateLimiter.penalize`.

Time is injected (``clock``/``sleep``) so the limiter can be tested with a fake clock.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from audiosvc import metrics
from audiosvc.errors import InvalidRequestError

REQUEST_WINDOW = 60.0  # seconds: "requests per minute"
AUDIO_WINDOW = 3600.0  # seconds: "audio seconds per hour"
# Floor for one sleep: a wait that rounds to ~0 must still advance a (fake) clock, or the
# re-check could spin forever on floating-point error.
_MIN_SLEEP = 1e-6


class RateLimiter:
    """Thread-safe limiter for requests per minute and audio seconds per hour.

    A limit of 0 (or less) disables that budget. Every :meth:`acquire` that returns counts as
    one request of ``audio_seconds`` from the moment it returns, whether or not the request
    then succeeds: the provider counts attempts too.
    """

    def __init__(
        self,
        requests_per_minute: int,
        audio_seconds_per_hour: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.requests_per_minute = requests_per_minute
        self.audio_seconds_per_hour = audio_seconds_per_hour
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._requests: deque[float] = deque()  # grant times, oldest first
        self._audio: deque[tuple[float, float]] = deque()  # (grant time, audio seconds)
        self._audio_total = 0.0
        self._penalty_until = float("-inf")

    # --- public API ---------------------------------------------------------------------------

    def acquire(self, audio_seconds: float = 0.0) -> float:
        """Block until a request of ``audio_seconds`` fits both budgets, record it, and return
        how long the caller waited (seconds).

        Raises :class:`InvalidRequestError` when ``audio_seconds`` alone exceeds the hourly
        budget: such a request could never be sent, so waiting would block forever.
        """
        if audio_seconds < 0:
            raise ValueError(f"audio_seconds must be >= 0, got {audio_seconds}")
        budget = self.audio_seconds_per_hour
        if budget > 0 and audio_seconds > budget:
            raise InvalidRequestError(
                f"a request of {audio_seconds:.1f} s of audio exceeds the provider's budget of "
                f"{budget:.0f} audio seconds per hour; use shorter chunks",
            )
        start = self._clock()
        while True:
            with self._lock:
                now = self._clock()
                wait = self._wait_needed(now, audio_seconds)
                if wait <= 0:
                    self._requests.append(now)
                    if audio_seconds > 0:
                        self._audio.append((now, audio_seconds))
                        self._audio_total += audio_seconds
                    waited = max(0.0, now - start)
                    metrics.count("audiosvc_ratelimit_wait_seconds", waited)
                    return waited
            # Sleep outside the lock so other threads can record grants and penalties; the
            # budget is re-checked on waking because another thread may have taken the slot.
            self._sleep(max(wait, _MIN_SLEEP))

    def penalize(self, seconds: float) -> None:
        """Hold every caller back for ``seconds`` from now (a 429's ``retry-after``).

        A shorter penalty never cuts an earlier, longer one short.
        """
        if seconds <= 0:
            return
        with self._lock:
            self._penalty_until = max(self._penalty_until, self._clock() + seconds)

    def usage(self) -> tuple[int, float]:
        """``(requests in the last minute, audio seconds in the last hour)``."""
        with self._lock:
            self._prune(self._clock())
            return len(self._requests), self._audio_total

    # --- internals (call with the lock held) --------------------------------------------------

    def _prune(self, now: float) -> None:
        while self._requests and self._requests[0] + REQUEST_WINDOW <= now:
            self._requests.popleft()
        while self._audio and self._audio[0][0] + AUDIO_WINDOW <= now:
            self._audio_total -= self._audio.popleft()[1]
        if not self._audio:
            self._audio_total = 0.0  # drop accumulated float error

    def _wait_needed(self, now: float, audio_seconds: float) -> float:
        """Seconds until a request of ``audio_seconds`` fits; <= 0 when it fits now."""
        self._prune(now)
        wait = self._penalty_until - now
        rpm = self.requests_per_minute
        if rpm > 0 and len(self._requests) >= rpm:
            # The grant that must leave the window for the count to drop below the limit.
            oldest_to_expire = self._requests[len(self._requests) - rpm]
            wait = max(wait, oldest_to_expire + REQUEST_WINDOW - now)
        budget = self.audio_seconds_per_hour
        excess = self._audio_total + audio_seconds - budget
        if budget > 0 and excess > 1e-9:
            freed = 0.0
            for granted_at, seconds in self._audio:
                freed += seconds
                if freed >= excess - 1e-9:
                    wait = max(wait, granted_at + AUDIO_WINDOW - now)
                    break
        return wait
