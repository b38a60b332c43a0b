"""Response formats of a diarized transcript: text turns, labelled SubRip cues, WebVTT voice
spans, ``speaker`` in verbose_json, and OpenAI's diarized_json, read back by real parsers."""

from __future__ import annotations

import html
import io
import json
from typing import Any

import srt
import webvtt
from hypothesis import given, settings
from hypothesis import strategies as st
from openai.types.audio import TranscriptionDiarized

from audiosvc.formats import render
from audiosvc.speakers.attribution import LabelledTurn, attribute
from audiosvc.subtitles import SubtitleLimits, build_cues
from audiosvc.transcript import Segment, Transcript, Word
from tests.factories import transcript_from_words

# --- helpers -------------------------------------------------------------------------------


def _diarized(turns: list[tuple[str, str]], *, gap: float = 0.5, word: float = 0.3) -> Transcript:
    """A segment per ``(speaker, text)``, its words timed one after another, every word and
    segment carrying the speaker."""
    t = 0.0
    segments: list[Segment] = []
    for speaker, text in turns:
        words = []
        for w in text.split():
            words.append(Word(word=w, start=round(t, 3), end=round(t + word, 3), speaker=speaker))
            t += word + 0.05
        segments.append(
            Segment(
                id=len(segments),
                start=words[0].start,
                end=words[-1].end,
                text=" " + text,
                words=words,
                speaker=speaker,
            )
        )
        t += gap
    return Transcript(
        duration=round(t + 1.0, 3),
        text=" ".join(text for _, text in turns),
        segments=segments,
    )


CONVERSATION = _diarized(
    [
        ("A", "Hello there."),
        ("A", "How are you?"),
        ("B", "Fine, thanks."),
        ("A", "Good."),
    ]
)


def _srt(body: str) -> list[srt.Subtitle]:
    return list(srt.parse(body))


def _vtt(body: str) -> list[webvtt.Caption]:
    assert body.startswith("WEBVTT\n\n")
    return list(webvtt.from_buffer(io.StringIO(body)).captions)


def _label(content: str, speakers: set[str]) -> tuple[str, str]:
    """(speaker, rest) of a SubRip cue's text, which must start with ``<speaker>: ``."""
    matches = [s for s in speakers if content.startswith(f"{s}: ")]
    assert matches, content
    speaker = max(matches, key=len)
    return speaker, content[len(speaker) + 2 :]


def _speaker_keys(body: Any) -> int:
    """How many ``speaker`` keys a JSON body holds, at any depth."""
    if isinstance(body, dict):
        return ("speaker" in body) + sum(_speaker_keys(v) for v in body.values())
    if isinstance(body, list):
        return sum(_speaker_keys(v) for v in body)
    return 0


# --- text ----------------------------------------------------------------------------------


def test_text_is_a_paragraph_per_turn() -> None:
    assert render(CONVERSATION, "text") == (
        "A: Hello there. How are you?\n\nB: Fine, thanks.\n\nA: Good.\n"
    )


def test_text_with_names_and_segments_without_words() -> None:
    t = Transcript(
        duration=9.0,
        text="Hi. Hello. Bye.",
        segments=[
            Segment(id=0, start=0.0, end=1.0, text=" Hi.", speaker="Ana María"),
            Segment(id=1, start=1.0, end=2.0, text="   ", speaker="Bo"),  # empty: no turn
            Segment(id=2, start=2.0, end=3.0, text=" Hello.", speaker="Ana María"),
            Segment(id=3, start=3.0, end=4.0, text=" Bye.", speaker="Bo"),
        ],
    )
    assert render(t, "text") == "Ana María: Hi. Hello.\n\nBo: Bye.\n"


def test_text_without_speakers_is_unchanged() -> None:
    plain = _diarized([("A", "Hello there."), ("B", "Fine.")])
    plain = plain.model_copy(
        update={
            "segments": [
                s.model_copy(
                    update={
                        "speaker": None,
                        "words": [w.model_copy(update={"speaker": None}) for w in s.words or []],
                    }
                )
                for s in plain.segments
            ]
        }
    )
    assert render(plain, "text") == "Hello there. Fine.\n"


