"""Per-key limits: requests per minute and jobs in flight, shared by every API process
through Redis, for each API key. A service without keys (one user's machine) has none.

Requests are counted in fixed one-minute windows (``INCR`` with an expiry: atomic, one round
trip); a request over the budget is a 429 with ``retry-after`` (the seconds to the next
window) and Groq's ``x-ratelimit-*-requests`` headers. Jobs in flight are the caller's jobs
that are queued or processing, kept as a Redis set by the job store.
"""

from __future__ import annotations

import time
from typing import Any

from audiosvc.errors import QuotaExceededError
from audiosvc.jobs import JobStore

WINDOW = 60


def _key(who: str, window: int) -> str:
    return f"audiosvc:quota:{who}:{window}"


def count_request(r: Any, who: str, limit: int, now: float | None = None) -> None:
    """Count one request of ``who``; raise 429 when it is over ``limit`` a minute (0: none)."""
    if limit <= 0:
        return
    now = time.time() if now is None else now
    window = int(now // WINDOW)
    pipe = r.pipeline()
    pipe.incr(_key(who, window))
    pipe.expire(_key(who, window), WINDOW * 2)
    used = int(pipe.execute()[0])
    if used > limit:
        reset = (window + 1) * WINDOW - now
        raise QuotaExceededError(
            f"rate limit reached: {limit} requests per minute for this key; "
            f"try again in {reset:.0f} s",
            retry_after=reset,
            headers={
                "x-ratelimit-limit-requests": str(limit),
                "x-ratelimit-remaining-requests": "0",
                "x-ratelimit-reset-requests": f"{reset:.2f}s",
            },
        )


def check_in_flight(store: JobStore, owner: str, limit: int) -> None:
    """429 when ``owner`` already has ``limit`` jobs queued or processing (0: no limit)."""
    if limit <= 0:
        return
    n = store.in_flight(owner)
    if n >= limit:
        raise QuotaExceededError(
            f"this key has {n} jobs queued or processing, the most it may have at once; "
            "submit more when one has finished",
            code="too_many_jobs",
            retry_after=float(WINDOW),
        )
