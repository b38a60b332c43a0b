"""The web app's pure JavaScript modules, run in the real browser against what the service
itself produces: its SRT and VTT, its event streams, its Content-Disposition headers. The
Python side renders; the page's module must read back the same thing."""

from __future__ import annotations

import base64
import html
import io
import json
import random
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import srt
import webvtt
from hypothesis import given, settings
from hypothesis import strategies as st
from playwright.sync_api import Browser, Page

from audiosvc.api.routers.jobs import _sse
from audiosvc.formats import render
from audiosvc.names import attachment
from audiosvc.subtitles import SubtitleLimits
from audiosvc.transcript import Segment, Transcript, Word
from tests.service.harness import Api


@pytest.fixture(scope="module")
def js(browser: Browser, api: Api) -> Iterator[Page]:
    """A page of the service's origin, from which the app's modules are imported."""
    page = browser.new_page()
    page.goto(api.url + "/v1/config")
    yield page
    page.close()


def call(page: Page, module: str, function: str, *args: Any) -> Any:
    return page.evaluate(
        """async ([module, fn, args]) => {
            const m = await import(`/app/${module}`);
            const out = m[fn](...args);
            return JSON.parse(JSON.stringify(out, (k, v) =>
                ArrayBuffer.isView(v) ? Array.from(v) : v));
        }""",
        [module, function, list(args)],
    )


def _transcript(speakers: bool) -> Transcript:
    said = [
        ("A", "Thanks for coming, everyone. I wanted to talk about the new office plan."),
        ("B", "Sure. The kitchen is far too small for the whole team, & that's <not> fine."),
        ("A", "Would that be safe enough?"),
        ("C", "I think so."),
    ]
    segments, t = [], 0.0
    for i, (who, text) in enumerate(said):
        words = []
        for w in text.split():
            words.append(
                Word(word=f" {w}", start=t, end=t + 0.3, speaker=who if speakers else None)
            )
            t += 0.4
        segments.append(
            Segment(
                id=i,
                start=words[0].start,
                end=words[-1].end,
                text=" " + text,
                words=words,
                speaker=who if speakers else None,
            )
        )
        t += 1.0
    return Transcript(duration=t, text=" ".join(s for _, s in said), segments=segments)


def _seconds(stamp: str) -> float:
    h, m, s = stamp.split(":")
    return round(int(h) * 3600 + int(m) * 60 + float(s), 3)


@pytest.mark.parametrize("speakers", [False, True])
def test_cues_read_back_the_services_own_srt_and_vtt(js: Page, speakers: bool) -> None:
    transcript = _transcript(speakers)
    limits = SubtitleLimits(max_line_chars=24)
    for fmt in ("srt", "vtt"):
        text = render(transcript, fmt, limits=limits)
        if fmt == "srt":
            want = [
                (c.start.total_seconds(), c.end.total_seconds(), c.content.split("\n"), None)
                for c in srt.parse(text)
            ]
        else:  # markup and entities gone from the lines; the voice (<v A>) kept apart
            want = [
                (_seconds(c.start), _seconds(c.end), html.unescape(c.text).split("\n"), c.voice)
                for c in webvtt.from_buffer(io.StringIO(text))
            ]
        cues = call(js, "cues.js", "parseSubtitles", text)
        got = [(c["start"], c["end"], c["lines"], c["voice"]) for c in cues]
        assert got == want, fmt
        assert all(c[3] for c in got) if speakers and fmt == "vtt" else True
        issues = [call(js, "cues.js", "cueIssues", c, limits.__dict__) for c in cues]
        assert issues == [[] for _ in cues], fmt  # the renderer kept to the limits


def test_cue_issues_name_each_limit_broken(js: Page) -> None:
    limits = {"max_line_chars": 10, "max_lines": 2, "max_cue_seconds": 7, "min_cue_seconds": 0.5}
    cue = {"start": 0, "end": 9, "lines": ["élan vital!!", "b", "c"], "voice": None}
    kinds = [i["kind"] for i in call(js, "cues.js", "cueIssues", cue, limits)]
    assert kinds == ["line", "lines", "long"]
    short = {"start": 0, "end": 0.2, "lines": ["ok"], "voice": None}
    assert [i["kind"] for i in call(js, "cues.js", "cueIssues", short, limits)] == ["short"]
    exact = {"start": 0, "end": 7, "lines": ["0123456789"], "voice": None}  # at, not over
    assert call(js, "cues.js", "cueIssues", exact, limits) == []