# --- SubRip --------------------------------------------------------------------------------


def test_srt_exact_with_labels() -> None:
    t = Transcript(
        duration=4.0,
        text="Hello world. Hi.",
        segments=[
            Segment(
                start=0.0,
                end=1.5,
                text=" Hello world.",
                speaker="A",
                words=[
                    Word(word="Hello", start=0.0, end=0.5, speaker="A"),
                    Word(word="world.", start=0.6, end=1.5, speaker="A"),
                ],
            ),
            Segment(
                id=1,
                start=2.0,
                end=2.5,
                text=" Hi.",
                speaker="B",
                words=[Word(word="Hi.", start=2.0, end=2.5, speaker="B")],
            ),
        ],
    )
    assert render(t, "srt") == (
        "1\n00:00:00,000 --> 00:00:01,500\nA: Hello world.\n\n"
        "2\n00:00:02,000 --> 00:00:02,500\nB: Hi.\n\n"
    )


def test_srt_cue_never_spans_a_change_of_speaker_inside_a_segment() -> None:
    # One segment whose words change speaker (not split): still two cues.
    words = [
        Word(word="So", start=0.0, end=0.2, speaker="A"),
        Word(word="what", start=0.25, end=0.4, speaker="A"),
        Word(word="now", start=0.45, end=0.6, speaker="B"),
        Word(word="then", start=0.65, end=0.8, speaker="B"),
    ]
    t = Transcript(
        duration=2.0,
        text="So what now then",
        segments=[Segment(start=0.0, end=0.8, text=" So what now then", words=words, speaker="A")],
    )
    subs = _srt(render(t, "srt"))
    assert [s.content for s in subs] == ["A: So what", "B: now then"]


def test_srt_labels_count_against_the_line_limit() -> None:
    long_a = "Supercalifragilistic"[:17]  # 17 characters: "A: " + it is exactly 20
    words = [long_a, "extraordinarily", "a", "unquestionably", "incomprehensible", "ok."]
    turns = [("A", " ".join(words)), ("B", " ".join(reversed(words))), ("A", "fine")]
    transcript = _diarized(turns)
    limits = SubtitleLimits(max_line_chars=20, max_lines=2)
    subs = _srt(render(transcript, "srt", limits=limits))
    said: list[tuple[str, str]] = []
    for sub in subs:
        speaker, rest = _label(sub.content, {"A", "B"})
        for line in sub.content.split("\n"):
            assert len(line) <= 20, (line, sub)
        said += [(speaker, w) for w in rest.split()]
    expected = [(w.speaker, w.word) for w in transcript.words]
    assert said == expected
    # The label really is counted: without it, some first line would have used the room.
    assert any(len(s.content.split("\n")[0]) == 20 for s in subs)


def test_srt_label_of_a_segment_without_words() -> None:
    t = Transcript(
        duration=5.0,
        text="Hello there.",
        segments=[Segment(start=1.0, end=3.0, text=" Hello there.", speaker="Ana María")],
    )
    assert render(t, "srt") == "1\n00:00:01,000 --> 00:00:03,000\nAna María: Hello there.\n\n"


_SPEAKERS = {"A": "a", "B": "b", "Ana María": "m"}  # speaker -> first letter of its words


