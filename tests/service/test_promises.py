"""Promises of the README (and of the code's own docstrings) checked with real parts: the
session's redis-server, real Celery worker processes and the API over HTTP. The one stand-in is
the Groq-compatible test server, for a remote provider. Nothing waits on a clock: tests follow
events, or poll with a deadline."""

from __future__ import annotations

import contextlib
import http.server
import json
import queue
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import numpy as np
import pytest
from celery import Celery
from celery.exceptions import TaskRevokedError

from audiosvc import service
from audiosvc.encode import encode_audio
from audiosvc.jobs import Job, JobStore, new_job_id
from audiosvc.redis_server import EmbeddedRedis
from audiosvc.settings import Settings
from audiosvc.storage import Storage
from audiosvc.webhooks import verify
from tests.groq_server import DEFAULT_API_KEY, EnergyResponder, Fault, GroqServer, HeardWord
from tests.groq_server import ReceivedRequest as ProviderRequest
from tests.localhttp import serving, trickling
from tests.service.conftest import SAMPLES, Gate, serving_bytes
from tests.service.harness import Api, Worker, events, wait_until_done
from workers.celery_app import make_app
from workers.tasks import CHUNK_MAX_RETRIES

pytestmark = pytest.mark.engine
T = TypeVar("T")
SECRET = "whsec-test"  # the session's webhook secret


# --- helpers -------------------------------------------------------------------------------------


def _upload(
    client: httpx.Client,
    path: Path = SAMPLES / "short.wav",
    *,
    endpoint: str = "/v1/jobs",
    **fields: str,
) -> httpx.Response:
    with path.open("rb") as f:
        return client.post(endpoint, files={"file": (path.name, f)}, data=fields)


def _job(client: httpx.Client, path: Path = SAMPLES / "short.wav", **fields: str) -> str:
    resp = _upload(client, path, **fields)
    assert resp.status_code == 202, resp.text
    return str(resp.json()["id"])


def _error(resp: httpx.Response, status: int, param: str | None = None) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error"} and {"message", "type", "code", "param"} <= set(body["error"])
    if param is not None:
        assert body["error"]["param"] == param, body
    return body["error"]  # type: ignore[no-any-return]


def _until(check: Callable[[], T], what: str, timeout: float = 60) -> T:
    """Poll ``check`` until it returns something true, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _job_dirs(settings: Settings) -> set[str]:
    root = settings.jobs_dir
    return {p.name for p in root.iterdir()} if root.exists() else set()


def _indexed(store: JobStore) -> set[str]:
    """Every job id in Redis's index of jobs."""
    return {x.decode() for x in store.r.zrange(JobStore.index_key(None), 0, -1)}


