"""End to end through HTTP: upload, follow, download; list; cancel; errors keep the service up."""

from __future__ import annotations

import io
import json
from pathlib import Path

import httpx
import numpy as np
import pytest
import srt
import webvtt

from audiosvc.encode import encode_audio
from audiosvc.settings import Settings
from tests.measures import wer
from tests.service.conftest import MALFORMED_URLS, SAMPLES, Gate
from tests.service.harness import events, wait_until_done
from tests.test_names import parsed

pytestmark = pytest.mark.engine


def _upload(client: httpx.Client, path: Path, **fields: str | list[str]) -> httpx.Response:
    with path.open("rb") as f:
        return client.post("/v1/jobs", files={"file": (path.name, f)}, data=fields)


@pytest.fixture(scope="module")
def short_job(client: httpx.Client) -> dict:  # type: ignore[type-arg]
    resp = _upload(
        client,
        SAMPLES / "short.wav",
        language="en",
        **{"timestamp_granularities[]": ["word", "segment"]},
    )
    assert resp.status_code == 202, resp.text
    job = resp.json()
    assert job["status"] == "queued" and resp.headers["location"] == job["links"]["self"]
    seen = list(events(client, job["id"]))
    assert seen[0]["status"] in ("queued", "processing")
    assert seen[-1]["status"] == "succeeded" and seen[-1]["_event"] == "succeeded"
    return client.get(f"/v1/jobs/{job['id']}").json()  # type: ignore[no-any-return]


def test_upload_and_follow_to_success(short_job: dict) -> None:  # type: ignore[type-arg]
    assert short_job["status"] == "succeeded"
    p = short_job["progress"]
    assert p["chunks_done"] == p["chunks_total"] >= 1
    assert p["seconds_done"] == pytest.approx(p["seconds_total"], abs=0.01)
    assert short_job["started_at"] <= short_job["finished_at"]
    assert short_job["error"] is None


@pytest.mark.parametrize(
    ("fmt", "ctype", "ext"),
    [
        ("json", "application/json", "json"),
        ("text", "text/plain", "txt"),
        ("verbose_json", "application/json", "json"),
        ("srt", "application/x-subrip", "srt"),
        ("vtt", "text/vtt", "vtt"),
    ],
)
def test_download_every_format(
    client: httpx.Client,
    short_job: dict,
    fmt: str,
    ctype: str,
    ext: str,  # type: ignore[type-arg]
) -> None:
    reference = (SAMPLES / "short.txt").read_text()
    resp = client.get(f"/v1/jobs/{short_job['id']}/transcript", params={"format": fmt})
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith(ctype)
    assert f'filename="short.{ext}"' in resp.headers["content-disposition"]
    if fmt == "json":
        text = resp.json()["text"]
    elif fmt == "verbose_json":
        body = resp.json()
        assert body["language"] == "english" and body["duration"] > 9
        assert body["words"] and body["segments"]
        text = body["text"]
    elif fmt == "srt":
        text = " ".join(s.content for s in srt.parse(resp.text))
    elif fmt == "vtt":
        text = " ".join(c.text for c in webvtt.from_buffer(io.StringIO(resp.text)))
    else:
        text = resp.text
    assert wer(reference, text) <= 0.05  # measured 0.0 in every format


def test_list_newest_first_and_filter(client: httpx.Client, short_job: dict) -> None:  # type: ignore[type-arg]
    second = _upload(client, SAMPLES / "short.wav", language="en").json()
    wait_until_done(client, second["id"])
    page = client.get("/v1/jobs", params={"limit": 1}).json()
    assert page["object"] == "list" and page["has_more"] is True
    assert page["data"][0]["id"] == second["id"]
    ok = client.get("/v1/jobs", params={"status": "succeeded", "limit": 100}).json()
    assert {short_job["id"], second["id"]} <= {j["id"] for j in ok["data"]}
    assert client.get("/v1/jobs", params={"status": "bogus"}).status_code == 400


def test_cancel_stops_a_running_job_and_deletes_its_files(
    client: httpx.Client, service_settings: Settings
) -> None:
    job = _upload(client, SAMPLES / "meeting.m4a", language="en", chunk_seconds="20").json()
    for ev in events(client, job["id"]):
        if ev["progress"]["chunks_done"] >= 1:
            break
    resp = client.delete(f"/v1/jobs/{job['id']}")
    assert resp.status_code == 200 and resp.json()["status"] == "cancelled"
    assert not (service_settings.jobs_dir / job["id"]).exists()
    # A later job finishing shows the worker went past the cancelled job's chunks.
    later = _upload(client, SAMPLES / "short.wav", language="en").json()
    assert wait_until_done(client, later["id"])["status"] == "succeeded"
    final = client.get(f"/v1/jobs/{job['id']}").json()
    assert final["status"] == "cancelled"
    assert final["progress"]["chunks_done"] < final["progress"]["chunks_total"]
    # A finished job is deleted outright.
    assert client.delete(f"/v1/jobs/{later['id']}").json()["deleted"] is True
    assert client.get(f"/v1/jobs/{later['id']}").status_code == 404