@st.composite
def _conversations(draw: st.DrawFn) -> Transcript:
    """Random turns of random speakers, each word spelled with its speaker's letter first
    and short enough to fit a line behind its speaker's label."""
    t = 0.0
    turns: list[tuple[str, list[Word]]] = []
    for _ in range(draw(st.integers(1, 8))):
        speaker = draw(st.sampled_from(sorted(_SPEAKERS)))
        room = 20 - len(speaker) - 2
        words = []
        for _ in range(draw(st.integers(1, 12))):
            size = draw(st.integers(1, room))
            text = _SPEAKERS[speaker] + "x" * (size - 1)
            text = text[:-1] + draw(st.sampled_from(["x", ".", ","])) if size > 1 else text
            dur = draw(st.floats(0.05, 1.5))
            words.append(Word(word=text, start=round(t, 3), end=round(t + dur, 3), speaker=speaker))
            t += dur + draw(st.floats(0.0, 1.0))
        turns.append((speaker, words))
    per_segment = draw(st.integers(1, 6))
    segments: list[Segment] = []
    for speaker, words in turns:
        for seg in transcript_from_words(words, per_segment=per_segment).segments:
            segments.append(seg.model_copy(update={"id": len(segments), "speaker": speaker}))
    return Transcript(
        duration=t + 1.0, text=" ".join(s.text.strip() for s in segments), segments=segments
    )


def _owner(word: str) -> str:
    return next(s for s, letter in _SPEAKERS.items() if word.startswith(letter))


@settings(max_examples=150, deadline=None)
@given(_conversations(), st.integers(1, 3))
def test_srt_every_cue_one_labelled_speaker_within_the_limits(
    transcript: Transcript, max_lines: int
) -> None:
    limits = SubtitleLimits(max_line_chars=20, max_lines=max_lines)
    subs = _srt(render(transcript, "srt", limits=limits))
    assert [s.index for s in subs] == list(range(1, len(subs) + 1))
    said: list[str] = []
    for sub in subs:
        speaker, rest = _label(sub.content, set(_SPEAKERS))
        lines = sub.content.split("\n")
        assert 1 <= len(lines) <= max_lines, sub
        assert all(len(line) <= 20 for line in lines), sub
        words = rest.split()
        assert words and {_owner(w) for w in words} == {speaker}, sub
        said += words
    assert said == [w.word for w in transcript.words]


# --- WebVTT --------------------------------------------------------------------------------


def test_vtt_cues_are_voice_spans() -> None:
    body = render(CONVERSATION, "vtt")
    captions = _vtt(body)
    cues = build_cues(CONVERSATION)
    assert [c.voice for c in captions] == [c.speaker for c in cues]
    voices = [c.voice for c in captions]
    assert voices[0] == "A" and "B" in voices
    for caption, cue in zip(captions, cues, strict=True):
        assert caption.raw_text.startswith(f"<v {cue.speaker}>")
        assert html.unescape(caption.text) == cue.text  # the voice tag is markup, not text
    assert "<v A>Hello there. How are you?\n" in body


def test_vtt_voice_with_a_name_with_spaces() -> None:
    t = _diarized([("Ana María", "¿Qué tal?"), ("Bo", "Bien & tú?")])
    captions = _vtt(render(t, "vtt"))
    assert [(c.voice, html.unescape(c.text)) for c in captions] == [
        ("Ana María", "¿Qué tal?"),
        ("Bo", "Bien & tú?"),
    ]
    assert captions[0].raw_text == "<v Ana María>¿Qué tal?"


@settings(max_examples=100, deadline=None)
@given(_conversations())
def test_vtt_every_cue_has_one_voice(transcript: Transcript) -> None:
    captions = _vtt(render(transcript, "vtt", limits=SubtitleLimits(max_line_chars=20)))
    said: list[str] = []
    for caption in captions:
        assert caption.voice in _SPEAKERS, caption
        words = caption.text.split()
        assert {_owner(w) for w in words} == {caption.voice}, caption
        said += words
    assert said == [w.word for w in transcript.words]


# --- verbose_json --------------------------------------------------------------------------


def test_verbose_json_has_speakers_on_segments_and_words() -> None:
    body = json.loads(render(CONVERSATION, "verbose_json", granularities=("segment", "word")))
    assert [s["speaker"] for s in body["segments"]] == ["A", "A", "B", "A"]
    assert all("words" not in s for s in body["segments"])
    assert [w["speaker"] for w in body["words"]] == [w.speaker for w in CONVERSATION.words]
    assert body["words"][0] == {"word": "Hello", "start": 0.0, "end": 0.3, "speaker": "A"}
    assert [s["text"] for s in body["segments"]] == [s.text for s in CONVERSATION.segments]


