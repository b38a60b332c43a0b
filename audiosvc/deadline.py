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

With ``peer_ok``, it also checks the address each connection really reached, the moment it
is made, and cuts a connection to a refused one (``deadline.refused`` names it): a host name
checked when a job was submitted may resolve elsewhere by the time it is fetched (DNS
rebinding), so only the connected address counts.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

# httpcore's trace events that hand over a connection's network stream.
_STREAM_EVENTS = (
    "connection.connect_tcp.complete",
    "connection.connect_unix_socket.complete",
    "connection.start_tls.complete",
)


class Deadline:
    def __init__(self, seconds: float, peer_ok: Callable[[str], bool] | None = None) -> None:
        self.seconds = seconds
        self.peer_ok = peer_ok
        self.refused: str | None = None
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
        if event == "connection.connect_tcp.complete" and self.peer_ok is not None:
            with contextlib.suppress(OSError):
                peer = str(sock.getpeername()[0])
                if not self.peer_ok(peer):
                    self.refused = peer
                    late = True
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
