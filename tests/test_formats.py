"""Response formats: exact bodies, and subtitle files that real parsers read back as built."""

from __future__ import annotations

import html
import io
import json
from datetime import timedelta

import pytest
import srt
import webvtt
from hypothesis import given, settings
from hypothesis import strategies as st

from audiosvc.errors import InvalidRequestError, error_response
from audiosvc.formats import (
    CONTENT_TYPES,
    EXTENSIONS,
    FORMATS,
    OutputFormat,
    parse_format,
    render,
)
from audiosvc.languages import LANGUAGES, language_code, language_name
from audiosvc.subtitles import Cue, SubtitleLimits, build_cues
from audiosvc.transcript import Segment, Transcript, Word
from tests.factories import transcript_from_words


def _transcript(words: list[Word], **kw: object) -> Transcript:
    kw.setdefault("per_segment", 5)
    return transcript_from_words(words, **kw)  # type: ignore[arg-type]


HELLO = _transcript(
    [Word(word="Hello", start=0.0, end=0.5), Word(word="world.", start=0.6, end=1.5)]
)


# --- parse_format --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "text", "verbose_json", "srt", "vtt"])
def test_parse_format_accepts_every_format(fmt: str) -> None:
    assert parse_format(fmt) == fmt
    assert parse_format(f" {fmt.upper()} ") == fmt


def test_parse_format_rejects_unknown_with_param_and_choices() -> None:
    with pytest.raises(InvalidRequestError) as info:
        parse_format("docx")
    assert info.value.param == "response_format"
    assert "docx" in info.value.message
    for fmt in FORMATS:
        assert fmt in info.value.message
    status, body = error_response(info.value)
    assert status == 400 and body["error"]["param"] == "response_format"


def test_tables_cover_every_format() -> None:
    assert set(FORMATS) == {"json", "text", "verbose_json", "srt", "vtt", "diarized_json"}
    assert set(CONTENT_TYPES) == set(FORMATS) == set(EXTENSIONS)
    assert CONTENT_TYPES["json"] == CONTENT_TYPES["verbose_json"] == "application/json"
    assert CONTENT_TYPES["text"] == "text/plain; charset=utf-8"
    assert CONTENT_TYPES["srt"] == "application/x-subrip; charset=utf-8"
    assert CONTENT_TYPES["vtt"] == "text/vtt; charset=utf-8"
    assert EXTENSIONS["srt"] == "srt" and EXTENSIONS["vtt"] == "vtt"


# --- json, text, verbose_json --------------------------------------------------------------


def test_json_is_text_only_and_keeps_unicode() -> None:
    t = Transcript(duration=1.0, text="Grüße, 世界")
    body = render(t, "json")
    assert body == '{"text": "Grüße, 世界"}'
    assert json.loads(body) == {"text": "Grüße, 世界"}


def test_text_has_one_trailing_newline() -> None:
    assert render(HELLO, "text") == "Hello world.\n"
    assert render(Transcript(duration=1.0, text="a\n"), "text") == "a\n"


def test_verbose_json_segments_by_default_without_words() -> None:
    body = json.loads(render(HELLO, "verbose_json"))
    assert body["language"] == "english"
    assert body["task"] == "transcribe"
    assert body["text"] == "Hello world."
    assert body["duration"] == 2.5
    assert "words" not in body
    assert [s["text"] for s in body["segments"]] == [" Hello world."]
    assert "words" not in body["segments"][0]


def test_verbose_json_words_only_when_requested() -> None:
    body = json.loads(render(HELLO, "verbose_json", granularities=["word"]))
    assert "segments" not in body
    assert body["words"] == [
        {"word": "Hello", "start": 0.0, "end": 0.5},
        {"word": "world.", "start": 0.6, "end": 1.5},
    ]
    both = json.loads(render(HELLO, "verbose_json", granularities=("segment", "word")))
    assert "segments" in both and "words" in both


@pytest.mark.parametrize(
    ("language", "printed"),
    [
        ("en", "english"),
        ("de", "german"),
        ("yue", "cantonese"),
        ("English", "english"),
        ("xx", "xx"),
    ],
)
def test_verbose_json_language_name(language: str, printed: str) -> None:
    t = HELLO.model_copy(update={"language": language})
    assert json.loads(render(t, "verbose_json"))["language"] == printed


