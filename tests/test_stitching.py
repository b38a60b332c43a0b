"""Stitching: property tests over arbitrary word streams, and the cookbook's failures."""

from __future__ import annotations

import os
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from audiosvc.chunking import SAMPLE_RATE, ChunkPlan
from audiosvc.stitching import ChunkTranscript, stitch
from audiosvc.transcript import Segment, Transcript, Word

VOCAB = ["the", "a", "budget", "meeting", "yes", "no", "so", "we", "ship", "Monday,", "okay."]


def _words_in(stream: list[Word], start: float, end: float) -> list[Word]:
    return [w for w in stream if w.start >= start and w.end <= end]


def _chunk(
    index: int,
    start: float,
    end: float,
    overlap: float,
    stream: list[Word],
    rnd: random.Random,
    jitter: float,
    with_words: bool = True,
) -> ChunkTranscript:
    """What a perfect engine with slightly noisy timestamps would return for the chunk."""
    local: list[Word] = []
    for w in _words_in(stream, start, end):
        j = rnd.uniform(-jitter, jitter)
        local.append(
            Word(word=w.word, start=max(0.0, w.start - start + j), end=max(0.0, w.end - start + j))
        )
    segments: list[Segment] = []
    k = 0
    while k < len(local):
        n = rnd.randint(1, 6)
        ws = local[k : k + n]
        segments.append(
            Segment(
                start=ws[0].start,
                end=ws[-1].end,
                text=" " + " ".join(w.word for w in ws),
                words=ws if with_words else None,
            )
        )
        k += n
    plan = ChunkPlan(
        index, round(start * SAMPLE_RATE), round(end * SAMPLE_RATE), round(overlap * SAMPLE_RATE)
    )
    text = " ".join(s.text.strip() for s in segments)
    return ChunkTranscript(plan, Transcript(duration=end - start, text=text, segments=segments))


@st.composite
def word_streams(draw: st.DrawFn, distinct: bool = False) -> tuple[list[Word], float]:
    n = draw(st.integers(min_value=0, max_value=80))
    vocab = draw(st.sampled_from([VOCAB, ["a"], ["a", "b"]]))
    t = draw(st.floats(min_value=0, max_value=2))
    words = []
    for i in range(n):
        dur = draw(st.floats(min_value=0.15, max_value=0.9))
        word = f"w{i}" if distinct else draw(st.sampled_from(vocab))
        words.append(Word(word=word, start=t, end=t + dur))
        t += dur + draw(st.one_of(st.just(0.0), st.floats(min_value=0.0, max_value=1.5)))
    return words, t + draw(st.floats(min_value=0.1, max_value=5))


@st.composite
def chunked(
    draw: st.DrawFn, distinct: bool = False
) -> tuple[list[Word], float, list[ChunkTranscript]]:
    stream, duration = draw(word_streams(distinct))
    seed = draw(st.integers(min_value=0, max_value=2**32 - 1))
    rnd = random.Random(seed)
    jitter = draw(st.sampled_from([0.0, 0.01, 0.03]))
    chunks: list[ChunkTranscript] = []
    start, overlap = 0.0, 0.0
    while True:
        length = draw(st.floats(min_value=4.0, max_value=20.0))
        end = min(start + length, duration)
        # The chunker cuts without overlap only in silence; otherwise the overlap is at least
        # as long as the longest word.
        next_overlap = draw(st.sampled_from([0.0, 1.0, 2.0, 3.0]))
        if next_overlap == 0.0:
            inside = [w for w in stream if w.start < end < w.end]
            if inside:
                end = inside[0].start if inside[0].start > start + 1 else inside[0].end
        chunks.append(_chunk(len(chunks), start, end, overlap, stream, rnd, jitter))
        if end >= duration:
            break
        overlap = next_overlap
        start = end - overlap
    return stream, duration, chunks


@settings(max_examples=int(os.environ.get("STITCH_EXAMPLES", "200")), deadline=None)
@given(chunked())
def test_any_word_stream_cut_into_chunks_stitches_back_exactly(case) -> None:  # type: ignore[no-untyped-def]
    stream, duration, chunks = case
    shuffled = list(chunks)
    random.Random(0).shuffle(shuffled)  # order of arrival must not matter
    result = stitch(shuffled, duration=duration)

    assert [w.word for w in result.words] == [w.word for w in stream]
    starts = [w.start for w in result.words]
    assert starts == sorted(starts)
    for got, want in zip(result.words, stream, strict=True):
        assert abs(got.start - want.start) < 0.1
        assert 0.0 <= got.start <= got.end <= duration
    assert [s.id for s in result.segments] == list(range(len(result.segments)))
    for prev, cur in zip(result.segments, result.segments[1:], strict=False):
        assert prev.end <= cur.start
    assert result.text.split() == [w.word for w in stream]


def _without_words(chunks: list[ChunkTranscript]) -> list[ChunkTranscript]:
    """Translations come without word timestamps: stitching works on the segment text."""
    return [
        ChunkTranscript(
            c.plan,
            c.transcript.model_copy(
                update={
                    "segments": [
                        s.model_copy(update={"words": None}) for s in c.transcript.segments
                    ]
                }
            ),
        )
        for c in chunks
    ]


