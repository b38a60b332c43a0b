"""Session-wide real service: redis-server (the binary `serve` uses), one Celery worker
process, and the API over HTTP."""

from __future__ import annotations

import contextlib
import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, sync_playwright

from audiosvc.redis_server import EmbeddedRedis
from audiosvc.settings import Settings
from tests.browser import launch
from tests.groq_server import CHAT_MODELS, DEFAULT_API_KEY, GroqServer
from tests.localhttp import serving
from tests.service.harness import Api, Worker


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(
        tmp_path_factory.mktemp("redis"), fsync="always", die_with_parent=True
    ).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def provider_server() -> Iterator[GroqServer]:
    """The one stand-in for a remote provider: the Groq-compatible test server. The session's
    service uses it for chat replies ('You said: ...', derived from the transcript)."""
    with GroqServer() as server:
        yield server


@pytest.fixture(scope="session")
def service_settings(
    redis_server: EmbeddedRedis,
    tmp_path_factory: pytest.TempPathFactory,
    provider_server: GroqServer,
) -> Settings:
    return Settings(
        data_dir=tmp_path_factory.mktemp("svc-data"),
        redis_url=redis_server.url,
        cpu_threads=2,
        api_key=None,
        provider="local",
        allow_private_urls=True,  # tests serve media and webhooks on 127.0.0.1
        webhook_secret="whsec-test",
        visibility_timeout=8.0,  # a killed worker's chunk comes back within seconds
        unacked_restore_interval=1,
        chat_base_url=provider_server.url,
        chat_model=CHAT_MODELS[0],
        chat_api_key=provider_server.api_key,
    )


@pytest.fixture(scope="session")
def worker(
    service_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Worker]:
    w = Worker(service_settings, tmp_path_factory.mktemp("logs") / "worker.log").start()
    yield w
    w.stop()


@pytest.fixture
def groq_worker(worker: Worker, service_settings: Settings, tmp_path: Path) -> Iterator[GroqServer]:
    """Swap the session's local-engine worker for one configured for 'groq' (all workers of a
    deployment share one configuration), against the test server."""
    with GroqServer() as server:
        worker.stop()
        remote = Worker(
            service_settings,
            tmp_path / "groq-worker.log",
            AUDIOSVC_PROVIDER="groq",
            AUDIOSVC_BASE_URL=server.url,
            GROQ_API_KEY=DEFAULT_API_KEY,
            AUDIOSVC_MAX_RETRIES="0",  # the provider gives up at once: Celery retries
            AUDIOSVC_REQUESTS_PER_MINUTE="0",
            AUDIOSVC_AUDIO_SECONDS_PER_HOUR="0",
        ).start()
        try:
            yield server
        finally:
            remote.stop()
            worker.start()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium (tests.browser), one per test module; test_web_live has its own,
    with a fake microphone."""
    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


@pytest.fixture(scope="session")
def api(service_settings: Settings) -> Iterator[Api]:
    server = Api(service_settings).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def client(api: Api, worker: Worker) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api.url, timeout=60) as c:
        yield c


SAMPLES = Path(__file__).resolve().parent.parent.parent / "samples"

# Malformed URLs, refused up front now (the malformed-URL test; the fuzzer draws them too).
# The brackets were a 500 (urlsplit's ValueError, uncaught); the port out of range was
# accepted and its job tried to connect for 15 s; the control character was accepted and its
# job failed as an internal error (httpx's InvalidURL): a 500 when waited on.
MALFORMED_URLS = [
    "http://[::1/a.wav",
    "http://[zz]/a.wav",
    "http://127.0.0.1:99999/a.wav",
    "http://a\x01b/a.wav",
]


@pytest.fixture(scope="session")
def media_server() -> Iterator[str]:
    """A plain HTTP server on 127.0.0.1 serving samples/ (for url jobs)."""
    import functools
    import http.server

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(SAMPLES))
    with serving(handler) as url:
        yield url


@pytest.fixture
def hook_receiver() -> Iterator[tuple[str, object]]:
    """A webhook receiver on 127.0.0.1; yields its URL and a queue of (body, headers)."""
    import http.server
    import queue

    received: queue.Queue[tuple[bytes, dict[str, str]]] = queue.Queue()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            received.put((body, dict(self.headers.items())))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    with serving(Handler) as url:
        yield f"{url}/hook", received


@dataclass
class Gate:
    arrived: threading.Event
    release: threading.Event


@contextlib.contextmanager
def serving_bytes(data: bytes, gate: Gate | None = None) -> Iterator[str]:
    """``data`` served on 127.0.0.1; with a gate, each GET waits for ``gate.release``."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if gate is not None:
                gate.arrived.set()
                gate.release.wait(60)
            self.send_response(200)
            self.send_header("content-type", "application/octet-stream")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    with serving(Handler) as url:
        try:
            yield url
        finally:
            if gate is not None:
                gate.release.set()


@pytest.fixture
def held_media() -> Iterator[tuple[str, Gate]]:
    """short.wav at a URL that answers only once released: a url job holds the session's
    single worker process in its download until then, the job unfinished meanwhile, every
    time (no race with a fast worker)."""
    gate = Gate(threading.Event(), threading.Event())
    with serving_bytes((SAMPLES / "short.wav").read_bytes(), gate) as url:
        yield f"{url}/short.wav", gate
