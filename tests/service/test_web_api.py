"""What the web app asks of the API, over HTTP: its page and files, /v1/config, the job's
media for the player (ranges, signed links when keys are required), a job's own subtitle line
length, and the words of a transcript on request."""

from __future__ import annotations

import mimetypes
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from audiosvc.settings import Settings
from tests.service.conftest import SAMPLES
from tests.service.harness import Api, Worker, wait_until_done

pytestmark = pytest.mark.engine


def _upload(client: httpx.Client, path: Path, **fields: str) -> dict[str, Any]:
    with path.open("rb") as f:
        resp = client.post("/v1/jobs", files={"file": (path.name, f)}, data=fields)
    assert resp.status_code == 202, resp.text
    job: dict[str, Any] = resp.json()
    return job


@pytest.fixture(scope="module")
def narrow(client: httpx.Client) -> dict[str, Any]:
    """short.wav with 20-character subtitle lines, done."""
    job = _upload(client, SAMPLES / "short.wav", subtitle_line_chars="20")
    assert wait_until_done(client, job["id"])["status"] == "succeeded"
    done: dict[str, Any] = client.get(f"/v1/jobs/{job['id']}").json()
    return done


def test_the_page_is_served_at_the_root_and_holds_itself_to_its_origin(
    client: httpx.Client,
) -> None:
    resp = client.get("/")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/html")
    policy = resp.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "connect-src 'self'" in policy
    # Every script and stylesheet the page names is served here, from /app/.
    for asset in ("/app/style.css", "/app/main.js"):
        assert f'"{asset}"' in resp.text
        got = client.get(asset)
        assert got.status_code == 200, asset
    assert client.get("/app/no-such-file.js").status_code == 404


def test_config_tells_the_page_what_it_needs_without_a_key(client: httpx.Client) -> None:
    config = client.get("/v1/config").json()
    assert config["auth_required"] is False
    codes = {lang["code"]: lang["name"] for lang in config["languages"]}
    assert codes["en"] == "English" and codes["es"] == "Spanish" and len(codes) >= 99
    assert config["subtitles"]["max_line_chars"] == 42
    assert config["subtitles"]["line_chars_min"] <= 20 <= config["subtitles"]["line_chars_max"]
    assert config["max_upload_bytes"] > 0 and config["speakers"]["max"] >= 2


def test_a_jobs_own_line_length_shapes_its_subtitles(
    client: httpx.Client, narrow: dict[str, Any]
) -> None:
    assert narrow["subtitles"]["max_line_chars"] == 20
    assert narrow["options"]["subtitle_line_chars"] == 20
    for fmt in ("srt", "vtt"):
        text = client.get(narrow["links"][f"transcript_{fmt}"]).text
        lines = [
            line
            for line in text.splitlines()
            if line and "-->" not in line and not line.isdigit() and line != "WEBVTT"
        ]
        assert lines and max(len(line) for line in lines) <= 20, fmt


@pytest.mark.parametrize("value", ["15", "81", "wide"])
def test_a_line_length_out_of_range_is_a_400(client: httpx.Client, value: str) -> None:
    with (SAMPLES / "short.wav").open("rb") as f:
        resp = client.post(
            "/v1/jobs", files={"file": ("a.wav", f)}, data={"subtitle_line_chars": value}
        )
    assert resp.status_code == 400
    assert resp.json()["error"]["param"] == "subtitle_line_chars"


def test_words_on_request(client: httpx.Client, narrow: dict[str, Any]) -> None:
    url = f"/v1/jobs/{narrow['id']}/transcript"
    plain = client.get(url, params={"format": "verbose_json"}).json()
    assert "words" not in plain  # the job asked for segments only
    both = client.get(
        url,
        params={"format": "verbose_json", "timestamp_granularities": ["word", "segment"]},
    ).json()
    assert both["segments"] and len(both["words"]) >= 20
    assert all(w["start"] <= w["end"] for w in both["words"])
    bad = client.get(url, params={"format": "verbose_json", "timestamp_granularities": "char"})
    assert bad.status_code == 400
    assert bad.json()["error"]["param"] == "timestamp_granularities"


