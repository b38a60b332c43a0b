"""A throwaway HTTP server on 127.0.0.1 for tests (media origins, webhook receivers)."""

from __future__ import annotations

import contextlib
import http.server
import threading
from collections.abc import Callable, Iterator
from typing import Any

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
