"""Webhook signatures and delivery outcomes against a real local receiver."""

from __future__ import annotations

import http.server
import time
from collections.abc import Iterator

import pytest

from audiosvc import webhooks
from tests.localhttp import serving, trickling


def test_signature_verifies_only_with_the_right_secret_fresh_and_untampered() -> None:
    body = b'{"id":"job_1","status":"succeeded","links":{}}'
    headers = webhooks.signed_headers(body, "s3cret", now=1_000_000)
    assert webhooks.verify(body, headers, "s3cret", now=1_000_100)
    assert not webhooks.verify(body, headers, "other", now=1_000_100)
    assert not webhooks.verify(body + b" ", headers, "s3cret", now=1_000_100)
    assert not webhooks.verify(body, headers, "s3cret", now=1_000_000 + 301)  # replayed late
    assert not webhooks.verify(body, {}, "s3cret")
    forged = {**headers, webhooks.SIGNATURE_HEADER: "sha256=\u00fd\u00ea"}  # not ASCII
    assert not webhooks.verify(body, forged, "s3cret", now=1_000_100)


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[int]]]:
    """Answers with the status in the path: /200, /500, /400, /429, /slow."""
    statuses: list[int] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", 0)))
            if self.path == "/slow":
                time.sleep(1.0)  # the server being slow, not test synchronization
                code = 200
            else:
                code = int(self.path.strip("/"))
            statuses.append(code)
            self.send_response(code)
            if code == 429:
                self.send_header("Retry-After", "7")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    with serving(Handler) as url:
        yield url, statuses


@pytest.mark.parametrize(
    ("path", "outcome", "retry_after"),
    [
        ("/200", "delivered", None),
        ("/500", "retry", None),
        ("/400", "give_up", None),
        ("/429", "retry", 7.0),
        ("/slow", "retry", None),
    ],
)
def test_delivery_outcomes(
    receiver: tuple[str, list[int]], path: str, outcome: str, retry_after: float | None
) -> None:
    base, _ = receiver
    result = webhooks.deliver(base + path, b"{}", secret="s", timeout=0.3, allow_private=True)
    assert result.outcome == outcome
    assert result.retry_after == retry_after


def test_unreachable_is_retried_and_a_bad_url_is_not() -> None:
    local = {"secret": None, "timeout": 1, "allow_private": True}
    assert webhooks.deliver("http://127.0.0.1:9/", b"{}", **local).outcome == "retry"  # type: ignore[arg-type]
    assert webhooks.deliver("not a url", b"{}", **local).outcome == "give_up"  # type: ignore[arg-type]


def test_a_receiver_that_trickles_its_answer_is_cut_off_at_the_timeout() -> None:
    """One byte every 0.1 s, inside the status headers: no read ever times out, the
    attempt does, and the next delivery is not held up."""
    for where in ("headers", "body"):
        with trickling(where=where) as (url, arrived):  # type: ignore[arg-type]
            result = webhooks.deliver(url, b"{}", secret=None, timeout=1, allow_private=True)
        assert arrived.is_set()
        assert result.outcome == "retry"
        assert result.detail == "no complete answer within 1 s"


def test_a_private_receiver_is_refused_at_delivery(receiver: tuple[str, list[int]]) -> None:
    """Checked again when delivered, not only when the job was submitted: DNS may change."""
    base, statuses = receiver
    for url in (base + "/200", "http://100.100.100.200/latest/meta-data/"):
        result = webhooks.deliver(url, b"{}", secret=None, timeout=1)
        assert result.outcome == "give_up" and "refused" in result.detail, result
    assert statuses == []  # nothing was posted
