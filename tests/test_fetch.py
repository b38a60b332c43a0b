"""URL jobs: only public http(s) addresses, checked again on every redirect."""

from __future__ import annotations

import http.server
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from audiosvc import retry
from audiosvc.errors import InvalidRequestError, TooLargeError
from audiosvc.fetch import DownloadStopped, download, validate_url
from audiosvc.storage import UploadWriter
from tests.localhttp import serving, trickling


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/a.wav",
        "http://localhost/a.wav",
        "http://10.1.2.3/a",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/a",
        "http://[::ffff:127.0.0.1]/a",
        "http://192.168.0.1/a",
        "http://0.0.0.0/a",
    ],
)
def test_private_addresses_are_refused(url: str) -> None:
    with pytest.raises(InvalidRequestError) as err:
        validate_url(url, allow_private=False)
    assert err.value.param == "url"


@pytest.mark.parametrize("url", ["ftp://example.com/a.wav", "file:///etc/passwd", "http:///a"])
def test_only_http_with_a_host(url: str) -> None:
    with pytest.raises(InvalidRequestError):
        validate_url(url, allow_private=True)


def test_public_address_passes() -> None:
    assert (
        validate_url(
            "https://media.example/a.wav",
            allow_private=False,
            resolver=lambda _h: ["93.184.216.34"],
        )
        == "https://media.example/a.wav"
    )


@pytest.fixture
def origin(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "clip.wav").write_bytes(b"RIFF" + b"\0" * 5000)

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a: object, **kw: object) -> None:
            super().__init__(*a, directory=str(tmp_path), **kw)  # type: ignore[arg-type]

        def do_GET(self) -> None:
            if self.path == "/redirect":
                self.send_response(302)
                self.send_header("Location", "/clip.wav")
                self.end_headers()
                return
            super().do_GET()

        def log_message(self, *args: object) -> None:
            pass

    with serving(Handler) as url:
        yield url


def test_download_streams_to_the_writer(origin: str, tmp_path: Path) -> None:
    out = tmp_path / "got"
    with UploadWriter(out, 10_000) as w:
        name = download(f"{origin}/redirect", w, allow_private=True, timeout=5)
    assert name == "clip.wav" and out.stat().st_size == 5004


def test_a_redirect_to_a_private_address_is_refused(origin: str, tmp_path: Path) -> None:
    """The first host is 'public' (by the resolver), the redirect's host private. Every hop is
    validated, and so is every connection: here the first connection already reaches
    127.0.0.1 (the test's origin), and is refused before the redirect is read."""
    host = origin.split("//")[1]
    calls: list[str] = []

    def resolver(name: str) -> list[str]:
        calls.append(name)
        return ["93.184.216.34"] if len(calls) == 1 else ["127.0.0.1"]

    with (
        pytest.raises(InvalidRequestError, match="loopback"),
        UploadWriter(tmp_path / "x", 10_000) as w,
    ):
        download(f"http://{host}/redirect", w, allow_private=False, timeout=5, resolver=resolver)
    assert len(calls) == 1 and not (tmp_path / "x").exists()


def test_http_errors_and_size_limit(origin: str, tmp_path: Path) -> None:
    with (
        pytest.raises(InvalidRequestError, match="HTTP 404"),
        UploadWriter(tmp_path / "a", 10_000) as w,
    ):
        download(f"{origin}/missing.wav", w, allow_private=True, timeout=5)
    with pytest.raises(TooLargeError), UploadWriter(tmp_path / "b", 1000) as w:
        download(f"{origin}/clip.wav", w, allow_private=True, timeout=5)


@pytest.mark.parametrize("where", ["headers", "body"])
def test_a_trickling_url_ends_at_the_deadline(tmp_path: Path, where: str) -> None:
    """A byte every 0.1 s, in the headers or the body: no read ever times out, the whole
    download does, retries included."""
    with (
        trickling(where=where) as (url, _),  # type: ignore[arg-type]
        UploadWriter(tmp_path / "u", 10**9) as w,
        pytest.raises(InvalidRequestError, match=r"longer than 1 s"),
    ):
        download(url, w, allow_private=True, timeout=5, max_seconds=1, policy=POLICY)


