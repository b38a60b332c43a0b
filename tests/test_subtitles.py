"""Subtitle cues: the hard rules (limits, timing, every word once) over arbitrary word streams,
and the preferences (where cues and lines break) on hand-made transcripts."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audiosvc.settings import Settings
from audiosvc.subtitles import (
    Cue,
    SubtitleLimits,
    build_cues,
    format_timestamp,
    seconds_to_ms,
)
from audiosvc.transcript import Segment, Transcript, Word
from tests.factories import transcript_from_words

# --- helpers -------------------------------------------------------------------------------


def _transcript(words: list[Word], **kw: object) -> Transcript:
    kw.setdefault("per_segment", 8)
    return transcript_from_words(words, **kw)  # type: ignore[arg-type]


def _timed(
    text: str,
    *,
    start: float = 0.0,
    word_seconds: float = 0.3,
    gap: float = 0.05,
    pauses: dict[int, float] | None = None,
) -> list[Word]:
    """Words of ``text`` one after another; ``pauses`` maps a word index to the silence
    before it."""
    words = []
    t = start
    for i, w in enumerate(text.split()):
        t += (pauses or {}).get(i, 0.0)
        words.append(Word(word=w, start=t, end=t + word_seconds))
        t += word_seconds + gap
    return words


def _cue_words(cues: list[Cue]) -> list[str]:
    return " ".join(" ".join(c.lines) for c in cues).split()


def _assert_rules(cues: list[Cue], limits: SubtitleLimits, *, words: list[str]) -> None:
    """The rules every cue list obeys, whatever the input."""
    max_ms = seconds_to_ms(limits.max_cue_seconds)
    for cue in cues:
        assert (cue.start, cue.end) == (cue.start_ms / 1000, cue.end_ms / 1000)  # whole ms
        assert 0 <= cue.start_ms < cue.end_ms, cue
        assert 1 <= len(cue.lines) <= limits.max_lines, cue
        for line in cue.lines:
            assert line and line == line.strip(), cue
            assert len(line) <= limits.max_line_chars or len(line.split()) == 1, cue
        if len(" ".join(cue.lines).split()) > 1:
            assert cue.end_ms - cue.start_ms <= max_ms, cue
    for before, after in itertools.pairwise(cues):
        assert before.end_ms <= after.start_ms, (before, after)
    assert _cue_words(cues) == words


# --- timestamps ----------------------------------------------------------------------------


def test_format_timestamp() -> None:
    assert format_timestamp(1001, ",") == "00:00:01,001"
    assert format_timestamp(1001, ".") == "00:00:01.001"
    assert format_timestamp(0, ",") == "00:00:00,000"
    assert format_timestamp(3_723_004, ",") == "01:02:03,004"
    assert format_timestamp(100 * 3_600_000 + 59_999, ".") == "100:00:59.999"
    with pytest.raises(ValueError):
        format_timestamp(-1, ",")


def test_1_001_seconds_is_1001_ms_not_truncated() -> None:
    # 1.001 * 1000 == 1000.9999999999999: truncating would print 00:00:01,000.
    assert seconds_to_ms(1.001) == 1001
    cues = build_cues(_transcript([Word(word="Hi.", start=1.001, end=2.002)]))
    assert (cues[0].start_ms, cues[0].end_ms) == (1001, 2002)
    assert format_timestamp(cues[0].start_ms, ",") == "00:00:01,001"


def test_rounding_edge_zero_length_after_rounding() -> None:
    """0.0005 s rounds (as round(t * 1000)) to 0 ms: the first word becomes empty at 0 ms and
    the rules, applied after rounding, still give it a positive length without overlap."""
    assert seconds_to_ms(0.0005) == 0
    assert seconds_to_ms(0.0015) == 2
    words = [Word(word="one.", start=0.0, end=0.0005), Word(word="two.", start=0.0005, end=0.0015)]
    limits = SubtitleLimits(max_cue_seconds=0.001, min_cue_seconds=0.0)
    cues = build_cues(_transcript(words, duration=0.0015), limits)
    assert [(c.start_ms, c.end_ms, c.lines) for c in cues] == [(0, 1, ("one.",)), (1, 2, ("two.",))]
    _assert_rules(cues, limits, words=["one.", "two."])


def test_zero_length_word_gets_min_duration_in_free_time() -> None:
    cues = build_cues(_transcript([Word(word="Hm.", start=3.0, end=3.0)], duration=10.0))
    assert (cues[0].start_ms, cues[0].end_ms) == (3000, 3500)


# --- limits and preferences ----------------------------------------------------------------


def test_long_monologue_without_punctuation_respects_limits() -> None:
    vocab = [
        "so",
        "we",
        "think",
        "the",
        "budget",
        "meeting",
        "should",
        "probably",
        "move",
        "to",
        "another",
        "extraordinarily",
        "inconvenient",
        "day",
    ]
    text = " ".join(vocab[(i * 5) % len(vocab)] for i in range(600))
    words = _timed(text, word_seconds=0.25, gap=0.02)
    limits = SubtitleLimits()
    cues = build_cues(_transcript(words), limits)
    _assert_rules(cues, limits, words=text.split())
    # fuller cues, not a stream of fragments: on average at least 60 % of two lines
    chars = [len(" ".join(c.lines)) for c in cues]
    assert sum(chars) / len(chars) >= 0.6 * 2 * limits.max_line_chars
    assert all(len(c.lines) == 2 for c in cues[:-1])


def test_two_lines_are_balanced_not_greedy() -> None:
    text = "we will talk about the budget for the next quarter in this meeting today"
    cues = build_cues(_transcript(_timed(text)))
    assert len(cues) == 1
    first, second = cues[0].lines
    assert abs(len(first) - len(second)) <= 8, cues[0].lines  # greedy would give 40 / 31


def test_short_text_stays_on_one_line() -> None:
    cues = build_cues(_transcript(_timed("Hello there, everyone.")))
    assert [c.lines for c in cues] == [("Hello there, everyone.",)]


def test_cue_breaks_after_sentence_end() -> None:
    text = (
        "This is the first sentence of the talk. And here comes a second sentence which "
        "is a lot longer than one line"
    )
    cues = build_cues(_transcript(_timed(text, word_seconds=0.2)))
    assert " ".join(cues[0].lines).endswith("talk.")
    assert " ".join(cues[1].lines).startswith("And here")


def test_cue_breaks_at_pause_before_comma() -> None:
    text = (
        "we looked at the numbers for the year, and then at the numbers for "
        "the quarter and now we want to decide"
    )
    words = text.split()
    pause_at = words.index("quarter") + 1
    cues = build_cues(_transcript(_timed(text, word_seconds=0.2, pauses={pause_at: 0.8})))
    assert " ".join(cues[0].lines).endswith("the quarter")


def test_cue_breaks_after_comma_otherwise() -> None:
    text = (
        "we looked at the numbers for the year, and then at the numbers for "
        "the quarter and now we want to decide"
    )
    cues = build_cues(_transcript(_timed(text, word_seconds=0.2)))
    assert " ".join(cues[0].lines).endswith("year,")


def test_line_breaks_after_sentence_inside_cue() -> None:
    cues = build_cues(_transcript(_timed("Yes, I agree. We ship the release on Monday morning.")))
    assert cues[0].lines == ("Yes, I agree.", "We ship the release on Monday morning.")


def test_max_cue_seconds_splits_slow_speech() -> None:
    words = _timed("one two three four five six", word_seconds=1.0, gap=0.5)
    limits = SubtitleLimits(max_cue_seconds=3.0)
    cues = build_cues(_transcript(words), limits)
    assert len(cues) >= 3
    _assert_rules(cues, limits, words=["one", "two", "three", "four", "five", "six"])


def test_overlong_word_is_alone_on_its_line_and_whole() -> None:
    long = "Donaudampfschifffahrtselektrizitaetenhauptbetriebswerkbauunterbeamtengesellschaft"
    text = f"the word {long} is long"
    limits = SubtitleLimits(max_line_chars=20)
    cues = build_cues(_transcript(_timed(text)), limits)
    _assert_rules(cues, limits, words=text.split())
    assert any(line == long for c in cues for line in c.lines)


def test_single_word_longer_than_max_duration_is_kept() -> None:
    words = [
        Word(word="aaa", start=0.0, end=1.0),
        Word(word="hmmmm", start=1.0, end=12.0),
        Word(word="yes.", start=12.0, end=12.4),
    ]
    limits = SubtitleLimits()
    cues = build_cues(_transcript(words), limits)
    _assert_rules(cues, limits, words=["aaa", "hmmmm", "yes."])
    assert any(c.lines == ("hmmmm",) and c.end_ms - c.start_ms == 11_000 for c in cues)


def test_short_cue_is_stretched_only_into_free_time() -> None:
    words = [
        Word(word="Yes.", start=1.0, end=1.1),
        Word(word="No.", start=1.3, end=1.4),
        Word(word="Maybe.", start=5.0, end=5.1),
    ]
    limits = SubtitleLimits(max_cue_seconds=0.2)  # forces one cue per word
    cues = build_cues(_transcript(words, duration=5.15), limits)
    assert [(c.start_ms, c.end_ms) for c in cues] == [(1000, 1200), (1300, 1500), (5000, 5150)]


def test_overlapping_words_give_non_overlapping_cues() -> None:
    words = [
        Word(word="alpha.", start=0.0, end=2.0),
        Word(word="beta.", start=1.0, end=1.5),
        Word(word="gamma.", start=0.5, end=0.5),
        Word(word="delta.", start=0.5, end=0.6),
    ]
    limits = SubtitleLimits(max_cue_seconds=0.3)
    cues = build_cues(_transcript(words), limits)
    _assert_rules(cues, limits, words=["alpha.", "beta.", "gamma.", "delta."])


# --- fallbacks -----------------------------------------------------------------------------


def test_segment_without_words_is_interpolated_by_characters() -> None:
    transcript = Transcript(
        duration=30.0,
        text="aaaa bb cccc",
        segments=[Segment(start=10.0, end=20.0, text=" aaaa bb cccc")],
    )
    limits = SubtitleLimits(max_line_chars=4, max_lines=1, min_cue_seconds=0.0)
    cues = build_cues(transcript, limits)
    assert [(c.lines, c.start_ms, c.end_ms) for c in cues] == [
        (("aaaa",), 10_000, 14_000),
        (("bb",), 14_000, 16_000),
        (("cccc",), 16_000, 20_000),
    ]


def test_mixed_segments_with_and_without_words() -> None:
    with_words = Segment(
        start=0.0,
        end=1.0,
        text=" Hello there.",
        words=[Word(word="Hello", start=0.0, end=0.4), Word(word="there.", start=0.5, end=1.0)],
    )
    without = Segment(start=1.5, end=3.5, text=" How are you?")
    transcript = Transcript(
        duration=4.0, text="Hello there. How are you?", segments=[with_words, without]
    )
    limits = SubtitleLimits()
    cues = build_cues(transcript, limits)
    _assert_rules(cues, limits, words=["Hello", "there.", "How", "are", "you?"])
    assert cues[0].start_ms == 0 and cues[-1].end_ms == 3500


def test_transcript_without_segments_shows_its_text() -> None:
    cues = build_cues(Transcript(duration=4.0, text="just text"))
    assert [(c.lines, c.start_ms, c.end_ms) for c in cues] == [(("just text",), 0, 4000)]


def test_empty_transcript_has_no_cues() -> None:
    assert build_cues(Transcript(duration=5.0, text="")) == []


def test_cjk_words_join_without_spaces() -> None:
    words = [
        Word(word="我们", start=0.0, end=0.4),
        Word(word="今天", start=0.4, end=0.8),
        Word(word="开会。", start=0.8, end=1.4),
    ]
    cues = build_cues(_transcript(words, language="zh"))
    assert [c.lines for c in cues] == [("我们今天开会。",)]


def test_cjk_without_words_is_split_between_characters() -> None:
    text = "今日は「いい天気」ですね。明日も晴れるでしょうか\uff1f"  # fullwidth ?
    transcript = Transcript(
        language="ja", duration=10.0, text=text, segments=[Segment(start=0.0, end=10.0, text=text)]
    )
    limits = SubtitleLimits(max_line_chars=8, max_lines=1)
    cues = build_cues(transcript, limits)
    assert len(cues) > 1
    assert all(len(line) <= 8 for c in cues for line in c.lines)
    assert "".join("".join(c.lines) for c in cues) == text
    assert not any(line.startswith(("」", "。", "\uff1f")) for c in cues for line in c.lines)
    assert not any(line.endswith("「") for c in cues for line in c.lines)


def test_language_name_is_accepted_for_spacing() -> None:
    words = [Word(word="東京", start=0.0, end=0.4), Word(word="です。", start=0.4, end=0.8)]
    assert build_cues(_transcript(words, language="Japanese"))[0].lines == ("東京です。",)


# --- limits --------------------------------------------------------------------------------


def test_limits_from_settings() -> None:
    settings_ = Settings(
        subtitle_max_line_chars=30,
        subtitle_max_lines=3,
        subtitle_max_cue_seconds=5.0,
        subtitle_min_cue_seconds=1.0,
        subtitle_pause_seconds=0.4,
    )
    assert SubtitleLimits.from_settings(settings_) == SubtitleLimits(30, 3, 5.0, 1.0, 0.4)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_line_chars": 0},
        {"max_lines": 0},
        {"max_cue_seconds": 0.0},
        {"min_cue_seconds": -1.0},
        {"pause_seconds": -0.1},
    ],
)
def test_bad_limits_are_rejected(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        SubtitleLimits(**kwargs)  # type: ignore[arg-type]


# --- property: arbitrary word streams --------------------------------------------------------

_LETTERS = "abcdefghijklmnopqrstuvwxyzéßø"
_PUNCTUATION = ["", "", "", "", ",", ".", "?", "!", ";", ":", '"', ".)"]


@dataclass(frozen=True)
class Stream:
    words: list[Word]
    duration: float
    messy: bool  # overlaps, zero-length words and out-of-order starts allowed


@st.composite
def word_streams(draw: st.DrawFn) -> Stream:
    messy = draw(st.booleans())
    n = draw(st.integers(min_value=0, max_value=80))
    t = draw(st.floats(min_value=0, max_value=5))
    words = []
    for _ in range(n):
        size = draw(st.one_of(st.integers(1, 9), st.integers(1, 9), st.integers(20, 90)))
        body = draw(st.text(alphabet=_LETTERS, min_size=size, max_size=size))
        word = body.capitalize() + draw(st.sampled_from(_PUNCTUATION))
        low = 0.0 if messy else 0.01
        dur = draw(st.floats(min_value=low, max_value=3.0))
        words.append(Word(word=word, start=t, end=t + dur))
        gap = draw(
            st.one_of(
                st.just(0.0),
                st.floats(min_value=0.0, max_value=2.5),
                st.floats(min_value=-1.0, max_value=0.0) if messy else st.just(0.0),
            )
        )
        t = max(0.0, t + dur + gap)
    duration = t + draw(st.floats(min_value=-1.0, max_value=5.0))
    return Stream(words, max(0.0, duration), messy)


limit_sets = st.builds(
    SubtitleLimits,
    max_line_chars=st.integers(min_value=5, max_value=60),
    max_lines=st.integers(min_value=1, max_value=3),
    max_cue_seconds=st.floats(min_value=0.5, max_value=10.0),
    min_cue_seconds=st.floats(min_value=0.0, max_value=2.0),
    pause_seconds=st.floats(min_value=0.0, max_value=2.0),
)


@settings(max_examples=300, deadline=None)
@given(word_streams(), limit_sets, st.integers(min_value=1, max_value=12))
def test_cues_obey_every_rule(stream: Stream, limits: SubtitleLimits, per_segment: int) -> None:
    transcript = _transcript(stream.words, duration=stream.duration, per_segment=per_segment)
    cues = build_cues(transcript, limits)
    _assert_rules(cues, limits, words=[w.word for w in stream.words])
    if stream.messy:
        return
    # Clean streams: cue times are the word times, only stretched toward the minimum duration
    # (into free time) and never moved.
    min_ms = min(seconds_to_ms(limits.min_cue_seconds), seconds_to_ms(limits.max_cue_seconds))
    audio_end = seconds_to_ms(stream.duration)
    k = 0
    for i, cue in enumerate(cues):
        n = len(" ".join(cue.lines).split())
        first, last = stream.words[k], stream.words[k + n - 1]
        k += n
        assert cue.start_ms == seconds_to_ms(first.start)
        nominal_end = seconds_to_ms(last.end)
        assert cue.end_ms >= nominal_end
        assert cue.end_ms <= max(nominal_end, cue.start_ms + min_ms)
        if cue.end_ms - cue.start_ms < min_ms:  # not stretched all the way: no free time left
            limit = cues[i + 1].start_ms if i + 1 < len(cues) else max(nominal_end, audio_end)
            assert cue.end_ms == limit
