"""The web app in a real browser (Debian's Chromium, driven by Playwright) against the real
service: the session's API over HTTP, its Redis and its Celery worker with the local engine.

Every page these tests open fails its test on a console error, an uncaught exception or a
request to another origin (:mod:`tests.browser`)."""

from __future__ import annotations

import re
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from audiosvc.media import decode
from audiosvc.settings import Settings
from tests.browser import PHONE, Watched, watched_page
from tests.measures import reference_turns, speaker_word_accuracy
from tests.service.harness import Api, Worker

SAMPLES = Path(__file__).resolve().parent.parent.parent / "samples"
CONVERSATION = SAMPLES / "conversation.flac"
TURNS = reference_turns(SAMPLES / "conversation.txt")
LINE_CHARS = 32  # asked for in the form: every cue line of the job keeps to it
JOB_SECONDS = 240.0  # the longest wait for a job in these tests


@pytest.fixture
def page(browser: Browser, api: Api, worker: Worker) -> Iterator[Watched]:
    with watched_page(browser, api.url) as w:
        yield w
        assert not w.problems(), w.problems()


def _upload(page: Page, file: Path | dict[str, Any], *, speakers: bool = False) -> str:
    """Choose ``file`` in the form, submit it, and return the new job's id."""
    page.set_input_files("#file-input", file)  # type: ignore[arg-type]
    if speakers:
        page.check("#diarize")
    page.fill("#line-chars", str(LINE_CHARS))
    page.click("#submit")
    item = page.locator("#jobs [data-job-id][data-new='true']").first  # made by this page
    expect(item).to_be_visible(timeout=60_000)
    job_id = item.get_attribute("data-job-id")
    assert job_id
    return job_id


def _status(page: Page, job_id: str, status: str, timeout: float = JOB_SECONDS) -> None:
    page.wait_for_selector(
        f'#jobs [data-job-id="{job_id}"][data-status="{status}"]', timeout=timeout * 1000
    )


@pytest.fixture(scope="module")
def uploaded(browser: Browser, api: Api, worker: Worker) -> str:
    """conversation.flac (three voices), uploaded through the page with speakers on and a
    32-character subtitle line, followed live until it is done."""
    with watched_page(browser, api.url) as w:
        w.page.goto(api.url + "/")
        job_id = _upload(w.page, CONVERSATION, speakers=True)
        item = w.page.locator(f'#jobs [data-job-id="{job_id}"]')
        # Live progress through the server-sent events: a bar while it runs, then done.
        _status(w.page, job_id, "processing", 60)
        expect(item.locator("progress")).to_be_visible()
        _status(w.page, job_id, "succeeded")
        expect(item.locator("progress")).to_have_count(0)
        w.screenshot("jobs-desktop")
        assert not w.problems(), w.problems()
    return job_id


def _open(page: Watched, api: Api, job_id: str) -> None:
    page.page.goto(f"{api.url}/#/jobs/{job_id}")
    page.page.wait_for_selector("body[data-transcript-ready='true']", timeout=30_000)


def _words(client: httpx.Client, job_id: str) -> list[dict[str, Any]]:
    resp = client.get(
        f"/v1/jobs/{job_id}/transcript",
        params={"format": "verbose_json", "timestamp_granularities": "word"},
    )
    assert resp.status_code == 200, resp.text
    words: list[dict[str, Any]] = resp.json()["words"]
    return words


def _shown(page: Page) -> list[tuple[str | None, str]]:
    """(speaker shown above it, word) for every word of the transcript, in page order."""
    pairs: list[list[Any]] = page.evaluate(
        """() => {
            let speaker = null; const out = [];
            const all = '#transcript .speaker-name, #transcript .w';
            for (const el of document.querySelectorAll(all)) {
                if (el.classList.contains('speaker-name')) speaker = el.dataset.speaker;
                else out.push([speaker, el.textContent]);
            }
            return out;
        }"""
    )
    return [(s, w) for s, w in pairs]


def test_the_page_shows_who_said_what(page: Watched, api: Api, uploaded: str) -> None:
    _open(page, api, uploaded)
    shown = _shown(page.page)
    assert speaker_word_accuracy(TURNS, shown) >= 0.85  # measured 0.916 (as the API's)
    expect(page.page.locator("#speakers")).to_contain_text("A")
    page.screenshot("transcript-desktop")


def _current(page: Page) -> int:
    index = page.evaluate(
        "() => { const el = document.querySelector('#transcript .w.current');"
        " return el ? Number(el.dataset.i) : -1; }"
    )
    return int(index)