def test_cancel_during_prepare_leaves_no_file(
    client: httpx.Client, service_settings: Settings, tmp_path: Path
) -> None:
    """Cancelled while its upload is being decoded and cut: the chunk files written after
    the DELETE stayed on disk for ever (they were left through restarts)."""
    from audiosvc.media import decode

    pcm = np.tile(decode(SAMPLES / "meeting.m4a").pcm, 4)  # 14 minutes: seconds to decode
    long = tmp_path / "long.m4a"
    long.write_bytes(encode_audio(pcm, 16000, "m4a"))
    job = _upload(client, long, language="en").json()
    for ev in events(client, job["id"]):
        if ev["status"] == "processing":  # prepare has begun
            break
    assert client.delete(f"/v1/jobs/{job['id']}").json()["status"] == "cancelled"
    # The session's worker runs one task at a time: once a later job is done, the cancelled
    # job's prepare has ended.
    later = _upload(client, SAMPLES / "short.wav", language="en").json()
    assert wait_until_done(client, later["id"])["status"] == "succeeded"
    assert client.get(f"/v1/jobs/{job['id']}").json()["progress"]["chunks_done"] == 0
    assert not (service_settings.jobs_dir / job["id"]).exists()


def _error(resp: httpx.Response, status: int, param: str | None = None) -> dict:  # type: ignore[type-arg]
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error"} and {"message", "type", "code", "param"} <= set(body["error"])
    if param is not None:
        assert body["error"]["param"] == param
    return body["error"]  # type: ignore[no-any-return]


def test_bad_uploads_get_clear_errors_and_the_service_stays_up(
    client: httpx.Client, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.mp3"
    notes.write_text("minutes of the meeting, typed\n" * 50)
    message = _error(_upload(client, notes), 415, "file")["message"]
    assert message.startswith("notes.mp3: not a recognized")  # the user's name, not ours
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    _error(_upload(client, empty), 400, "file")
    pcm = (np.random.default_rng(0).normal(0, 3000, 16000 * 20)).astype(np.int16)
    data = encode_audio(pcm, 16000, "m4a")
    cut = tmp_path / "cut.m4a"
    cut.write_bytes(data[: len(data) // 2])
    _error(_upload(client, cut), 415, "file")
    _error(client.post("/v1/jobs", data={"language": "en"}), 400, "file")
    _error(
        client.post("/v1/jobs", content=b"{}", headers={"content-type": "application/json"}), 400
    )
    assert client.get("/healthz").json()["status"] == "ok"


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"task": "dance"}, "task"),
        ({"temperature": "3"}, "temperature"),
        ({"language": "xx"}, "language"),
        ({"model": "gpt-4o"}, "model"),
        ({"chunk_seconds": "5"}, "chunk_seconds"),
        ({"chunk_seconds": "0"}, "chunk_seconds"),  # was the default, silently
        ({"colour": "red"}, "colour"),
        ({"timestamp_granularities[]": "char"}, "timestamp_granularities[]"),
        ({"webhook_url": "ftp://example.com/hook"}, "webhook_url"),
        ({"model": "tiny.en", "task": "translate"}, "model"),
    ],
)
def test_bad_options(client: httpx.Client, fields: dict[str, str], param: str) -> None:
    _error(_upload(client, SAMPLES / "short.wav", **fields), 400, param)


def test_unknown_job_and_not_ready(client: httpx.Client, held_media: tuple[str, Gate]) -> None:
    _error(client.get("/v1/jobs/job_0123456789abcdef"), 404)
    _error(client.get("/v1/jobs/../../etc/passwd"), 404)
    _error(client.delete("/v1/jobs/job_nope"), 404)
    url, gate = held_media
    resp = client.post("/v1/jobs", data={"url": url, "language": "en"})
    assert resp.status_code == 202, resp.text
    job = resp.json()
    # The worker is still waiting for the media: the transcript is a clear 409, every time.
    assert _error(client.get(f"/v1/jobs/{job['id']}/transcript"), 409)["code"] == "job_not_ready"
    _error(
        client.get(f"/v1/jobs/{job['id']}/transcript", params={"format": "docx"}),
        400,
        "response_format",
    )
    gate.release.set()
    assert wait_until_done(client, job["id"])["status"] == "succeeded"
    assert client.get(f"/v1/jobs/{job['id']}/transcript").status_code == 200