@settings(max_examples=100, deadline=None)
@given(chunked(distinct=True))
def test_segments_without_words_lose_and_double_nothing(case) -> None:  # type: ignore[no-untyped-def]
    """Where every word is distinct, the overlaps align exactly on text alone."""
    stream, duration, chunks = case
    result = stitch(_without_words(chunks), duration=duration)
    assert result.text.split() == [w.word for w in stream]
    assert not result.has_words


@settings(max_examples=100, deadline=None)
@given(chunked())
def test_segments_without_words_stay_within_a_word_or_two_per_overlap(case) -> None:  # type: ignore[no-untyped-def]
    """With repeated words ("a a a"), text alone cannot tell which copy a chunk heard: the
    alignment may be off by a word or two at each overlap, never more."""
    stream, duration, chunks = case
    result = stitch(_without_words(chunks), duration=duration)
    overlaps = sum(1 for c in chunks if c.plan.overlap > 0)
    got, want = result.text.split(), [w.word for w in stream]
    assert _edit_distance(got, want) <= 2 * overlaps
    assert not result.has_words


def _edit_distance(a: list[str], b: list[str]) -> int:
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (x != y))
    return row[-1]


def _seg(start: float, end: float, text: str) -> Segment:
    words = text.split()
    step = (end - start) / len(words)
    return Segment(
        start=start,
        end=end,
        text=" " + text,
        words=[
            Word(word=w, start=start + i * step, end=start + (i + 1) * step)
            for i, w in enumerate(words)
        ],
    )


def test_later_chunk_times_are_offset_by_the_chunk_start() -> None:
    """Cookbook failure 1: segment times stayed chunk-local."""
    a = ChunkTranscript(
        ChunkPlan(0, 0, 600 * SAMPLE_RATE),
        Transcript(duration=600, text="first part", segments=[_seg(1.0, 3.0, "first part")]),
    )
    b = ChunkTranscript(
        ChunkPlan(1, 600 * SAMPLE_RATE, 700 * SAMPLE_RATE),
        Transcript(duration=100, text="second part", segments=[_seg(2.0, 4.0, "second part")]),
    )
    result = stitch([a, b], duration=700)
    assert [(s.start, s.end) for s in result.segments] == [(1.0, 3.0), (602.0, 604.0)]
    assert result.words[-1].end == 604.0


def test_first_segment_of_a_later_chunk_is_not_doubled() -> None:
    """Cookbook failure 2: the first segment of every later chunk appeared twice."""
    ov = 10 * SAMPLE_RATE
    a = ChunkTranscript(
        ChunkPlan(0, 0, 60 * SAMPLE_RATE),
        Transcript(
            duration=60,
            text="",
            segments=[
                _seg(40.0, 49.0, "we agreed on the plan"),
                _seg(52.0, 58.0, "next the budget review"),
            ],
        ),
    )
    b = ChunkTranscript(
        ChunkPlan(1, 50 * SAMPLE_RATE, 100 * SAMPLE_RATE, ov),
        Transcript(
            duration=50,
            text="",
            segments=[_seg(2.0, 8.0, "next the budget review"), _seg(10.0, 15.0, "then lunch")],
        ),
    )
    result = stitch([a, b], duration=100)
    assert result.text == "we agreed on the plan next the budget review then lunch"
    assert [s.id for s in result.segments] == list(range(len(result.segments)))
    assert [w.word for w in result.words].count("next") == 1


def test_overlap_where_the_cookbook_loses_and_doubles_words() -> None:
    """Cookbook failure 3: keeping half of each side of the best text alignment drops or
    repeats words when the overlap holds repeated words."""
    ov = 6 * SAMPLE_RATE
    left = "so the plan is that the team ships the the release"
    right = "the team ships the the release on time"
    a = ChunkTranscript(
        ChunkPlan(0, 0, 20 * SAMPLE_RATE),
        Transcript(duration=20, text=left, segments=[_seg(8.5, 19.5, left)]),
    )
    # The right chunk starts at 14 s; its words sit at the same file times as the left's.
    right_words = [w for w in a.transcript.segments[0].words or [] if w.start >= 14.0]
    b_seg = Segment(
        start=right_words[0].start - 14,
        end=30 - 14,
        text=" " + right,
        words=[
            *(w.shifted(-14) for w in right_words),
            Word(word="on", start=5.6, end=6.5),
            Word(word="time", start=6.5, end=7.0),
        ],
    )
    b = ChunkTranscript(
        ChunkPlan(1, 14 * SAMPLE_RATE, 30 * SAMPLE_RATE, ov),
        Transcript(duration=16, text=right, segments=[b_seg]),
    )
    result = stitch([a, b], duration=30)
    assert result.text == "so the plan is that the team ships the the release on time"


def test_silent_chunk_and_empty_input() -> None:
    empty = stitch([], duration=5.0)
    assert empty.text == "" and empty.segments == []
    silent = ChunkTranscript(
        ChunkPlan(0, 0, 5 * SAMPLE_RATE), Transcript(duration=5, text="", segments=[])
    )
    assert stitch([silent], duration=5.0).text == ""


def test_times_are_clamped_into_the_file() -> None:
    a = ChunkTranscript(
        ChunkPlan(0, 0, 10 * SAMPLE_RATE),
        Transcript(duration=10, text="x", segments=[_seg(9.0, 10.4, "late words")]),
    )
    result = stitch([a], duration=10.0)
    assert all(0 <= w.start <= w.end <= 10.0 for w in result.words)
    assert result.segments[0].end == 10.0