@settings(max_examples=1, deadline=None)
@given(st.lists(st.floats(0, 100, allow_nan=False), min_size=1, max_size=40), st.randoms())
def test_cue_at_and_unit_at_agree_with_a_linear_search(
    js: Page, points: list[float], rnd: random.Random
) -> None:
    starts = sorted(points)
    cues = [{"start": s, "end": s + rnd.uniform(0.01, 3)} for s in starts]
    times = [rnd.uniform(-1, 105) for _ in range(50)] + starts
    got = js.evaluate(
        """async ([cues, starts, times]) => {
            const c = await import('/app/cues.js'); const p = await import('/app/paragraphs.js');
            return times.map(t => [c.cueAt(cues, t), p.unitAt(Float64Array.from(starts), t)]);
        }""",
        [cues, starts, times],
    )
    for t, (cue, unit) in zip(times, got, strict=True):
        before = [i for i, s in enumerate(starts) if s <= t]
        assert unit == (before[-1] if before else -1)
        showing = before[-1] if before and t < cues[before[-1]]["end"] else -1
        assert cue == showing


def test_search_ignores_case_and_punctuation_and_finds_phrases(js: Page) -> None:
    said = ["Hello,", "world!", "It's", "the", "KITCHEN;", "the", "kitchen's", "door."]
    units = [{"text": w} for w in said]
    index = call(js, "search.js", "buildSearchIndex", units)

    def find(q: str) -> list[tuple[int, int]]:
        out = js.evaluate(
            """async ([index, q]) => (await import('/app/search.js')).findMatches(index, q)""",
            [index, q],
        )
        return [(m["from"], m["to"]) for m in out]

    assert find("kitchen") == [(4, 4), (6, 6)]
    assert find("ITS") == [(2, 2)]
    assert find("the kitchen") == [(3, 4), (5, 6)]
    assert find("world it's") == [(1, 2)]
    assert find("ello") == [(0, 0)]
    assert find("  ") == []
    assert find("cellar") == []


@settings(max_examples=20, deadline=None)
@given(st.randoms())
def test_the_event_parser_reads_the_services_stream_however_it_is_cut(
    js: Page, rnd: random.Random
) -> None:
    views = [
        {"status": "queued", "id": "job_1", "progress": {"chunks_done": 0}},
        {"status": "processing", "id": "job_1", "note": "line\nbreak ü"},
        {"status": "succeeded", "id": "job_1"},
    ]
    stream = ": keep-alive\n\n".join(_sse(v) for v in views)
    if rnd.random() < 0.5:
        stream = stream.replace("\n", "\r\n")
    cuts = sorted(rnd.sample(range(1, len(stream)), min(8, len(stream) - 1)))
    pieces = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    events = js.evaluate(
        """async (pieces) => {
            const { createSseParser } = await import('/app/sse.js');
            const out = []; const feed = createSseParser(e => out.push(e));
            for (const p of pieces) feed(p);
            return out;
        }""",
        pieces,
    )
    assert [e["event"] for e in events] == ["progress", "progress", "succeeded"]
    assert [json.loads(e["data"]) for e in events] == views


@pytest.mark.parametrize("name", ["meeting.srt", "Réunion d'équipe.srt", "会议.vtt", 'a"b;c.txt'])
def test_the_download_name_is_the_one_the_service_gives(js: Page, name: str) -> None:
    header = attachment(name)
    assert call(js, "format.js", "dispositionFilename", header) == name


def test_paragraphs_follow_speaker_turns_and_keep_every_word(js: Page) -> None:
    verbose = _transcript(True).to_verbose_json()
    built = call(js, "paragraphs.js", "buildParagraphs", verbose)
    assert len(built["units"]) == len(verbose["words"])  # a unit per word, same index
    assert [p["speaker"] for p in built["paragraphs"]] == ["A", "B", "A", "C"]
    covered = [i for p in built["paragraphs"] for i in range(p["from"], p["to"] + 1)]
    assert covered == list(range(len(verbose["words"])))
    plain = _transcript(False).to_verbose_json()
    built = call(js, "paragraphs.js", "buildParagraphs", plain)
    assert not built["diarized"] and all(p["speaker"] is None for p in built["paragraphs"])


def test_the_live_pages_pcm_is_the_protocols(js: Page) -> None:
    """The microphone's floats become the 16-bit little-endian PCM the service decodes, and
    the bot's PCM comes back as the same floats; frames are cut at exact sizes."""
    floats = [0.0, 0.5, -0.5, 1.0, -1.0, 1.5, -2.0, 0.25]
    b64 = call(js, "pcm.js", "floatToPcm16Base64", floats)
    assert list(np.frombuffer(base64.b64decode(b64), "<i2")) == [
        0, 16384, -16384, 32767, -32768, 32767, -32768, 8192,
    ]  # fmt: skip
    back = call(js, "pcm.js", "pcm16Base64ToFloat", b64)
    assert back == pytest.approx([0.0, 0.5, -0.5, 32767 / 32768, -1.0, 32767 / 32768, -1.0, 0.25])
    sizes = js.evaluate(
        """async () => {
            const { createFramer } = await import('/app/pcm.js');
            const out = []; const push = createFramer(100, f => out.push(f.length));
            for (const n of [30, 250, 1, 19]) push(new Float32Array(n));
            return out;
        }"""
    )
    assert sizes == [100, 100, 100]
