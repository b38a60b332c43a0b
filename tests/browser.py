"""A real browser for the web app's tests and benchmark: Debian's Chromium (``make test``
installs it), driven by Playwright through ``executable_path``, and a page that records
everything the tests refuse: console errors, uncaught exceptions and requests to any other
origin."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, Request

# Where the tests leave their screenshots (CI keeps the folder as the run's artifacts).
ARTIFACTS = Path(os.environ.get("AUDIOSVC_TEST_ARTIFACTS", "build/test-artifacts"))

# Chromium as the machine's probe starts it: no first-run work, no background connections
# (this machine's network is closed: they would be refused, many at a time), no GPU.
CHROMIUM_ARGS = [
    "--no-sandbox",  # root in a container has no user namespaces for the sandbox
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def chromium_path() -> str:
    """``AUDIOSVC_CHROMIUM``, else the system's ``chromium`` (Debian's package)."""
    named = os.environ.get("AUDIOSVC_CHROMIUM")
    found = named or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        raise RuntimeError(
            "the web app's tests need Chromium: `make test` installs Debian's chromium "
            "(apt-get); elsewhere install it, or name it with AUDIOSVC_CHROMIUM"
        )
    return found


def launch(p: Playwright) -> Browser:
    return p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)


@dataclass
class Watched:
    """A page and what it did that no page of ours may do."""

    page: Page
    origin: str
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)
    # Responses the test provokes on purpose (a 401 for a wrong key...): Chromium logs every
    # failed request as a console error, which is not the page's fault.
    expected_statuses: set[int] = field(default_factory=set)

    def _console(self, msg: ConsoleMessage) -> None:
        if msg.type != "error":
            return
        text = msg.text
        if any(
            text.startswith(f"Failed to load resource: the server responded with a status of {s}")
            for s in self.expected_statuses
        ):
            return
        self.console_errors.append(f"{text} ({msg.location.get('url', '')})")

    def _request(self, request: Request) -> None:
        scheme, netloc, *_ = urlsplit(request.url)
        if scheme in ("data", "blob"):
            return
        if f"{scheme}://{netloc}" != self.origin:
            self.foreign_requests.append(request.url)

    def problems(self) -> list[str]:
        return (
            [f"console error: {e}" for e in self.console_errors]
            + [f"uncaught: {e}" for e in self.page_errors]
            + [f"request to another origin: {u}" for u in self.foreign_requests]
        )

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=False)
        return path


@contextmanager
def watched_page(
    browser: Browser, origin: str, viewport: dict[str, int] | None = None
) -> Iterator[Watched]:
    """A page in a fresh context (its own storage), recording what :class:`Watched` lists."""
    context = browser.new_context(viewport=viewport or DESKTOP, accept_downloads=True)  # type: ignore[arg-type]
    page = context.new_page()
    w = Watched(page, origin.rstrip("/"))
    page.on("console", w._console)
    page.on("pageerror", lambda exc: w.page_errors.append(str(exc)))
    page.on("request", w._request)
    try:
        yield w
    finally:
        context.close()