# --- languages -----------------------------------------------------------------------------


def test_language_table_matches_whisper() -> None:
    tokenizer = pytest.importorskip("faster_whisper.tokenizer")
    codes = getattr(tokenizer, "_LANGUAGE_CODES", None)
    if codes is None:
        pytest.skip("faster_whisper no longer exposes its language codes")
    assert set(LANGUAGES) == set(codes)
    assert len(LANGUAGES) == 100
    assert all(name == name.lower() for name in LANGUAGES.values())
    assert len(set(LANGUAGES.values())) == len(LANGUAGES)


def test_language_lookups() -> None:
    assert language_name("en") == "english"
    assert language_name("EN") == "english"
    assert language_name("en-US") == "english"
    assert language_name("haw") == "hawaiian"
    assert language_name("German") == "german"
    assert language_name("Klingon") == "Klingon"  # unknown: passed on unchanged
    assert language_code("german") == "de"
    assert language_code("Mandarin") == "zh"
    assert language_code("zh_TW") == "zh"
    assert language_code("jv") == "jw"
    assert language_code("yue") == "yue"
    assert language_code("klingon") is None
    for code, name in LANGUAGES.items():
        assert language_code(name) == code and language_name(code) == name


# --- srt and vtt ---------------------------------------------------------------------------


def test_srt_exact() -> None:
    assert render(HELLO, "srt") == "1\n00:00:00,000 --> 00:00:01,500\nHello world.\n\n"


def test_vtt_exact() -> None:
    assert render(HELLO, "vtt") == "WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nHello world.\n\n"


def test_srt_prints_1_001_seconds_as_001_ms() -> None:
    t = _transcript([Word(word="Hi.", start=1.001, end=2.0)])
    assert "00:00:01,001 --> 00:00:02,000" in render(t, "srt")
    assert "00:00:01.001 --> 00:00:02.000" in render(t, "vtt")


def test_numbering_and_limits_are_applied() -> None:
    words = [
        Word(word=w, start=i * 0.5, end=i * 0.5 + 0.4)
        for i, w in enumerate(["one", "two", "three", "four", "five", "six", "seven", "eight"])
    ]
    body = render(_transcript(words), "srt", limits=SubtitleLimits(max_line_chars=10, max_lines=1))
    subs = list(srt.parse(body))
    assert [s.index for s in subs] == list(range(1, len(subs) + 1))
    assert all(len(s.content) <= 10 for s in subs)
    assert " ".join(s.content for s in subs) == "one two three four five six seven eight"


def test_vtt_escapes_markup() -> None:
    t = _transcript(
        [
            Word(word="a<b", start=0.0, end=0.5),
            Word(word="&", start=0.5, end=0.6),
            Word(word="-->", start=0.6, end=1.0),
        ]
    )
    body = render(t, "vtt")
    assert "a&lt;b &amp; --&gt;" in body
    captions = webvtt.from_buffer(io.StringIO(body)).captions
    assert [html.unescape(c.text) for c in captions] == ["a<b & -->"]
    assert "a<b & -->" in render(t, "srt")


def test_empty_transcript_gives_empty_subtitle_files() -> None:
    empty = Transcript(duration=3.0, text="")
    assert render(empty, "srt") == ""
    assert render(empty, "vtt") == "WEBVTT\n\n"
    assert list(srt.parse(render(empty, "srt"))) == []
    assert webvtt.from_buffer(io.StringIO(render(empty, "vtt"))).captions == []


def test_segments_without_words_render_interpolated() -> None:
    t = Transcript(
        duration=5.0,
        text="Hello there.",
        segments=[Segment(start=1.0, end=3.0, text=" Hello there.")],
    )
    assert render(t, "srt") == "1\n00:00:01,000 --> 00:00:03,000\nHello there.\n\n"


def test_cjk_subtitles_join_without_spaces() -> None:
    t = _transcript(
        [Word(word="我们", start=0.0, end=0.4), Word(word="开会。", start=0.4, end=1.0)],
        language="zh",
    )
    assert render(t, "vtt") == "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\n我们开会。\n\n"