def test_verbose_json_without_diarization_has_no_speaker_key() -> None:
    words = [Word(word="Hello", start=0.0, end=0.5), Word(word="world.", start=0.6, end=1.5)]
    plain = transcript_from_words(words)
    for granularities in (("segment",), ("word",), ("segment", "word")):
        body = json.loads(render(plain, "verbose_json", granularities=granularities))
        assert _speaker_keys(body) == 0, body
    body = json.loads(render(plain, "verbose_json", granularities=("segment", "word")))
    assert set(body["segments"][0]) == {
        "id",
        "seek",
        "start",
        "end",
        "text",
        "tokens",
        "temperature",
        "avg_logprob",
        "compression_ratio",
        "no_speech_prob",
    }
    assert body["words"][0] == {"word": "Hello", "start": 0.0, "end": 0.5}


# --- diarized_json -------------------------------------------------------------------------


def test_diarized_json_is_openais_body() -> None:
    body = render(CONVERSATION, "diarized_json")
    raw = json.loads(body)
    parsed = TranscriptionDiarized.model_validate(raw)
    assert parsed.task == "transcribe"
    assert parsed.text == CONVERSATION.text
    assert parsed.duration == CONVERSATION.duration
    assert [s.type for s in parsed.segments] == ["transcript.text.segment"] * 4
    assert [(s.speaker, s.text) for s in parsed.segments] == [
        ("A", "Hello there."),
        ("A", "How are you?"),
        ("B", "Fine, thanks."),
        ("A", "Good."),
    ]
    assert [(s.start, s.end) for s in parsed.segments] == [
        (s.start, s.end) for s in CONVERSATION.segments
    ]
    assert len({s.id for s in parsed.segments}) == 4
    assert parsed.usage is not None and parsed.usage.type == "duration"
    assert raw["usage"]["seconds"] == CONVERSATION.duration


def test_diarized_json_skips_empty_segments() -> None:
    t = Transcript(
        duration=3.0,
        text="Hi.",
        segments=[
            Segment(id=0, start=0.0, end=1.0, text=" ", speaker="A"),
            Segment(id=1, start=1.0, end=2.0, text=" Hi.", speaker="B"),
        ],
    )
    parsed = TranscriptionDiarized.model_validate(json.loads(render(t, "diarized_json")))
    assert [(s.speaker, s.text) for s in parsed.segments] == [("B", "Hi.")]


def test_attributed_transcript_in_every_format() -> None:
    """From a plain transcript and turns to every format, through attribution."""
    words = [
        Word(word=w, start=i * 0.5, end=i * 0.5 + 0.4)
        for i, w in enumerate(["Are", "you", "ready?", "Yes", "I", "am.", "Then", "go."])
    ]
    plain = transcript_from_words(words, per_segment=8)
    turns = [
        LabelledTurn(0.0, 1.45, "A"),
        LabelledTurn(1.45, 2.95, "B"),
        LabelledTurn(3.0, 4.0, "A"),
    ]
    t = attribute(plain, turns)
    assert [s.speaker for s in t.segments] == ["A", "B", "A"]
    assert render(t, "text") == "A: Are you ready?\n\nB: Yes I am.\n\nA: Then go.\n"
    assert [s.content for s in _srt(render(t, "srt"))] == [
        "A: Are you ready?",
        "B: Yes I am.",
        "A: Then go.",
    ]
    assert [c.voice for c in _vtt(render(t, "vtt"))] == ["A", "B", "A"]
    parsed = TranscriptionDiarized.model_validate(json.loads(render(t, "diarized_json")))
    assert [(s.speaker, s.text) for s in parsed.segments] == [
        ("A", "Are you ready?"),
        ("B", "Yes I am."),
        ("A", "Then go."),
    ]
    verbose = json.loads(render(t, "verbose_json", granularities=("segment", "word")))
    assert _speaker_keys(verbose) == 3 + len(words)