def test_url_job(client: httpx.Client, media_server: str) -> None:
    resp = client.post("/v1/jobs", data={"url": f"{media_server}/short.wav", "language": "en"})
    assert resp.status_code == 202, resp.text
    final = wait_until_done(client, resp.json()["id"])
    assert final["status"] == "succeeded" and final["filename"] == "short.wav"
    text = client.get(f"/v1/jobs/{final['id']}/transcript", params={"format": "text"}).text
    assert wer((SAMPLES / "short.txt").read_text(), text) <= 0.05  # measured 0.0


def test_url_job_that_404s_fails_clearly(client: httpx.Client, media_server: str) -> None:
    resp = client.post("/v1/jobs", data={"url": f"{media_server}/missing.wav"})
    final = wait_until_done(client, resp.json()["id"])
    assert final["status"] == "failed"
    assert "HTTP 404" in final["error"]["message"]


def test_webhook_is_signed(client: httpx.Client, hook_receiver: tuple[str, list]) -> None:  # type: ignore[type-arg]
    from audiosvc.webhooks import verify

    url, received = hook_receiver
    job = _upload(client, SAMPLES / "short.wav", language="en", webhook_url=url).json()
    wait_until_done(client, job["id"])
    body, headers = received.get(timeout=60)  # type: ignore[attr-defined]
    payload = json.loads(body)
    assert payload["id"] == job["id"] and payload["status"] == "succeeded"
    assert payload["links"]["transcript_srt"].endswith("format=srt")
    assert verify(body, headers, "whsec-test")
    assert not verify(body, headers, "another-secret")


def _raw_upload(client: httpx.Client, filename: bytes, data: bytes) -> httpx.Response:
    """A multipart body written by hand, so the name reaches the server byte for byte (httpx
    would percent-escape control characters)."""
    boundary = b"audiosvc-test-boundary"
    body = b"".join(
        [
            b"--" + boundary + b"\r\n",
            b'Content-Disposition: form-data; name="language"\r\n\r\nen\r\n',
            b"--" + boundary + b"\r\n",
            b'Content-Disposition: form-data; name="file"; filename="' + filename + b'"\r\n',
            b"Content-Type: audio/wav\r\n\r\n",
            data,
            b"\r\n--" + boundary + b"--\r\n",
        ]
    )
    headers = {"content-type": "multipart/form-data; boundary=" + boundary.decode()}
    return client.post("/v1/jobs", content=body, headers=headers)


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("会議の録音.wav".encode(), "会議の録音.srt"),  # was a 500 (UnicodeEncodeError)
        ("Встреча.wav".encode(), "Встреча.srt"),
        (b"a\x00b.wav", "ab.srt"),  # NUL, and a bare LF: the reply was empty
        (b"a\nb.wav", "ab.srt"),
        (b"x; filename*=UTF-8''evil.sh; x=.wav", "x; filename*=UTF-8''evil.sh; x=.srt"),
    ],
)
def test_any_file_name_comes_back_in_the_download(
    client: httpx.Client, raw: bytes, shown: str
) -> None:
    resp = _raw_upload(client, raw, (SAMPLES / "short.wav").read_bytes())
    assert resp.status_code == 202, resp.text
    job = wait_until_done(client, resp.json()["id"])
    assert job["status"] == "succeeded" and job["filename"] == shown.replace(".srt", ".wav")
    got = client.get(f"/v1/jobs/{job['id']}/transcript", params={"format": "srt"})
    assert got.status_code == 200, got.text
    assert parsed(got.headers["content-disposition"]) == shown  # one of each filename


@pytest.mark.parametrize("offset", ["9223372036854775807", "1000001", "-1"])
def test_an_offset_out_of_range_is_a_clear_400(client: httpx.Client, offset: str) -> None:
    resp = client.get("/v1/jobs", params={"offset": offset})  # the largest was a 500
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["param"] == "offset"


@pytest.mark.parametrize("url", MALFORMED_URLS)
def test_a_malformed_url_is_a_clear_400(client: httpx.Client, url: str) -> None:
    _error(client.post("/v1/jobs", data={"url": url}), 400, "url")
    sync = client.post("/openai/v1/audio/transcriptions", data={"url": url, "model": "whisper-1"})
    _error(sync, 400, "url")
    _error(_upload(client, SAMPLES / "short.wav", webhook_url=url), 400, "webhook_url")