def test_hours_beyond_99() -> None:
    t = _transcript([Word(word="late.", start=360_000.25, end=360_001.0)])
    body = render(t, "srt")
    assert "100:00:00,250 --> 100:00:01,000" in body
    (sub,) = srt.parse(body)
    assert sub.start == timedelta(hours=100, milliseconds=250)


# --- property: what we print is what parsers read ------------------------------------------


def _ms(ts: timedelta) -> int:
    return ts // timedelta(milliseconds=1)


def _vtt_ms(stamp: str) -> int:
    hours, minutes, rest = stamp.split(":")
    seconds, millis = rest.split(".")
    return ((int(hours) * 60 + int(minutes)) * 60 + int(seconds)) * 1000 + int(millis)


_ALPHABET = "abcdefghijklmnopqrstuvwxyzäßé0123456789&<>'\""


@st.composite
def transcripts(draw: st.DrawFn) -> Transcript:
    n = draw(st.integers(min_value=0, max_value=40))
    t = draw(st.floats(min_value=0.0, max_value=400_000.0))
    words = []
    for _ in range(n):
        size = draw(st.one_of(st.integers(1, 8), st.integers(30, 70)))
        text = draw(st.text(alphabet=_ALPHABET, min_size=size, max_size=size))
        text += draw(st.sampled_from(["", "", ",", ".", "?", "!"]))
        dur = draw(st.floats(min_value=0.0, max_value=2.0))
        words.append(Word(word=text, start=t, end=t + dur))
        t += dur + draw(st.floats(min_value=-0.2, max_value=2.0))
        t = max(t, 0.0)
    return _transcript(words, per_segment=draw(st.integers(min_value=1, max_value=6)))


limit_sets = st.builds(
    SubtitleLimits,
    max_line_chars=st.integers(min_value=8, max_value=50),
    max_lines=st.integers(min_value=1, max_value=3),
    max_cue_seconds=st.floats(min_value=1.0, max_value=8.0),
)


def _expected(cues: list[Cue]) -> list[tuple[int, int, str]]:
    return [(c.start_ms, c.end_ms, c.text) for c in cues]


@settings(max_examples=150, deadline=None)
@given(transcripts(), limit_sets)
def test_srt_parses_back_to_the_cues(transcript: Transcript, limits: SubtitleLimits) -> None:
    cues = build_cues(transcript, limits)
    parsed = list(srt.parse(render(transcript, "srt", limits=limits)))
    assert [s.index for s in parsed] == list(range(1, len(cues) + 1))
    assert [(_ms(s.start), _ms(s.end), s.content) for s in parsed] == _expected(cues)


@settings(max_examples=150, deadline=None)
@given(transcripts(), limit_sets)
def test_vtt_parses_back_to_the_cues(transcript: Transcript, limits: SubtitleLimits) -> None:
    cues = build_cues(transcript, limits)
    body = render(transcript, "vtt", limits=limits)
    assert body.startswith("WEBVTT\n\n")
    captions = webvtt.from_buffer(io.StringIO(body)).captions
    parsed = [(_vtt_ms(c.start), _vtt_ms(c.end), html.unescape(c.text)) for c in captions]
    assert parsed == _expected(cues)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_renders_text(fmt: OutputFormat) -> None:
    body = render(HELLO, fmt)
    assert "Hello" in body and "world." in body


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({}, True),  # a job: any format may be downloaded later, subtitles included
        ({"response_format": ["json"]}, False),
        ({"response_format": ["text"]}, False),
        ({"response_format": ["verbose_json"]}, False),
        ({"response_format": ["verbose_json"], "timestamp_granularities[]": ["word"]}, True),
        ({"response_format": ["srt"]}, True),
        ({"response_format": ["vtt"]}, True),
    ],
)
def test_words_are_aligned_only_when_the_answer_uses_them(
    fields: dict[str, list[str]], words: bool
) -> None:
    from audiosvc.api.intake import JOB_FIELDS, parse_options
    from audiosvc.settings import Settings

    allowed = JOB_FIELDS | {"response_format"}
    assert parse_options(fields, Settings(), allowed=allowed).words is words
