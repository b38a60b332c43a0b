"""Webhooks: a signed POST of ``{id, status, links}`` when a job ends.

Verification, for receivers: the request carries ``Audiosvc-Timestamp`` (Unix seconds) and
``Audiosvc-Signature: v1=<hex>``, the HMAC-SHA256 under the shared secret
(``AUDIOSVC_WEBHOOK_SECRET``) of ``"<timestamp>." + raw body``. Recompute it, compare in
constant time, and reject timestamps more than five minutes old (replays).
:func:`verify` does exactly that.

Delivery is one attempt per call, bounded in total time; the caller retries ``retry``
outcomes (timeouts, and the statuses :mod:`audiosvc.retry` names) under its policy and never
retries ``give_up`` ones (other 4xx, redirects, bad URLs).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import httpx

from audiosvc import retry
from audiosvc.deadline import Deadline
from audiosvc.errors import InvalidRequestError
from audiosvc.fetch import public_peer, refused_peer, validate_url

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
    return hmac.compare_digest(given.encode(), sign(body, secret, ts).encode())


@dataclass(frozen=True)
class DeliveryResult:
    outcome: Outcome
    status: int | None = None
    retry_after: float | None = None
    detail: str = ""


# What is read of a receiver's answer: its status, and this much of its body for the log.
MAX_ANSWER_BYTES = 1024


def deliver(
    url: str, body: bytes, *, secret: str | None, timeout: float, allow_private: bool = False
) -> DeliveryResult:
    """One POST, ``timeout`` seconds in all (connect, send, the whole answer), so a receiver
    that trickles its answer cannot hold an io thread; never raises for network trouble.
    The address is checked again now, on the connection itself (it was checked when the job
    was submitted, but DNS may have changed since): a private one is never posted to."""
    peer_ok = None if allow_private else public_peer
    try:
        validate_url(url, allow_private=allow_private)
        with (
            Deadline(timeout, peer_ok=peer_ok) as deadline,
            httpx.Client(timeout=timeout, follow_redirects=False) as http,
            http.stream(
                "POST",
                url,
                content=body,
                headers=signed_headers(body, secret),
                extensions=deadline.extensions,
            ) as resp,
        ):
            text = b""
            for block in resp.iter_bytes():
                text += block
                if len(text) >= MAX_ANSWER_BYTES:
                    break
            return _judge(resp, text[:MAX_ANSWER_BYTES].decode("utf-8", "replace"))
    except (httpx.InvalidURL, httpx.UnsupportedProtocol, ValueError, InvalidRequestError) as exc:
        return DeliveryResult("give_up", detail=str(exc))  # retrying cannot help
    except httpx.HTTPError as exc:
        if deadline.refused is not None:
            return DeliveryResult("give_up", detail=str(refused_peer(deadline.refused)))
        if deadline.expired:
            return DeliveryResult("retry", detail=f"no complete answer within {timeout:g} s")
        return DeliveryResult("retry", detail=type(exc).__name__)


def _judge(resp: httpx.Response, text: str) -> DeliveryResult:
    status = resp.status_code
    if 200 <= status < 300:
        return DeliveryResult("delivered", status)
    if retry.retryable_status(status):
        return DeliveryResult("retry", status, retry.retry_after(resp.headers))
    return DeliveryResult("give_up", status, detail=text[:200])
