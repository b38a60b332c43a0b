"""Signed links: a URL that carries its own permission, for the places where a browser cannot
send an ``Authorization`` header (the ``src`` of an ``<audio>`` or ``<video>``).

The signature is an HMAC of the path and an expiry time under a secret that every API process
of a deployment shares through Redis (made once, at random, by whichever process needs it
first). A link is only ever given to a caller who may see the job, in its job view."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

import redis

SECRET_KEY = "audiosvc:link-signing-secret"
# A link lives long enough for a long recording to be listened to in one sitting. The expiry
# is rounded up to the hour, so one job view after another gives the same link and the
# browser does not fetch the media again.
LIFETIME_SECONDS = 6 * 3600
_ROUND = 3600


def signature(secret: bytes, path: str, expires: int) -> str:
    return hmac.new(secret, f"{path}\n{expires}".encode(), hashlib.sha256).hexdigest()


def valid(secret: bytes, path: str, expires: int, given: str, now: float) -> bool:
    # As bytes: compare_digest refuses str with non-ASCII characters (a 500, found by the
    # fuzzer), and a signature that is not one is simply wrong.
    expected = signature(secret, path, expires).encode()
    return expires >= now and hmac.compare_digest(expected, given.encode())


class LinkSigner:
    """Signs and checks links with the deployment's shared secret (read once per process)."""

    def __init__(self, r: redis.Redis) -> None:
        self._r = r
        self._secret: bytes | None = None

    def _key(self) -> bytes:
        if self._secret is None:
            self._r.set(SECRET_KEY, secrets.token_hex(32), nx=True)
            value = self._r.get(SECRET_KEY)
            assert isinstance(value, bytes)
            self._secret = value
        return self._secret

    def sign(self, path: str, now: float | None = None) -> str:
        """``path`` with ``expires`` and ``signature`` query parameters."""
        now = time.time() if now is None else now
        expires = (int(now + LIFETIME_SECONDS) // _ROUND + 1) * _ROUND
        return f"{path}?expires={expires}&signature={signature(self._key(), path, expires)}"

    def check(self, path: str, expires: int, given: str) -> bool:
        return valid(self._key(), path, expires, given, time.time())