def test_a_failed_synchronous_request_keeps_nothing(
    client: httpx.Client, service_settings: Settings, tmp_path: Path
) -> None:
    """Its job fails in the worker (a WAV that declares 10 s and holds none): the error is
    the answer, and neither the job nor its upload stays."""
    import struct

    hollow = tmp_path / "hollow.wav"
    fmt = struct.pack("<IHHIIHH", 16, 1, 1, 16000, 32000, 2, 16)
    header = b"RIFF" + struct.pack("<I", 36 + 320000) + b"WAVE" + b"fmt " + fmt
    hollow.write_bytes(header + b"data" + struct.pack("<I", 320000) + b"\0" * 10)
    jobs_before = {j["id"] for j in client.get("/v1/jobs", params={"limit": 100}).json()["data"]}
    service_settings.jobs_dir.mkdir(parents=True, exist_ok=True)
    dirs_before = set(service_settings.jobs_dir.iterdir())
    with hollow.open("rb") as f:
        resp = client.post(
            "/openai/v1/audio/transcriptions",
            files={"file": ("hollow.wav", f)},
            data={"model": "whisper-large-v3-turbo"},
        )
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["message"].startswith("hollow.wav: truncated")  # the user's name
    jobs_after = {j["id"] for j in client.get("/v1/jobs", params={"limit": 100}).json()["data"]}
    assert jobs_after <= jobs_before
    assert set(service_settings.jobs_dir.iterdir()) <= dirs_before


def test_a_synchronous_request_whose_job_is_cancelled_is_a_409(
    client: httpx.Client, held_media: tuple[str, Gate]
) -> None:
    """Its job is cancelled (DELETE /v1/jobs/{id}) while the request waits: that is the
    caller's doing, not a fault of the service (it was a 500), and nothing is kept."""
    import concurrent.futures

    url, gate = held_media
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(
            client.post,
            "/openai/v1/audio/transcriptions",
            data={"url": url, "model": "whisper-large-v3-turbo"},
        )
        assert gate.arrived.wait(60)  # the job's prepare is downloading
        listed = client.get("/v1/jobs", params={"status": "processing"}).json()["data"]
        (job,) = [j for j in listed if j["url"] == url]
        assert client.delete(f"/v1/jobs/{job['id']}").status_code == 200
        gate.release.set()
        resp = waiting.result(60)
    assert resp.status_code == 409, resp.text
    assert resp.json()["error"]["code"] == "job_cancelled"
    assert client.get(f"/v1/jobs/{job['id']}").status_code == 404


def test_a_jobs_files_are_its_owners_alone(short_job: dict, service_settings: Settings) -> None:  # type: ignore[type-arg]
    """They were world-readable: uploads and transcripts are people's words."""
    root = service_settings.jobs_dir / short_job["id"]
    paths = [root, *root.rglob("*")]
    assert len(paths) > 1
    assert {oct(p.stat().st_mode & 0o777) for p in paths} <= {"0o700", "0o600"}


def test_links_never_come_from_the_host_header(client: httpx.Client) -> None:
    """The caller chooses the Host header: a link built from it points wherever they like."""
    with (SAMPLES / "short.wav").open("rb") as f:
        resp = client.post(
            "/v1/jobs",
            files={"file": ("short.wav", f)},
            data={"language": "en"},
            headers={"host": "evil.example"},
        )
    assert resp.status_code == 202, resp.text
    job = resp.json()
    assert "evil.example" not in json.dumps(job) + resp.headers["location"]
    assert job["links"]["self"] == f"/v1/jobs/{job['id']}"
    assert client.get(job["links"]["self"]).json()["id"] == job["id"]
    client.delete(job["links"]["self"])


def test_uploads_stop_at_the_disk_floor_and_keep_nothing(
    service_settings: Settings, tmp_path: Path
) -> None:
    """Refused at once when the disk is already at its floor, and mid-upload when the upload
    itself would take it there; what was accepted before keeps its room."""
    import shutil

    from tests.service.harness import Api

    free = shutil.disk_usage(service_settings.jobs_dir.parent).free
    blob = tmp_path / "big.wav"
    blob.write_bytes(np.random.default_rng(1).bytes(40 * 1024 * 1024))
    service_settings.jobs_dir.mkdir(parents=True, exist_ok=True)
    before = set(service_settings.jobs_dir.iterdir())
    for floor, what in ((free * 2, "at once"), (free - 12 * 1024 * 1024, "mid-upload")):
        api = Api(service_settings.model_copy(update={"min_free_bytes": floor})).start()
        try:
            with httpx.Client(base_url=api.url, timeout=60) as c:
                err = _error(_upload(c, blob, language="en"), 507, "file")
                assert err["code"] == "insufficient_storage", what
                assert c.get("/healthz").status_code == 200
        finally:
            api.stop()
    assert set(service_settings.jobs_dir.iterdir()) <= before
