"""Per-key limits: requests per minute and jobs in flight, shared by every API process
through Redis, for each API key. A service without keys (one user's machine) has none.

Requests are counted in fixed one-minute windows (``INCR`` with an expiry: atomic, one round
trip). Every answer to a key carries Groq's ``x-ratelimit-*-requests`` headers (the budget, what
is left of it, and when it resets), so a client can slow down before it is refused; a request
over the budget is a 429 with ``retry-after`` (the seconds to the next window). Jobs in
flight are the caller's jobs that are queued or processing, kept as a Redis set by the job
store.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from audiosvc.errors import QuotaExceededError
from audiosvc.jobs import JobStore

WINDOW = 60
STATE = "ratelimit"  # where a request's budget waits for its response (the ASGI scope state)


@dataclass(frozen=True)
class Budget:
    """A key's requests this minute, as Groq reports them."""

    limit: int
    remaining: int
    reset: float  # seconds to the next window

    def headers(self) -> dict[str, str]:
        return {
            "x-ratelimit-limit-requests": str(self.limit),
            "x-ratelimit-remaining-requests": str(self.remaining),
            "x-ratelimit-reset-requests": f"{self.reset:.2f}s",
        }


def _key(who: str, window: int) -> str:
    return f"audiosvc:quota:{who}:{window}"


def count_request(r: Any, who: str, limit: int, now: float | None = None) -> Budget | None:
    """Count one request of ``who``: its budget after it (None without a limit), or a 429
    when it is over ``limit`` a minute (0: none)."""
    if limit <= 0:
        return None
    now = time.time() if now is None else now
    window = int(now // WINDOW)
    pipe = r.pipeline()
    pipe.incr(_key(who, window))
    pipe.expire(_key(who, window), WINDOW * 2)
    used = int(pipe.execute()[0])
    budget = Budget(limit, max(0, limit - used), (window + 1) * WINDOW - now)
    if used > limit:
        raise QuotaExceededError(
            f"rate limit reached: {limit} requests per minute for this key; "
            f"try again in {budget.reset:.0f} s",
            retry_after=budget.reset,
            headers=budget.headers(),
        )
    return budget


class BudgetHeaders:
    """ASGI middleware: the budget a request's key has left (:func:`count_request`, put in
    the scope's state by the ``caller`` dependency) goes out in its response's headers,
    whatever the route returns (JSON, a file, an event stream) and errors too."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_budget(message: Message) -> None:
            budget = scope.get("state", {}).get(STATE)
            if message["type"] == "http.response.start" and isinstance(budget, Budget):
                extra = [(k.encode(), v.encode()) for k, v in budget.headers().items()]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_budget)


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
