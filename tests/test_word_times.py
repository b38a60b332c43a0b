"""Word times over their own sound (audiosvc.word_times): the alignment's failures seen on
real CPUs and recordings, and properties over arbitrary words and audio."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from audiosvc.transcript import Segment, Word
from audiosvc.word_times import (
    EPSILON,
    FRAME,
    MIN_WORD,
    PAUSE,
    place_words,
    speech_frames,
    with_placed_words,
)

RATE = 16_000


def _mask(*spans: tuple[float, float], seconds: float = 12.0) -> np.ndarray:
    """Frames of sound over ``spans`` (seconds), silence elsewhere."""
    mask = np.zeros(round(seconds / FRAME), dtype=bool)
    for a, b in spans:
        mask[round(a / FRAME) : round(b / FRAME)] = True
    return mask


def _words(*items: tuple[str, float, float]) -> list[Word]:
    return [Word(word=w, start=s, end=e) for w, s, e in items]


def _times(words: list[Word]) -> list[tuple[str, float, float]]:
    return [(w.word, w.start, w.end) for w in words]


def _longest_silence(mask: np.ndarray, start: float, end: float) -> float:
    run = best = 0
    for on in mask[round(start / FRAME) : round(end / FRAME)]:
        run = 0 if on else run + 1
        best = max(best, run)
    return best * FRAME


def test_a_word_without_duration_shares_its_longer_neighbours_time() -> None:
    """``the farmer watches`` on short.wav with oneDNN's int8 kernels: "the" took the time
    of both, "farmer" had none (3.40-3.40)."""
    sound = _mask((0.3, 4.52))
    got = place_words(
        _words(("the", 2.98, 3.40), ("farmer", 3.40, 3.40), ("watches", 3.40, 3.72)),
        sound,
        0.0,
        12.0,
    )
    (_, s1, e1), (_, s2, e2), (_, s3, e3) = _times(got)
    assert s1 == 2.98 and e1 == s2 and e2 == 3.40 and (s3, e3) == (3.40, 3.72)
    assert e2 - s2 > e1 - s1 >= MIN_WORD  # shared by letters: "farmer" has twice "the"'s


def test_a_sentence_end_in_the_pause_goes_back_to_its_sentence() -> None:
    """``the porch.`` then a pause: "porch." was placed at 4.80, in the pause; it belongs to
    the sound before the pause, not to the next sentence's."""
    sound = _mask((0.3, 4.52), (5.13, 6.05))
    got = place_words(
        _words(("the", 4.08, 4.80), ("porch.", 4.80, 4.80), ("Later", 5.32, 5.44)),
        sound,
        0.0,
        12.0,
    )
    (_, s1, e1), (_, s2, e2), (_, s3, e3) = _times(got)
    assert s1 == 4.08 and e1 < e2 <= 4.52 and e2 - s2 >= MIN_WORD
    # "Later" starts where its sound does, not 0.19 s into it.
    assert (s3, e3) == (5.13, 5.44)


def test_a_sentence_start_in_the_pause_goes_forward() -> None:
    sound = _mask((1.0, 2.0), (3.0, 4.0))
    got = place_words(
        _words(("done.", 1.5, 2.0), ("Next", 2.5, 2.5), ("one", 3.0, 4.0)), sound, 0.0, 12.0
    )
    assert got[1].start >= 3.0 and got[1].end - got[1].start >= MIN_WORD


def test_no_word_is_stretched_over_a_pause() -> None:
    """A sentence's first word that begins in the pause before it, its last that runs into
    the pause after it, and a word over a pause of its own keep only their sound."""
    sound = _mask((1.0, 2.0), (3.0, 3.4), (4.2, 5.0))
    got = place_words(
        _words(("Hello", 0.2, 1.4), ("there.", 1.4, 2.9), ("Well", 3.0, 4.6)), sound, 0.0, 12.0
    )
    assert _times(got) == [("Hello", 1.0, 1.4), ("there.", 1.4, 2.0), ("Well", 3.0, 3.4)]
    for w in got:
        assert _longest_silence(sound, w.start, w.end) < PAUSE


def test_without_audio_only_words_without_duration_change() -> None:
    """As stitched: every time counts as sound, and only what has no duration is mended."""
    words = _words(("a", 0.0, 0.3), ("b", 0.3, 0.3), ("c", 0.3, 0.6), ("d", 0.6, 0.7))
    got = place_words(words, None, 0.0, 1.0, min_duration=EPSILON)
    assert got[0].start == 0.0 and got[-1] == words[-1]
    assert all(w.end - w.start >= EPSILON for w in got)


def test_a_word_past_the_end_keeps_a_duration() -> None:
    got = place_words(_words(("end", 5.0, 5.0)), None, 0.0, 5.0, min_duration=EPSILON)
    assert 0.0 <= got[0].start < got[0].end <= 5.0


def test_segments_span_their_placed_words() -> None:
    sound = _mask((1.0, 3.0))
    words = _words(("one", 0.5, 1.5), ("two", 1.5, 1.5))
    segment = Segment(start=0.0, end=4.0, text=" one two", words=words)
    (placed,) = with_placed_words([segment], sound, 0.0, 12.0)
    assert placed.words is not None
    assert placed.start == placed.words[0].start == 1.0
    assert placed.end == placed.words[-1].end and placed.text == segment.text


