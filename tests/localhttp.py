"""A throwaway HTTP server on 127.0.0.1 for tests (media origins, webhook receivers)."""

from __future__ import annotations

import contextlib
import http.server
import threading
from collections.abc import Callable, Iterator
from typing import Any, Literal

Handler = Callable[..., http.server.BaseHTTPRequestHandler]


@contextlib.contextmanager
def serving(handler: Handler | type[Any]) -> Iterator[str]:
    """Serve ``handler`` on a free port in a thread; yields the base URL."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@contextlib.contextmanager
def trickling(
    interval: float = 0.1, *, where: Literal["body", "headers"] = "body"
) -> Iterator[tuple[str, threading.Event]]:
    """A server that answers GET and POST with a byte every ``interval`` seconds, forever
    (until the client hangs up or the test ends): in the body of a 200, or (``headers``)
    inside a header line that never ends. Every read succeeds, so only a deadline on the
    whole exchange ends it. Yields its URL and an event set once a request arrived."""
    arrived = threading.Event()
    stop = threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            arrived.set()
            self.rfile.read(int(self.headers.get("content-length", 0)))
            if where == "body":
                self.send_response(200)
                self.send_header("content-type", "audio/wav")
                self.send_header("content-length", str(1 << 30))
                self.end_headers()
            else:
                self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            try:
                while not stop.wait(interval):
                    self.wfile.write(b"a" if where == "headers" else b"\0")
                    self.wfile.flush()
            except OSError:  # the client hung up: what the test wants
                pass

        do_POST = do_GET

        def log_message(self, *args: object) -> None:
            pass

    try:
        with serving(Handler) as url:
            yield f"{url}/trickle.wav", arrived
    finally:
        stop.set()
