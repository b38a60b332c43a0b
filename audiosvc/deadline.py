"""A total deadline for one httpx exchange.

httpx's timeouts bound each connect, write and read, never the whole exchange: a server that
sends a byte every few seconds, in its headers or its body, keeps every read short and the
exchange alive for ever. :class:`Deadline` ends it: it learns each connection's socket from
httpx's ``trace`` extension, and when the time is up it shuts the socket down, which wakes the
blocked read at once (``shutdown``, unlike ``close``, is safe while another thread reads).

    with Deadline(30) as deadline:
        with client.stream("GET", url, extensions=deadline.extensions) as resp:
            ...
    # an httpx.TransportError raised inside, with deadline.expired, means "out of time"
"""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType
from typing import Any

# httpcore's trace events that hand over a connection's network stream.
_STREAM_EVENTS = (
    "connection.connect_tcp.complete",
    "connection.connect_unix_socket.complete",
    "connection.start_tls.complete",
)


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    @property
    def extensions(self) -> dict[str, Any]:
        """Pass as ``extensions=`` to an httpx request."""
        return {"trace": self._trace}

    def __enter__(self) -> Deadline:
        if self.seconds != float("inf"):
            self._timer.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._timer.cancel()

    def _trace(self, event: str, info: dict[str, Any]) -> None:
        if event not in _STREAM_EVENTS:
            return
        stream = info.get("return_value")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if not isinstance(sock, socket.socket):
            return
        with self._lock:
            self._sockets.append(sock)
            late = self.expired
        if late:
            _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)


def _shut(sock: socket.socket) -> None:
    # The plain socket's shutdown, also for an SSLSocket: the TLS layer is not touched from
    # this thread, the reading thread simply sees the connection end. OSError: already closed.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