def test_the_spoken_word_is_highlighted_as_it_plays(page: Watched, api: Api, uploaded: str) -> None:
    _open(page, api, uploaded)
    p = page.page
    p.evaluate("() => document.querySelector('#player').play()")
    p.wait_for_function("() => document.querySelector('#player').currentTime > 1.5")
    first = _current(p)
    p.wait_for_function(
        f"() => Number(document.querySelector('#transcript .w.current')?.dataset.i) > {first}"
    )
    assert first >= 0
    p.evaluate("() => document.querySelector('#player').pause()")


def test_clicking_a_word_seeks_there(
    page: Watched, api: Api, client: httpx.Client, uploaded: str
) -> None:
    words = _words(client, uploaded)
    _open(page, api, uploaded)
    k = len(words) * 2 // 3
    page.page.click(f"#transcript .w[data-i='{k}']")
    time = float(page.page.evaluate("() => document.querySelector('#player').currentTime"))
    assert abs(time - words[k]["start"]) < 0.05, (time, words[k])
    expect(page.page.locator(f"#transcript .w[data-i='{k}']")).to_have_class(
        re.compile(r"\bcurrent\b")
    )


def test_search_finds_every_occurrence_and_jumps_to_them(
    page: Watched, api: Api, client: httpx.Client, uploaded: str
) -> None:
    words = _words(client, uploaded)
    said = [i for i, w in enumerate(words) if "kitchen" in w["word"].lower()]
    assert len(said) >= 2  # the reference says it three times
    _open(page, api, uploaded)
    p = page.page
    p.fill("#search", "Kitchen")
    expect(p.locator("#transcript .w.match")).to_have_count(len(said))
    expect(p.locator("#search-count")).to_contain_text(str(len(said)))
    p.press("#search", "Enter")
    current = p.locator("#transcript .w.match-current")
    expect(current).to_have_count(1)
    expect(current).to_be_in_viewport()
    index = int(current.get_attribute("data-i") or -1)
    assert index in said
    time = float(p.evaluate("() => document.querySelector('#player').currentTime"))
    assert abs(time - words[index]["start"]) < 0.05


def test_the_subtitle_preview_lists_every_cue_within_the_jobs_limits(
    page: Watched, api: Api, client: httpx.Client, uploaded: str
) -> None:
    srt = client.get(f"/v1/jobs/{uploaded}/transcript", params={"format": "srt"}).text
    cues = [block for block in srt.strip().split("\n\n") if block.strip()]
    lines = [line for block in cues for line in block.splitlines()[2:]]
    assert max(len(line) for line in lines) <= LINE_CHARS  # the form's line length, kept
    _open(page, api, uploaded)
    p = page.page
    p.get_by_role("tab", name=re.compile("Subtitles")).click()
    rows = p.locator("#cues [role=row][data-cue]")
    expect(rows).to_have_count(len(cues))
    expect(p.locator("#cues .over")).to_have_count(0)
    # The cue at 10 s shows in the caption box under the (audio) player.
    at = next(block for block in cues if _span(block)[0] <= 10.0 < _span(block)[1])
    p.evaluate("() => { const m = document.querySelector('#player'); m.currentTime = 10; }")
    expect(p.locator("#caption")).to_contain_text(at.splitlines()[2].split(": ", 1)[-1])
    page.screenshot("subtitles-desktop")


def _span(block: str) -> tuple[float, float]:
    def seconds(stamp: str) -> float:
        h, m, rest = stamp.strip().split(":")
        return int(h) * 3600 + int(m) * 60 + float(rest.replace(",", "."))

    start, end = block.splitlines()[1].split("-->")
    return seconds(start), seconds(end)


def _video(path: Path, seconds: int) -> Path:
    """The first ``seconds`` of conversation.flac as a WebM video (VP8 and Opus)."""
    pcm = decode(CONVERSATION).pcm[: 16000 * seconds]
    pcm48 = np.repeat(pcm, 3).reshape(1, -1)  # Opus takes 48 kHz
    with av.open(str(path), "w", format="webm") as out:
        video = out.add_stream("libvpx", rate=5)
        video.width, video.height, video.pix_fmt = 320, 180, "yuv420p"
        audio = out.add_stream("libopus", rate=48000)
        audio.layout = "mono"
        for i in range(seconds * 5):
            image = np.full((180, 320, 3), 30, np.uint8)
            image[:, : (i * 320) // (seconds * 5)] = (40, 90, 200)
            frame = av.VideoFrame.from_ndarray(image, "rgb24")
            frame.pts = i
            for packet in video.encode(frame):
                out.mux(packet)
        for k in range(0, pcm48.shape[1], 960):
            sound = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(pcm48[:, k : k + 960]), format="s16", layout="mono"
            )
            sound.sample_rate, sound.pts = 48000, k
            for packet in audio.encode(sound):
                out.mux(packet)
        for stream in (video, audio):
            for packet in stream.encode(None):
                out.mux(packet)
    return path


