"""Webhooks: a signed POST of ``{id, status, links}`` when a job ends.

Verification, for receivers: the request carries ``Audiosvc-Timestamp`` (Unix seconds) and
``Audiosvc-Signature: v1=<hex>``, the HMAC-SHA256 under the shared secret
(``AUDIOSVC_WEBHOOK_SECRET``) of ``"<timestamp>." + raw body``. Recompute it, compare in
constant time, and reject timestamps more than five minutes old (replays).
:func:`verify` does exactly that.

Delivery is one attempt per call; the caller retries ``retry`` outcomes (timeouts, 408, 429,
5xx) with backoff and never retries ``give_up`` ones (other 4xx, redirects, bad URLs).
"""

from __future__ import annotations

import hashlib
import hmac
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

import httpx

from audiosvc.providers.openai_compat import parse_retry_after

SIGNATURE_HEADER = "Audiosvc-Signature"
TIMESTAMP_HEADER = "Audiosvc-Timestamp"
Outcome = Literal["delivered", "retry", "give_up"]


def sign(body: bytes, secret: str, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def signed_headers(body: bytes, secret: str | None, now: float | None = None) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "User-Agent": "audiosvc-webhook/1"}
    if secret:
        ts = int(time.time() if now is None else now)
        headers[TIMESTAMP_HEADER] = str(ts)
        headers[SIGNATURE_HEADER] = sign(body, secret, ts)
    return headers


def verify(
    body: bytes,
    headers: Mapping[str, str],
    secret: str,
    *,
    tolerance: float = 300,
    now: float | None = None,
) -> bool:
    lower = {k.lower(): v for k, v in headers.items()}
    try:
        ts = int(lower[TIMESTAMP_HEADER.lower()])
        given = lower[SIGNATURE_HEADER.lower()]
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - ts) > tolerance:
        return False
    return hmac.compare_digest(given, sign(body, secret, ts))


@dataclass(frozen=True)
class DeliveryResult:
    outcome: Outcome
    status: int | None = None
    retry_after: float | None = None
    detail: str = ""


def deliver(
    url: str,
    body: bytes,
    *,
    secret: str | None,
    timeout: float,
    client: httpx.Client | None = None,
) -> DeliveryResult:
    """One POST; never raises for network trouble."""
    own = client is None
    http = client or httpx.Client(timeout=timeout, follow_redirects=False)
    try:
        resp = http.post(url, content=body, headers=signed_headers(body, secret))
    except (httpx.InvalidURL, httpx.UnsupportedProtocol, ValueError) as exc:
        return DeliveryResult("give_up", detail=str(exc))  # retrying cannot help
    except (httpx.TimeoutException, httpx.TransportError) as exc:
        return DeliveryResult("retry", detail=type(exc).__name__)
    finally:
        if own:
            http.close()
    status = resp.status_code
    if 200 <= status < 300:
        return DeliveryResult("delivered", status)
    if status in (408, 429) or status >= 500:
        return DeliveryResult("retry", status, parse_retry_after(resp.headers))
    return DeliveryResult("give_up", status, detail=resp.text[:200])


def backoff(
    attempt: int,
    base: float = 2.0,
    cap: float = 600.0,
    rand: Callable[[], float] = random.random,
) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2**attempt)]."""
    return rand() * min(cap, base * 2.0**attempt)