def test_speech_frames_finds_words_and_pauses_over_a_noise_floor() -> None:
    """Tone bursts at -20 dBFS over noise at -55 dBFS: sound where the bursts are, pauses
    between them; a 60 ms gap inside a burst (a stop's closure) is not a pause."""
    rng = np.random.default_rng(0)
    pcm = rng.normal(0, 32768 * 10 ** (-55 / 20), RATE * 4)
    t = np.arange(RATE * 4) / RATE
    burst = 32768 * 10 ** (-20 / 20) * np.sqrt(2) * np.sin(2 * np.pi * 300 * t)
    on = ((t >= 0.5) & (t < 1.5)) | ((t >= 2.5) & (t < 3.5))
    on &= ~((t >= 1.0) & (t < 1.06))
    frames = speech_frames(np.clip(pcm + burst * on, -32768, 32767).astype(np.int16))
    assert frames[55:145].all() and frames[255:345].all()
    assert not frames[:45].any() and not frames[160:245].any() and not frames[360:].any()


def test_digital_silence_and_silence_only() -> None:
    assert not speech_frames(np.zeros(RATE, np.int16)).any()
    assert len(speech_frames(np.zeros(10, np.int16))) == 0


_TEXT = st.sampled_from(["a", "the", "farmer", "porch.", "Later", "1,", "kitchen"])


@st.composite
def _any_words(draw: st.DrawFn) -> tuple[list[Word], np.ndarray | None, float]:
    """Any words over any audio, or none: times in order, possibly equal, past the end."""
    hi = draw(st.floats(0.5, 12.0))
    n = draw(st.integers(1, 25))
    times = sorted(draw(st.lists(st.floats(0.0, hi + 1.0), min_size=2 * n, max_size=2 * n)))
    words = [
        Word(word=draw(_TEXT), start=times[2 * k], end=times[2 * k + draw(st.sampled_from([0, 1]))])
        for k in range(n)
    ]
    if draw(st.booleans()):
        return words, None, hi
    frames = round(hi / FRAME)
    spans = draw(st.lists(st.tuples(st.integers(0, frames), st.integers(1, 200)), max_size=8))
    mask = np.zeros(frames, dtype=bool)
    for a, length in spans:
        mask[a : a + length] = True
    return words, mask, hi


@settings(max_examples=300, deadline=None)
@given(_any_words())
def test_every_word_has_a_duration_in_order_within_bounds(
    case: tuple[list[Word], np.ndarray | None, float],
) -> None:
    words, mask, hi = case
    got = place_words(words, mask, 0.0, hi)
    assert [w.word for w in got] == [w.word for w in words]
    for w in got:
        assert 0.0 <= w.start < w.end <= hi + 1e-9, w
    for a, b in itertools.pairwise(got):
        assert a.end <= b.start + 1e-9, (a, b)
    if hi >= 2 * EPSILON * len(words):
        assert min(w.end - w.start for w in got) >= EPSILON - 2.5e-3


@st.composite
def _aligned_speech(draw: st.DrawFn) -> tuple[list[Word], np.ndarray, float]:
    """Words spoken with pauses between some, as an aligner gives them: edges off by up to
    0.3 s, some words with no duration, sentence edges stretched into the pauses."""
    t, spoken = 0.3, []
    for _ in range(draw(st.integers(1, 30))):
        t += draw(st.sampled_from([0.0, 0.0, 0.15, 0.6, 1.2]))
        length = draw(st.floats(0.12, 0.6))
        spoken.append((draw(_TEXT), t, t + length))
        t += length
    hi = t + 0.5
    mask = _mask(*[(s, e) for _, s, e in spoken], seconds=hi)
    words = []
    for text, s, e in spoken:
        s2 = max(0.0, s + draw(st.floats(-0.3, 0.3)))
        e2 = max(s2, e + draw(st.floats(-0.3, 0.3)))
        if draw(st.integers(0, 4)) == 0:
            e2 = s2
        if words and s2 < words[-1].end:
            s2 = e2 = max(words[-1].end, e2)
        words.append(Word(word=text, start=s2, end=e2))
    return words, mask, hi


@settings(max_examples=300, deadline=None)
@given(_aligned_speech())
def test_aligned_words_lie_over_sound_and_never_over_a_pause(
    case: tuple[list[Word], np.ndarray, float],
) -> None:
    words, mask, hi = case
    got = place_words(words, mask, 0.0, hi)
    for w in got:
        assert w.end > w.start and _longest_silence(mask, w.start, w.end) < PAUSE + FRAME, w
        assert mask[round(w.start / FRAME) : round(w.end / FRAME)].any(), w
    # Mostly over sound: a short word's minimum duration, or a gap shorter than a pause
    # inside a word, may hold silence (9,000 examples here: 0.69 at the lowest).
    over = sum(mask[round(w.start / FRAME) : round(w.end / FRAME)].mean() for w in got)
    assert over / len(got) >= 0.6