def test_a_video_plays_with_its_subtitles_over_it(
    page: Watched, api: Api, client: httpx.Client, tmp_path: Path
) -> None:
    p = page.page
    p.goto(api.url + "/")
    job_id = _upload(p, _video(tmp_path / "clip.webm", 14))
    _status(p, job_id, "succeeded")
    vtt = client.get(f"/v1/jobs/{job_id}/transcript", params={"format": "vtt"}).text
    _open(page, api, job_id)
    assert p.evaluate("() => document.querySelector('#player').tagName") == "VIDEO"
    # The service's own VTT, as a <track> the browser shows over the picture.
    p.wait_for_function(
        "() => { const t = document.querySelector('#player').textTracks[0];"
        " return t && t.mode === 'showing' && t.cues && t.cues.length > 0; }"
    )
    count = p.evaluate("() => document.querySelector('#player').textTracks[0].cues.length")
    assert count == vtt.count("-->")
    p.evaluate("() => { const m = document.querySelector('#player'); m.currentTime = 2; }")
    p.wait_for_function(
        "() => document.querySelector('#player').textTracks[0].activeCues.length === 1"
    )
    page.screenshot("video-desktop")
    client.delete(f"/v1/jobs/{job_id}")


def test_a_renamed_speaker_is_in_the_downloaded_srt(
    page: Watched, api: Api, client: httpx.Client, uploaded: str
) -> None:
    _open(page, api, uploaded)
    p = page.page
    p.locator("#speakers").get_by_role("button", name=re.compile("Rename")).first.click()
    field = p.get_by_label("Name for speaker A")
    field.fill("Alice")
    field.press("Enter")
    expect(p.locator("#transcript .speaker-name[data-speaker='A']").first).to_contain_text("Alice")
    with p.expect_download() as download:
        p.get_by_role("link", name=re.compile("Download SRT")).or_(
            p.get_by_role("button", name=re.compile("Download SRT"))
        ).click()
    path = download.value.path()
    text = Path(path).read_text()
    assert "Alice:" in text
    assert "A:" not in text
    assert download.value.suggested_filename.endswith(".srt")
    client.patch(f"/v1/jobs/{uploaded}/speakers", json={"A": None})  # as it was