def test_a_download_stops_when_asked(tmp_path: Path) -> None:
    asked: list[float] = []

    def should_stop() -> bool:
        asked.append(time.monotonic())
        return len(asked) >= 2

    with (
        trickling() as (url, _),
        UploadWriter(tmp_path / "u", 10**9) as w,
        pytest.raises(DownloadStopped),
    ):
        download(url, w, allow_private=True, timeout=5, should_stop=should_stop)
    assert len(asked) == 2 and asked[1] - asked[0] >= 0.9  # about once a second, not per byte


POLICY = retry.Policy(max_retries=3, base=0.05, cap=0.1)


@pytest.fixture
def flaky_origin() -> Iterator[tuple[str, list[int]]]:
    """/503-twice answers 503 (with Retry-After: 0) twice, then the file; /404 always 404."""
    answered: list[int] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            code = 503 if self.path == "/503-twice" and answered.count(503) < 2 else 200
            code = 404 if self.path == "/404" else code
            answered.append(code)
            self.send_response(code)
            self.send_header("Retry-After", "0")
            self.send_header("content-length", "4" if code == 200 else "0")
            self.end_headers()
            if code == 200:
                self.wfile.write(b"RIFF")

        def log_message(self, *args: object) -> None:
            pass

    with serving(Handler) as url:
        yield url, answered


def test_transient_failures_before_the_first_byte_are_retried(
    flaky_origin: tuple[str, list[int]], tmp_path: Path
) -> None:
    url, answered = flaky_origin
    with UploadWriter(tmp_path / "a", 100) as w:
        download(f"{url}/503-twice", w, allow_private=True, timeout=5, policy=POLICY)
    assert answered == [503, 503, 200] and (tmp_path / "a").read_bytes() == b"RIFF"
    with pytest.raises(InvalidRequestError, match="HTTP 404"), UploadWriter(tmp_path / "b", 9) as w:
        download(f"{url}/404", w, allow_private=True, timeout=5, policy=POLICY)
    assert answered[3:] == [404]  # not retried: the request's own fault


def test_an_unreachable_url_fails_clearly_after_its_retries(tmp_path: Path) -> None:
    with (
        pytest.raises(InvalidRequestError, match="fetching the url failed: ConnectError"),
        UploadWriter(tmp_path / "a", 100) as w,
    ):
        download("http://127.0.0.1:9/x.wav", w, allow_private=True, timeout=5, policy=POLICY)


def test_the_remote_servers_name_is_cleaned(tmp_path: Path) -> None:
    """The name comes from the remote server: shown to the user, so cleaned like an upload's."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header(
                "content-disposition", 'attachment; filename="../../r\u00e9u\tnion.wav"'
            )
            self.send_header("content-length", "4")
            self.end_headers()
            self.wfile.write(b"RIFF")

        def log_message(self, *args: object) -> None:
            pass

    with serving(Handler) as url, UploadWriter(tmp_path / "a", 100) as w:
        assert download(f"{url}/x", w, allow_private=True, timeout=5) == "r\u00e9union.wav"


@pytest.mark.parametrize(
    "address", ["100.100.100.200", "100.64.0.1", "198.18.0.1", "::ffff:10.0.0.1"]
)
def test_every_non_global_address_is_refused(address: str) -> None:
    """Shared address space (a cloud's metadata service lives at 100.100.100.200) and every
    other range that is not global, by ipaddress's own notion, not a hand-kept list."""
    with pytest.raises(InvalidRequestError, match="refused"):
        validate_url(
            "http://media.example/a.wav", allow_private=False, resolver=lambda _h: [address]
        )


def test_the_connected_address_is_checked_not_only_the_resolved_one(
    origin: str, tmp_path: Path
) -> None:
    """The resolver says public (a DNS answer that changes between check and connection);
    the connection lands on 127.0.0.1 and is cut before a byte is sent."""
    host = origin.split("//")[1]
    with (
        pytest.raises(InvalidRequestError, match=r"connected to a loopback address \(127.0.0.1\)"),
        UploadWriter(tmp_path / "x", 10_000) as w,
    ):
        download(
            f"http://{host}/clip.wav",
            w,
            allow_private=False,
            timeout=5,
            resolver=lambda _h: ["93.184.216.34"],
        )