def test_the_player_gets_the_upload_with_ranges(
    client: httpx.Client, narrow: dict[str, Any]
) -> None:
    wav = mimetypes.guess_type("short.wav")[0]  # audio/x-wav or audio/wav, by platform
    assert narrow["media"] == {"content_type": wav, "video": False}
    link = narrow["links"]["media"]
    assert link == f"/v1/jobs/{narrow['id']}/media"  # no keys: a plain link
    whole = client.get(link)
    assert whole.status_code == 200
    assert whole.content == (SAMPLES / "short.wav").read_bytes()
    assert whole.headers["content-type"] == wav
    assert whole.headers["content-disposition"].startswith("inline")
    part = client.get(link, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.content == whole.content[100:200]


def test_a_video_is_known_as_one(client: httpx.Client, tmp_path: Path) -> None:
    av = pytest.importorskip("av")
    import numpy as np

    path = tmp_path / "clip.mp4"
    with av.open(str(path), "w") as out:
        video = out.add_stream("mpeg4", rate=10)
        video.width, video.height = 64, 48
        audio = out.add_stream("aac", rate=16000)
        for i in range(10):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 20, np.uint8), "rgb24")
            for packet in video.encode(frame):
                out.mux(packet)
        pcm = (np.sin(np.arange(16000) / 8) * 3000).astype(np.int16).reshape(1, -1)
        sound = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        sound.sample_rate = 16000
        for packet in audio.encode(sound):
            out.mux(packet)
        for stream in (video, audio):
            for packet in stream.encode(None):
                out.mux(packet)
    job = _upload(client, path)
    assert job["media"] == {"content_type": "video/mp4", "video": True}
    client.delete(f"/v1/jobs/{job['id']}")


@pytest.fixture(scope="module")
def keyed(service_settings: Settings, worker: Worker) -> Iterator[httpx.Client]:
    """A second API on the same Redis that requires a key, and a client that sends it."""
    server = Api(service_settings.model_copy(update={"api_keys": "sk-media"})).start()
    with httpx.Client(
        base_url=server.url, timeout=60, headers={"Authorization": "Bearer sk-media"}
    ) as c:
        yield c
    server.stop()


def test_with_keys_the_media_link_is_signed_and_nothing_else_opens_it(
    keyed: httpx.Client,
) -> None:
    job = _upload(keyed, SAMPLES / "short.wav")
    link = job["links"]["media"]
    path, query = urlsplit(link).path, parse_qs(urlsplit(link).query)
    assert path == f"/v1/jobs/{job['id']}/media"
    bare = httpx.Client(base_url=str(keyed.base_url), timeout=30)
    with bare:
        assert bare.get(link).status_code == 200  # a player sends no header: the link is it
        assert bare.get(link).content == (SAMPLES / "short.wav").read_bytes()
        assert bare.get(path).status_code == 401
        forged = f"{path}?expires={query['expires'][0]}&signature={'0' * 64}"
        assert bare.get(forged).status_code == 401
        # Not ASCII (the fuzzer's %C3%B9%11%2B): a wrong signature, not a 500.
        assert (
            bare.get(f"{path}?expires={query['expires'][0]}&signature=%C3%B9%11%2B").status_code
            == 401
        )
        later = int(query["expires"][0]) + 3600
        assert (
            bare.get(f"{path}?expires={later}&signature={query['signature'][0]}").status_code == 401
        )
        other = link.replace(job["id"], "0" * len(job["id"]))
        assert bare.get(other).status_code == 401  # signed for one job only
        expired = f"{path}?expires=1&signature={query['signature'][0]}"
        assert bare.get(expired).status_code == 401
    assert keyed.get(path).status_code == 200  # the key works too
    assert keyed.get("/v1/config").json()["auth_required"] is True
    keyed.delete(f"/v1/jobs/{job['id']}")