def test_a_job_can_be_cancelled_from_the_list(
    page: Watched, api: Api, client: httpx.Client, tmp_path: Path
) -> None:
    # Ten minutes of a recording: it cannot be done before the click.
    with wave.open(str(SAMPLES / "short.wav")) as f:
        rate, pcm = f.getframerate(), f.readframes(f.getnframes())
    long = tmp_path / "ten-minutes.wav"
    with wave.open(str(long), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(pcm * int(600 * rate * 2 / len(pcm) + 1))
    page.page.goto(api.url + "/")
    job_id = _upload(page.page, long)
    item = page.page.locator(f'#jobs [data-job-id="{job_id}"]')
    item.get_by_role("button", name="Cancel").click()
    _status(page.page, job_id, "cancelled", 30)
    assert client.get(f"/v1/jobs/{job_id}").json()["status"] == "cancelled"
    # Then deleted, once the page has asked whether to.
    asked: list[str] = []
    page.page.once("dialog", lambda d: (asked.append(d.message), d.accept()))
    item.get_by_role("button", name="Delete").click()
    expect(item).to_have_count(0)
    assert asked and "ten-minutes.wav" in asked[0]
    assert client.get(f"/v1/jobs/{job_id}").status_code == 404


def test_a_file_that_is_not_audio_gets_a_clear_message(
    page: Watched, api: Api, client: httpx.Client
) -> None:
    page.expected_statuses |= {400, 415}
    page.page.goto(api.url + "/")
    before = client.get("/v1/jobs", params={"limit": 100}).json()["data"]
    page.page.set_input_files(
        "#file-input",
        {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"minutes of the meeting\n" * 40},
    )
    page.page.click("#submit")
    alert = page.page.locator("#form-error")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("not audio or video")  # the page's title for a 415
    expect(alert).to_contain_text("notes.txt")  # and the service's reason, naming the file
    assert client.get("/v1/jobs", params={"limit": 100}).json()["data"] == before  # no job


def test_a_link_to_a_recording_becomes_a_job(
    page: Watched, api: Api, client: httpx.Client, media_server: str
) -> None:
    p = page.page
    p.goto(api.url + "/")
    p.fill("#url-input", f"{media_server}/short.wav")
    p.click("#submit")
    item = p.locator("#jobs [data-job-id][data-new='true']").first
    expect(item).to_be_visible(timeout=30_000)
    expect(item).to_contain_text("short.wav")
    job_id = item.get_attribute("data-job-id")
    _status(p, str(job_id), "succeeded")
    assert client.get(f"/v1/jobs/{job_id}").json()["url"] == f"{media_server}/short.wav"
    client.delete(f"/v1/jobs/{job_id}")


def test_a_file_over_the_limit_is_refused_before_it_is_sent(
    browser: Browser, service_settings: Settings
) -> None:
    small = Api(service_settings.model_copy(update={"max_upload_bytes": 100_000})).start()
    try:
        with watched_page(browser, small.url) as w:
            sent: list[str] = []
            w.page.on("request", lambda r: sent.append(r.url) if r.method == "POST" else None)
            w.page.goto(small.url + "/")
            w.page.set_input_files("#file-input", SAMPLES / "short.wav")  # 320 kB
            w.page.click("#submit")
            alert = w.page.locator("#form-error")
            expect(alert).to_contain_text("too large")
            expect(alert).to_contain_text("97.7 KB")
            assert sent == []
            assert not w.problems(), w.problems()
    finally:
        small.stop()


@pytest.fixture(scope="module")
def keyed_api(service_settings: Settings) -> Iterator[Api]:
    """A second API on the same Redis that requires a key."""
    server = Api(service_settings.model_copy(update={"api_keys": "sk-web-right"})).start()
    yield server
    server.stop()


def test_a_wrong_key_is_refused_and_the_right_one_works(browser: Browser, keyed_api: Api) -> None:
    with watched_page(browser, keyed_api.url) as w:
        w.expected_statuses.add(401)
        p = w.page
        p.goto(keyed_api.url + "/")
        key = p.get_by_label("API key")
        key.fill("sk-web-wrong")
        key.press("Enter")
        expect(p.get_by_role("alert").filter(has_text=re.compile("not accepted"))).to_be_visible()
        key = p.get_by_label("API key")
        key.fill("sk-web-right")
        key.press("Enter")
        expect(p.locator("#jobs")).to_be_visible()
        expect(p.get_by_label("API key")).to_be_hidden()
        stored = p.evaluate("() => sessionStorage.getItem('audiosvc.apiKey')")
        assert stored == "sk-web-right"
        assert not w.problems(), w.problems()


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_api_docs_work_offline(page: Watched, api: Api, path: str) -> None:
    page.page.goto(api.url + path)
    selector = (
        ".swagger-ui .opblock" if path == "/docs" else "redoc [role=navigation], .menu-content"
    )
    page.page.wait_for_selector(selector, timeout=30_000)


def _serious(page: Page) -> list[str]:
    results = Axe().run(page)
    return [
        f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes)"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_the_pages_are_accessible_and_fit_a_phone(
    browser: Browser, api: Api, uploaded: str
) -> None:
    for viewport, name in ((None, "desktop"), (PHONE, "phone")):
        with watched_page(browser, api.url, viewport) as w:
            p = w.page
            p.goto(api.url + "/")
            p.wait_for_selector(f'#jobs [data-job-id="{uploaded}"]')
            assert _serious(p) == []
            if name == "phone":
                w.screenshot("jobs-phone")
            _open(w, api, uploaded)
            assert _serious(p) == []
            overflow = p.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{overflow} px wider than a {name}"
            if name == "phone":
                w.screenshot("transcript-phone")
            p.goto(api.url + "/#/live")
            p.wait_for_selector("#live-captions")
            assert _serious(p) == []
            assert p.evaluate("() => document.documentElement.scrollWidth - window.innerWidth") <= 0
            assert not w.problems(), w.problems()


def test_keyboard_alone_reaches_the_upload(page: Watched, api: Api) -> None:
    """Tab from the top of the page reaches the file picker, the options and the button."""
    page.page.goto(api.url + "/")
    seen: list[str] = []
    for _ in range(40):
        page.page.keyboard.press("Tab")
        seen.append(page.page.evaluate("() => document.activeElement?.id || ''"))
    for wanted in ("file-input", "language", "diarize", "line-chars", "submit"):
        assert wanted in seen, (wanted, seen)
    assert seen.index("file-input") < seen.index("submit")