def _truncated_wav(tmp_path: Path) -> Path:
    """A WAV whose header declares 10.3 s but that holds 3.4 s: its probe passes (the API
    accepts it), and the worker's decode finds it truncated."""
    data = (SAMPLES / "short.wav").read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(data[: len(data) // 3])
    return cut


def _truncated_ogg() -> bytes:
    """The first 200 bytes of an Ogg file: FFmpeg fails to open it with an end-of-file error."""
    pcm = (np.random.default_rng(0).normal(0, 3000, 16000 * 5)).astype(np.int16)
    return encode_audio(pcm, 16000, "ogg")[:200]


def _keys(value: Any) -> set[str]:
    """Every key of every object nested in ``value``."""
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


_OUTCOMES = ("delivered", "retry", "give_up")


def _notify_outcomes(store: JobStore) -> dict[str, str]:
    """Ended webhook deliveries, from Celery's result backend: task key -> the notify task's
    outcome ('delivered'; 'retry' once its attempts are used up; 'give_up')."""
    out = {}
    for key in store.r.scan_iter(match="celery-task-meta-*", count=1000):
        raw = store.r.get(key)
        meta = json.loads(raw) if raw else {}
        if meta.get("status") == "SUCCESS" and meta.get("result") in _OUTCOMES:
            out[key.decode()] = meta["result"]
    return out


def _next_outcome(store: JobStore, before: dict[str, str], timeout: float = 60) -> str:
    new = _until(
        lambda: {k: v for k, v in _notify_outcomes(store).items() if k not in before},
        "the webhook delivery to end",
        timeout,
    )
    assert len(new) == 1, new
    return next(iter(new.values()))


@contextlib.contextmanager
def _receiver(
    *answers: int | str, then: int = 204, headers: dict[str, str] | None = None
) -> Iterator[tuple[str, queue.Queue[tuple[bytes, dict[str, str]]]]]:
    """A webhook receiver on 127.0.0.1 answering its attempts with ``answers`` in turn (an
    HTTP status, or 'hang': no answer until the test ends), then ``then``. Yields its URL and
    a queue of the (body, headers) it received."""
    script = list(answers)
    got: queue.Queue[tuple[bytes, dict[str, str]]] = queue.Queue()
    lock = threading.Lock()
    unblock = threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            got.put((body, dict(self.headers.items())))
            with lock:
                answer = script.pop(0) if script else then
            if answer == "hang":
                unblock.wait(60)  # well past the worker's webhook timeout
                return
            self.send_response(int(answer))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    with serving(Handler) as url:
        try:
            yield f"{url}/hook", got
        finally:
            unblock.set()


def _attempts(got: queue.Queue[tuple[bytes, dict[str, str]]]) -> list[tuple[bytes, dict[str, str]]]:
    out = []
    while not got.empty():
        out.append(got.get_nowait())
    return out


@pytest.fixture(scope="module")
def store(service_settings: Settings) -> JobStore:
    assert service_settings.redis_url
    return JobStore.from_url(service_settings.redis_url)


@pytest.fixture(scope="module")
def celery(service_settings: Settings) -> Iterator[Celery]:
    """A Celery app of the test's own on the session's Redis: to send a task as a redelivery
    would, and to wait for a task's result."""
    app = make_app(service_settings)
    yield app
    app.close()


@contextlib.contextmanager
def _api(settings: Settings) -> Iterator[Api]:
    server = Api(settings).start()
    try:
        yield server
    finally:
        server.stop()


# --- 1. views ---------------------------------------------------------------------------------


def test_job_views_never_show_the_owner_or_server_paths(
    service_settings: Settings,
    worker: Worker,
    store: JobStore,
    hook_receiver: tuple[str, queue.Queue[tuple[bytes, dict[str, str]]]],
) -> None:
    """With API keys on, a job has an owner tag and an upload path in Redis: neither reaches
    the job as shown, in the list, in the events, in the webhook, nor in error messages."""
    key = "key-views"
    hook_url, hooks = hook_receiver
    with (
        _api(service_settings.model_copy(update={"api_keys": key})) as keyed,
        httpx.Client(
            base_url=keyed.url, headers={"Authorization": f"Bearer {key}"}, timeout=60
        ) as c,
        serving_bytes(_truncated_ogg()) as origin,
    ):
        views: list[Any] = []
        done = _upload(c, language="en", webhook_url=hook_url)
        broken = c.post("/v1/jobs", data={"url": f"{origin}/cut.ogg", "webhook_url": hook_url})
        for resp in (done, broken):
            assert resp.status_code == 202, resp.text
            job_id = resp.json()["id"]
            views.append(resp.json())
            views.extend(events(c, job_id))
            views.append(c.get(f"/v1/jobs/{job_id}").json())
        final = views[-1]
        assert final["status"] == "failed", final  # FFmpeg cannot open the fetched file
        listed = c.get("/v1/jobs", params={"limit": 100}).json()["data"]
        views.extend(j for j in listed if j["id"] in (done.json()["id"], final["id"]))
        assert {j["id"] for j in listed} >= {done.json()["id"], final["id"]}
        views.extend(json.loads(hooks.get(timeout=60)[0]) for _ in range(2))
        # An upload that fails its probe in the API: the error message names no path either.
        refused = c.post("/v1/jobs", files={"file": ("cut.ogg", _truncated_ogg())})
        views.append(_error(refused, 400, "file"))
    stored = [store.get(done.json()["id"]), store.get(final["id"])]
    assert all(j.owner and j.upload_path for j in stored)  # there is something to hide
    hidden = {str(service_settings.data_dir), key} | {str(j.owner) for j in stored}
    for view in views:
        assert not _keys(view) & {"owner", "upload_path"}, view
        text = json.dumps(view)
        assert not [h for h in hidden if h in text], view


# --- 2. a failing job behind the compatible endpoint ---------------------------------------------


def test_a_job_failing_behind_the_compatible_endpoint_keeps_nothing(
    client: httpx.Client, service_settings: Settings, store: JobStore, tmp_path: Path
) -> None:
    """The upload passes the API's probe and fails in the worker's decode: the request gets
    the job's own error (400, corrupt media), and neither the job nor its files remain."""
    ids, dirs = _indexed(store), _job_dirs(service_settings)
    resp = _upload(
        client,
        _truncated_wav(tmp_path),
        endpoint="/openai/v1/audio/transcriptions",
        model="whisper-large-v3",
        language="en",
    )
    err = _error(resp, 400)
    assert err["code"] == "corrupt_media" and "truncated" in err["message"], err
    assert _indexed(store) - ids == set()
    assert _job_dirs(service_settings) - dirs == set()


# --- 3, 4. Redis gone, no worker ---------------------------------------------------------------


@pytest.fixture
def lone(
    service_settings: Settings, tmp_path: Path
) -> Iterator[tuple[Api, EmbeddedRedis, Settings]]:
    """An API on a Redis of its own, which no worker serves (the session's stay untouched)."""
    redis = EmbeddedRedis(tmp_path / "redis", die_with_parent=True).start()
    settings = service_settings.model_copy(
        update={"redis_url": redis.url, "data_dir": tmp_path / "data"}
    )
    try:
        with _api(settings) as server:
            yield server, redis, settings
    finally:
        redis.stop()


def test_healthz_is_degraded_without_workers_and_503_without_redis(
    lone: tuple[Api, EmbeddedRedis, Settings],
) -> None:
    server, redis, _ = lone
    with httpx.Client(base_url=server.url, timeout=30) as c:
        resp = c.get("/healthz")
        assert resp.status_code == 200
        assert resp.json() == {"status": "degraded", "api": True, "redis": True, "workers": 0}
        redis.stop()
        try:
            resp = c.get("/healthz")
            assert resp.status_code == 503, resp.text
            assert resp.json()["status"] == "unavailable" and resp.json()["redis"] is False
        finally:
            redis.start()
        resp = c.get("/healthz")  # Redis back: so is the API
        assert resp.status_code == 200 and resp.json()["redis"] is True


def test_submitting_while_redis_is_unreachable_is_503_and_keeps_nothing(
    lone: tuple[Api, EmbeddedRedis, Settings],
) -> None:
    """Redis is the queue's broker too: with it gone, a job cannot be queued. The answer says
    so (503, try again), and the upload already on disk is deleted."""
    server, redis, settings = lone
    with httpx.Client(base_url=server.url, timeout=30) as c:
        redis.stop()
        try:
            for endpoint, fields in (
                ("/v1/jobs", {"language": "en"}),
                ("/openai/v1/audio/transcriptions", {"model": "whisper-large-v3"}),
            ):
                err = _error(_upload(c, endpoint=endpoint, **fields), 503)
                assert err["type"] == "service_unavailable" and "try again" in err["message"]
                assert _job_dirs(settings) == set()
            _error(c.get("/v1/jobs"), 503)
        finally:
            redis.start()
        assert c.get("/v1/jobs").json()["data"] == []  # no half-made job either
    assert not JobStore.from_url(redis.url).r.keys("audiosvc:*")


# --- 5. retention --------------------------------------------------------------------------------


def test_the_running_service_deletes_expired_jobs_however_they_ended(
    client: httpx.Client,
    service_settings: Settings,
    store: JobStore,
    held_media: tuple[str, Gate],
    tmp_path: Path,
) -> None:
    """Succeeded, cancelled and failed jobs all expire, with their files, in an API whose
    retention is short; an unfinished job, however old, stays."""
    url, gate = held_media
    succeeded = client.post("/v1/jobs", data={"url": url, "language": "en"}).json()["id"]
    assert gate.arrived.wait(60)  # the worker's only process is busy with it
    cancelled = _job(client, language="en")
    assert client.get(f"/v1/jobs/{cancelled}").json()["status"] == "queued"
    assert client.delete(f"/v1/jobs/{cancelled}").json()["status"] == "cancelled"
    failed = _job(client, _truncated_wav(tmp_path))
    gate.release.set()
    assert wait_until_done(client, succeeded)["status"] == "succeeded"
    assert wait_until_done(client, failed)["status"] == "failed"
    storage = Storage(service_settings.jobs_dir)
    assert storage.transcript_path(succeeded).exists() and storage.job_dir(failed).exists()
    unfinished = store.create(
        Job(id=new_job_id(), status="processing", created_at=time.time() - 3600)
    )
    storage.job_dir(unfinished.id).mkdir(parents=True)
    ended = (succeeded, cancelled, failed)
    try:
        short = service_settings.model_copy(
            update={"result_ttl_seconds": 1.0, "cleanup_interval_seconds": 0.2}
        )
        with _api(short):
            _until(
                lambda: all(client.get(f"/v1/jobs/{j}").status_code == 404 for j in ended),
                "the expired jobs to be deleted",
            )
        assert not [j for j in ended if storage.job_dir(j).exists()]
        assert store.get(unfinished.id).status == "processing"
        assert storage.job_dir(unfinished.id).exists()
    finally:
        store.delete(unfinished.id)
        storage.delete(unfinished.id)


# --- 9. paging -----------------------------------------------------------------------------------


def test_pages_of_the_job_list_are_disjoint_cover_every_job_and_run_newest_first(
    service_settings: Settings, worker: Worker
) -> None:
    key = f"key-{uuid.uuid4().hex[:8]}"  # a key of its own: the list holds only these jobs
    with (
        _api(service_settings.model_copy(update={"api_keys": key})) as keyed,
        httpx.Client(base_url=keyed.url, headers={"Authorization": f"Bearer {key}"}) as c,
    ):
        ids = []
        for _ in range(5):
            ids.append(_job(c))
            # Cancelled at once: the list stays still while it is paged, and no worker time
            # is spent on these jobs.
            assert c.delete(f"/v1/jobs/{ids[-1]}").json()["status"] == "cancelled"
        newest_first = ids[::-1]
        for status in (None, "cancelled"):
            for limit in (1, 2, 3, 5, 7):
                seen: list[str] = []
                for _ in range(len(ids) + 1):  # a page at least per job, then one that ends
                    params: dict[str, str | int] = {"limit": limit, "offset": len(seen)}
                    if status:
                        params["status"] = status
                    page = c.get("/v1/jobs", params=params).json()
                    seen += [j["id"] for j in page["data"]]
                    if not page["has_more"]:
                        break
                    assert len(page["data"]) == limit, (status, limit, page)
                assert seen == newest_first, (status, limit)
        beyond = c.get("/v1/jobs", params={"offset": 5}).json()
        assert beyond["data"] == [] and beyond["has_more"] is False
        assert c.get("/v1/jobs", params={"status": "succeeded"}).json()["data"] == []
        for job_id in ids:
            assert c.delete(f"/v1/jobs/{job_id}").json()["deleted"] is True


# --- 10. a spoken reply before the job ends ---------------------------------------------------


def test_the_speech_of_an_unfinished_job_is_409(
    client: httpx.Client, held_media: tuple[str, Gate]
) -> None:
    url, gate = held_media
    resp = client.post(
        "/v1/jobs", data={"url": url, "language": "en", "reply": "text", "reply_text": "Noted."}
    )
    assert resp.status_code == 202, resp.text
    job_id = resp.json()["id"]
    assert gate.arrived.wait(60)  # the worker is fetching the audio: the job has started
    assert client.get(f"/v1/jobs/{job_id}").json()["status"] == "processing"
    err = _error(client.get(f"/v1/jobs/{job_id}/speech"), 409)
    assert err["code"] == "job_not_ready" and "processing" in err["message"]
    gate.release.set()
    assert wait_until_done(client, job_id)["status"] == "succeeded"
    speech = client.get(f"/v1/jobs/{job_id}/speech")
    assert speech.status_code == 200 and speech.headers["content-type"] == "audio/mpeg"
    client.delete(f"/v1/jobs/{job_id}")


# --- 11. cancelling a queued job ----------------------------------------------------------------


def test_a_job_cancelled_while_queued_never_runs(
    client: httpx.Client,
    worker: Worker,
    service_settings: Settings,
    store: JobStore,
    celery: Celery,
) -> None:
    """No worker runs while the job is queued and cancelled, so none hears the revoke: the
    queued task reaches the restarted worker, which must leave the job alone."""
    worker.stop()
    try:
        job_id = _job(client, language="en")
        assert client.get(f"/v1/jobs/{job_id}").json()["status"] == "queued"
        assert (service_settings.jobs_dir / job_id).exists()
        resp = client.delete(f"/v1/jobs/{job_id}")
        assert resp.status_code == 200 and resp.json()["status"] == "cancelled"
        assert not (service_settings.jobs_dir / job_id).exists()
    finally:
        worker.start()
    (task_id,) = store.task_ids(job_id)  # the job's prepare task, still queued
    with contextlib.suppress(TaskRevokedError):
        assert celery.AsyncResult(task_id).get(timeout=60) == 0  # done: no chunks made
    final = client.get(f"/v1/jobs/{job_id}").json()
    assert final["status"] == "cancelled" and final["started_at"] is None, final
    assert final["progress"]["chunks_total"] == 0
    assert not (service_settings.jobs_dir / job_id).exists()
    assert client.delete(f"/v1/jobs/{job_id}").json()["deleted"] is True


def test_cancelling_a_job_stops_its_download(
    client: httpx.Client, service_settings: Settings
) -> None:
    """An origin that trickles a byte at a time never times out a read: cancelling the job
    must end its download, free the worker (the session's only process), and keep nothing."""
    with trickling() as (url, arrived):
        stalled = client.post("/v1/jobs", data={"url": url, "language": "en"}).json()["id"]
        assert arrived.wait(60)
        assert client.delete(f"/v1/jobs/{stalled}").json()["status"] == "cancelled"
        after = _job(client, language="en")  # runs only once the download let go
        assert wait_until_done(client, after)["status"] == "succeeded"
    assert client.get(f"/v1/jobs/{stalled}").json()["status"] == "cancelled"
    assert not Storage(service_settings.jobs_dir).job_dir(stalled).exists()


# --- a synchronous request's wait has a deadline ----------------------------------------------


def test_a_synchronous_request_past_its_wait_is_a_504_and_its_job_goes_on(
    client: httpx.Client, service_settings: Settings, held_media: tuple[str, Gate]
) -> None:
    url, gate = held_media
    impatient = service_settings.model_copy(update={"sync_wait_seconds": 1.0})
    with _api(impatient) as server, httpx.Client(base_url=server.url, timeout=60) as c:
        resp = c.post(
            "/openai/v1/audio/transcriptions",
            data={"model": "whisper-large-v3", "url": url, "language": "en"},
        )
    error = _error(resp, 504)
    assert error["code"] == "job_still_running"
    found = re.search(r"/v1/jobs/(job_[0-9a-f]+)", error["message"])
    assert found, error["message"]
    job_id = found.group(1)
    assert client.get(f"/v1/jobs/{job_id}").json()["status"] in ("queued", "processing")
    gate.release.set()
    assert wait_until_done(client, job_id)["status"] == "succeeded"  # kept, and it went on


@pytest.mark.parametrize(
    ("endpoint", "fields"),
    [
        ("/v1/jobs", {}),
        ("/openai/v1/audio/transcriptions", {"model": "whisper-large-v3"}),
    ],
)
# --- 12, 13. requests refused up front ------------------------------------------------------------


def test_a_file_and_a_url_together_are_a_400(
    client: httpx.Client,
    media_server: str,
    service_settings: Settings,
    endpoint: str,
    fields: dict[str, str],
) -> None:
    dirs = _job_dirs(service_settings)
    resp = _upload(client, endpoint=endpoint, url=f"{media_server}/short.wav", **fields)
    assert "not both" in _error(resp, 400, "url")["message"]
    assert _job_dirs(service_settings) - dirs == set()


def test_reply_chat_without_a_chat_endpoint_is_refused_at_submission(
    service_settings: Settings, worker: Worker, store: JobStore
) -> None:
    ids = _indexed(store)
    with (
        _api(service_settings.model_copy(update={"chat_base_url": None})) as no_chat,
        httpx.Client(base_url=no_chat.url) as c,
    ):
        err = _error(_upload(c, language="en", reply="chat"), 400, "reply")
    assert "AUDIOSVC_CHAT_BASE_URL" in err["message"]
    assert _indexed(store) - ids == set()


# --- a remote provider: 2 (its 401), 6 (webhooks), 7 (retries run out), 8 (redelivery) -----------


class HoldSecond:
    """The test server's responder: hears tones like :class:`EnergyResponder`, and when armed,
    holds back the answer to the second transcription request until released."""

    def __init__(self) -> None:
        self.heard = EnergyResponder()
        self.lock = threading.Lock()
        self.armed = False
        self.seen = 0
        self.release = threading.Event()

    def arm(self) -> None:
        with self.lock:
            self.armed, self.seen = True, 0
            self.release.clear()

    def disarm(self) -> None:
        with self.lock:
            self.armed = False
        self.release.set()

    def __call__(self, pcm: np.ndarray, request: ProviderRequest) -> list[list[HeardWord]]:
        with self.lock:
            self.seen += 1
            hold = self.armed and self.seen == 2
        if hold:
            self.release.wait(60)
        return self.heard(pcm, request)


@dataclass
class Remote:
    server: GroqServer
    responder: HoldSecond
    settings: Settings  # the remote workers' settings (an API given them talks to the server)

    def uploads(self) -> list[ProviderRequest]:
        return [r for r in self.server.requests if r.path.endswith("/audio/transcriptions")]


@pytest.fixture(scope="class")
def remote(
    worker: Worker, service_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Remote]:
    """The session's local-engine worker swapped for one configured for 'groq' (threads, as
    `audiosvc worker` runs it) against the test server."""
    responder = HoldSecond()
    with GroqServer(responder=responder) as server:
        settings = service_settings.model_copy(
            update={
                "provider": "groq",
                "base_url": server.url,
                "api_key": DEFAULT_API_KEY,
                "max_retries": 0,  # the client gives up at once: the chunk task retries
                "requests_per_minute": 0,
                "audio_seconds_per_hour": 0,
                "webhook_max_retries": 2,
                "webhook_timeout": 1.0,
            }
        )
        worker.stop()
        remote_worker = Worker(settings, tmp_path_factory.mktemp("remote") / "worker.log")
        try:
            remote_worker.start()
            yield Remote(server, responder, settings)
        finally:
            responder.disarm()
            remote_worker.stop()
            worker.start()


@pytest.fixture
def fresh_providers() -> Iterator[None]:
    """Providers an in-process API made are kept per process and name: start and end with
    none, so this test's API talks to this test's server."""
    service.reset_process_state()
    yield
    service.reset_process_state()


@pytest.mark.usefixtures("remote")
class TestWithARemoteProvider:
    def test_a_rejected_key_behind_the_compatible_endpoint_is_a_502_and_keeps_nothing(
        self,
        remote: Remote,
        service_settings: Settings,
        store: JobStore,
        fresh_providers: None,
    ) -> None:
        """Queued (longer than the quick limit) or sent by the API itself (short), a provider
        401 is the service's 502 with the provider's message, and nothing is kept."""
        for quick_max_seconds in (0.0, 60.0):
            remote.server.clear()
            remote.server.fail_next(Fault.error(401, "Invalid API Key"))
            ids, dirs = _indexed(store), _job_dirs(service_settings)
            settings = remote.settings.model_copy(update={"quick_max_seconds": quick_max_seconds})
            with _api(settings) as server, httpx.Client(base_url=server.url, timeout=60) as c:
                resp = _upload(
                    c, endpoint="/openai/v1/audio/transcriptions", model="whisper-large-v3"
                )
            err = _error(resp, 502)
            assert err["code"] == "provider_auth_failed" and "Invalid API Key" in err["message"]
            assert len(remote.uploads()) == 1, "a 401 is not retried"
            assert _indexed(store) - ids == set()
            assert _job_dirs(service_settings) - dirs == set()

    def test_a_webhook_is_retried_on_5xx_and_timeouts_until_delivered(
        self, remote: Remote, client: httpx.Client, store: JobStore
    ) -> None:
        before = _notify_outcomes(store)
        with _receiver(503, "hang", then=204) as (url, got):
            job_id = _job(client, webhook_url=url)
            assert wait_until_done(client, job_id)["status"] == "succeeded"
            assert _next_outcome(store, before) == "delivered"
            attempts = _attempts(got)
        assert len(attempts) == 3  # 503, no answer in time, then 204: and no more
        assert len({body for body, _ in attempts}) == 1
        assert all(verify(body, headers, SECRET) for body, headers in attempts)
        payload = json.loads(attempts[-1][0])
        assert payload["id"] == job_id and payload["status"] == "succeeded"

    def test_a_webhook_gives_up_after_the_configured_retries_and_at_once_on_4xx(
        self, remote: Remote, client: httpx.Client, store: JobStore
    ) -> None:
        retries = remote.settings.webhook_max_retries
        for status, outcome, expected in ((503, "retry", 1 + retries), (404, "give_up", 1)):
            before = _notify_outcomes(store)
            with _receiver(then=status, headers={"Retry-After": "1"}) as (url, got):
                job_id = _job(client, webhook_url=url)
                assert wait_until_done(client, job_id)["status"] == "succeeded"
                assert _next_outcome(store, before) == outcome
                attempts = len(_attempts(got))
                assert attempts == expected, f"{attempts} attempts, answered {status}"

    def test_the_webhook_of_a_failed_job_says_why(
        self, remote: Remote, client: httpx.Client
    ) -> None:
        remote.server.clear()
        remote.server.fail_next(Fault.error(401, "Invalid API Key"))
        with _receiver() as (url, got):
            job_id = _job(client, webhook_url=url)
            assert wait_until_done(client, job_id)["status"] == "failed"
            body, headers = got.get(timeout=60)
        assert verify(body, headers, SECRET)
        payload = json.loads(body)
        assert payload["id"] == job_id and payload["status"] == "failed"
        assert payload["error"]["code"] == "provider_auth_failed"
        assert "Invalid API Key" in payload["error"]["message"]

    def test_a_provider_that_stays_unavailable_fails_the_job_after_the_retries(
        self, remote: Remote, client: httpx.Client
    ) -> None:
        remote.server.clear()
        remote.server.fail_next(
            *[Fault.error(503, "over capacity", retry_after=0.1)] * (CHUNK_MAX_RETRIES + 5)
        )
        try:
            final = wait_until_done(client, _job(client), timeout=120)
            assert final["status"] == "failed", final
            assert final["error"]["code"] == "provider_unavailable"
            assert "503" in final["error"]["message"]
            assert "over capacity" in final["error"]["message"]
            calls = len(remote.uploads())
            assert calls == 1 + CHUNK_MAX_RETRIES, f"{calls} calls"  # every retry, and no more
        finally:
            remote.server.clear()  # the faults left over

    def test_a_chunk_delivered_again_makes_no_second_provider_call(
        self, remote: Remote, client: httpx.Client, store: JobStore, celery: Celery
    ) -> None:
        """Two chunks: the first answer is stored while the other chunk waits at the provider.
        The stored chunk's task, delivered again, must not call the provider."""
        remote.server.clear()
        remote.responder.arm()
        try:
            job_id = _job(client, SAMPLES / "meeting.m4a", language="en", chunk_seconds="150")
            for ev in events(client, job_id):
                if ev["progress"]["chunks_done"] >= 1:
                    break
            _until(lambda: len(remote.uploads()) == 2, "both chunks at the provider")
            (index,) = store.chunk_results(job_id)
            redelivered = celery.send_task("audiosvc.chunk", args=[job_id, index])
            assert redelivered.get(timeout=60) is False
            calls = [r.file_name for r in remote.uploads()]
            assert len(calls) == 2, f"provider calls: {calls}"
        finally:
            remote.responder.disarm()
        final = wait_until_done(client, job_id)
        assert final["status"] == "succeeded", final
        calls = [r.file_name for r in remote.uploads()]
        assert len(calls) == 2, f"provider calls: {calls}"
        p = final["progress"]
        assert p["chunks_done"] == p["chunks_total"] == 2
        assert p["seconds_done"] == pytest.approx(p["seconds_total"], abs=0.01)


# --- per-key limits ----------------------------------------------------------------------------


def test_each_key_has_its_own_request_and_in_flight_budget(
    lone: tuple[Api, EmbeddedRedis, Settings],
) -> None:
    """Two keys on an API no worker serves (so a job stays queued, in flight): each key may
    have one job in flight and make 8 requests a minute; one key's use never spends the
    other's."""
    _, _, base = lone
    settings = base.model_copy(
        update={"api_keys": "key-a,key-b", "key_requests_per_minute": 8, "key_jobs_in_flight": 1}
    )
    with _api(settings) as server:
        a = httpx.Client(base_url=server.url, headers={"authorization": "Bearer key-a"})
        b = httpx.Client(base_url=server.url, headers={"authorization": "Bearer key-b"})
        clip = (SAMPLES / "short.wav").read_bytes()

        def submit(c: httpx.Client) -> httpx.Response:
            return c.post("/v1/jobs", files={"file": ("short.wav", clip)}, data={"language": "en"})

        first = submit(a)
        assert first.status_code == 202, first.text
        refused = submit(a)  # one in flight already
        assert refused.status_code == 429 and refused.json()["error"]["code"] == "too_many_jobs"
        assert int(refused.headers["retry-after"]) > 0
        assert submit(b).status_code == 202  # the other key's budget is its own
        assert a.delete(f"/v1/jobs/{first.json()['id']}").status_code == 200  # cancelled
        assert submit(a).status_code == 202  # in flight no more: room again
        for _attempt in range(2):  # a minute that turns mid-way resets the count: once more
            window = int(time.time() // 60)
            answers = [a.get("/v1/jobs") for _ in range(9)]  # 8 allowed, whatever came before
            if int(time.time() // 60) == window:
                break
        codes = [r.status_code for r in answers]
        assert codes[-1] == 429 and codes == sorted(codes), codes  # 200s, then 429s
        # Every answer tells the budget left (Groq's headers), so a client can slow down first.
        left = [int(r.headers["x-ratelimit-remaining-requests"]) for r in answers]
        assert left == sorted(left, reverse=True) and left[-1] == 0, left
        assert all(r.headers["x-ratelimit-limit-requests"] == "8" for r in answers)
        assert "x-ratelimit-limit-requests" in first.headers  # a 202 as much as a 200
        over = answers[-1]
        assert over.json()["error"]["type"] == "rate_limit_exceeded"
        assert over.headers["x-ratelimit-limit-requests"] == "8"
        assert 0 < int(over.headers["retry-after"]) <= 60
        assert b.get("/v1/jobs").status_code == 200


def test_without_keys_there_is_no_budget_to_tell(client: httpx.Client) -> None:
    r = client.get("/v1/jobs")
    assert r.status_code == 200
    assert not [h for h in r.headers if h.startswith("x-ratelimit")]
