"""Word times that a subtitle editor, a karaoke highlight and click-to-seek can use: every word
has a duration and lies over its own sound (pure functions of the words and the audio).

Whisper's cross-attention alignment (faster-whisper's ``add_word_timestamps``, and what
remote providers return) is good at the middle of a word and poor at its edges: on some CPUs
it gives words no duration at all (``farmer 3.40-3.40`` on ``samples/short.wav``, tiny.en,
with oneDNN's int8 kernels), stretches a sentence's first word back over the pause before it
and its last word into the pause after it. As stable-ts does with Whisper's own timings, the
audio's evidence then decides:

1. :func:`speech_frames`: which 10 ms frames of the audio hold sound, by energy against the
   recording's own noise floor (digital silence and a noisy phone line alike); gaps shorter
   than a stop consonant's closure are filled.
2. :func:`place_words`: each word's edges are moved off silence; a word that still spans a
   pause (:data:`PAUSE` or longer) keeps only the side with more of its sound; a word left
   shorter than :data:`MIN_WORD` shares the time of its neighbours (free sound between them
   first, then the neighbours' own spans, split by the words' lengths in letters, over the
   sound they hold). Without audio (``speech=None``, as when chunks are stitched) all time
   counts as sound, and only words without a duration are mended.

The words' order and text never change; times stay within ``[lo, hi]``, in order, and do not
overlap.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from audiosvc.transcript import Segment, Word

FRAME = 0.01  # seconds per frame of :func:`speech_frames`
_WINDOW = 2  # frames of audio each energy value is measured over (20 ms)
# stable-ts' default ``min_word_dur``: a word shorter than this gets time from its neighbours.
MIN_WORD = 0.1
# No word is stretched over a pause this long or longer (the bound is 0.5 s).
PAUSE = 0.3
# How far a word without a duration may be moved to find free sound beside it.
_REACH = 1.0
# How far a word's edge may move out to the onset or offset of its sound.
_EDGE_REACH = 0.5
# The most free time a word without one takes: this much a letter (a fast talker's rate).
_SECONDS_PER_LETTER = 0.06
# Non-speech runs shorter than this are inside a word (stop closures), not pauses.
_CLOSURE = 0.12
# The smallest duration any word gets when time must be found for it somewhere.
EPSILON = 0.02


def speech_frames(pcm: np.ndarray, sample_rate: int = 16_000) -> np.ndarray:
    """Whether each 10 ms frame of ``pcm`` (int16 mono) holds sound: its energy over 20 ms is
    above the recording's noise floor by 10 dB, and within 40 dB of its loud speech, and above
    -70 dBFS. Gaps shorter than :data:`_CLOSURE` are filled."""
    hop = int(sample_rate * FRAME)
    count = len(pcm) // hop
    if count == 0:
        return np.zeros(0, dtype=bool)
    x = pcm[: count * hop].astype(np.float64) / 32768.0
    power = (x.reshape(count, hop) ** 2).mean(axis=1)
    # Each frame's energy over itself and the next, so a frame at a word's edge still counts.
    padded = np.concatenate([power, np.zeros(_WINDOW - 1)])
    energy = np.convolve(padded, np.ones(_WINDOW) / _WINDOW, mode="valid")[:count]
    db = 10 * np.log10(energy + 1e-12)
    floor, loud = np.percentile(db, 10), np.percentile(db, 95)
    threshold = max(floor + 10.0, loud - 40.0, -70.0)
    return _fill_gaps(db > threshold, round(_CLOSURE / FRAME))


def _fill_gaps(mask: np.ndarray, shorter_than: int) -> np.ndarray:
    """``mask`` with runs of False shorter than ``shorter_than`` frames between two True
    frames set to True."""
    out = mask.copy()
    on = np.flatnonzero(mask)
    if len(on) < 2:
        return out
    gaps = np.diff(on)
    for k in np.flatnonzero((gaps > 1) & (gaps <= shorter_than)):
        out[on[k] + 1 : on[k + 1]] = True
    return out


class _Sound:
    """Frames of sound, with the cumulative count for sums over any span; ``None`` counts
    all time as sound."""

    def __init__(self, speech: np.ndarray | None) -> None:
        self.mask = speech
        if speech is not None:
            self.cum = np.concatenate([[0], np.cumsum(speech, dtype=np.int64)])

    def frame(self, t: float) -> int:
        return int(np.floor(t / FRAME + 1e-9))

    def amount(self, a: float, b: float) -> float:
        """Seconds of sound in ``[a, b]``."""
        if b <= a:
            return 0.0
        if self.mask is None:
            return b - a
        n = len(self.mask)
        i, j = min(max(self.frame(a), 0), n), min(max(self.frame(b), 0), n)
        return float(self.cum[j] - self.cum[i]) * FRAME

    def is_sound(self, k: int) -> bool:
        return self.mask is None or (0 <= k < len(self.mask) and bool(self.mask[k]))

    def trim(self, a: float, b: float) -> tuple[float, float] | None:
        """``[a, b]`` less its silent edges; ``None`` when it holds no sound."""
        if self.mask is None:
            return (a, b)
        first, last = self.frame(a), self.frame(b - 1e-9)
        k = first
        while k <= last and not self.is_sound(k):
            k += 1
        if k > last:
            return None
        m = last
        while not self.is_sound(m):
            m -= 1
        return (max(a, k * FRAME), min(b, (m + 1) * FRAME))

    def longest_pause(self, a: float, b: float) -> tuple[float, float] | None:
        """The longest silent run strictly inside ``[a, b]``, as times."""
        if self.mask is None:
            return None
        best: tuple[float, float] | None = None
        run_start = None
        for k in range(self.frame(a), self.frame(b - 1e-9) + 1):
            if not self.is_sound(k):
                run_start = k if run_start is None else run_start
                continue
            if run_start is not None:
                span = (run_start * FRAME, k * FRAME)
                if best is None or span[1] - span[0] > best[1] - best[0]:
                    best = span
                run_start = None
        return best

    def at_share(self, a: float, b: float, share: float) -> float:
        """The time in ``[a, b]`` before which ``share`` of its sound lies."""
        total = self.amount(a, b)
        if total <= 0:
            return a + share * (b - a)
        target = share * total
        if self.mask is None:
            return a + target
        t, k = a, self.frame(a)
        got = 0.0
        while t < b:
            step_end = min(b, (k + 1) * FRAME)
            piece = step_end - t if self.is_sound(k) else 0.0
            if got + piece >= target and piece > 0:
                return t + (target - got)
            got += piece
            t, k = step_end, k + 1
        return b


def _weight(word: str) -> int:
    """How long a word takes to say, roughly: its letters and digits (at least one)."""
    return max(1, sum(ch.isalnum() for ch in word))


def place_words(
    words: Sequence[Word],
    speech: np.ndarray | None,
    lo: float,
    hi: float,
    *,
    min_duration: float = MIN_WORD,
) -> list[Word]:
    """``words`` (in order, times in seconds from the start of ``speech``'s audio) with times
    that each lie over sound, inside ``[lo, hi]``, in order, not overlapping, none shorter than
    :data:`EPSILON` (and, where the sound allows, none shorter than ``min_duration``)."""
    n = len(words)
    if n == 0 or hi <= lo:
        return list(words)
    sound = _Sound(speech)
    starts = np.array([min(w.start, w.end) for w in words], dtype=np.float64).clip(lo, hi)
    ends = np.array([max(w.start, w.end) for w in words], dtype=np.float64).clip(lo, hi)
    for i in range(1, n):  # in order, no overlap: a word starts where the one before ends
        starts[i] = max(starts[i], ends[i - 1])
        ends[i] = max(ends[i], starts[i])
    if speech is not None:
        for i in range(n):
            _onto_sound(sound, starts, ends, i)
        for i in range(n):
            _to_edges(sound, starts, ends, i, lo, hi)
    text = [w.word for w in words]
    _lengthen_short(sound, text, starts, ends, lo, hi, min_duration)
    if speech is not None:  # time shared across a pause is cut at it again
        for i in range(n):
            _onto_sound(sound, starts, ends, i)
        _lengthen_short(sound, text, starts, ends, lo, hi, EPSILON)
    _lengthen_short(_Sound(None), text, starts, ends, lo, hi, EPSILON)
    placed = []
    for word, s, e in zip(words, starts, ends, strict=True):
        start, end = _rounded(float(s), float(e), lo, hi)
        placed.append(word.model_copy(update={"start": start, "end": end}))
    return placed


def _rounded(start: float, end: float, lo: float, hi: float) -> tuple[float, float]:
    """Milliseconds, as every format prints them, within ``[lo, hi]``, unless that would take
    the duration."""
    rs, re = max(lo, round(start, 3)), min(hi, round(end, 3))
    return (rs, re) if re > rs else (start, end)


def _onto_sound(sound: _Sound, starts: np.ndarray, ends: np.ndarray, i: int) -> None:
    """Word ``i``'s edges off silence, and off the far side of every pause inside it."""
    a, b = starts[i], ends[i]
    trimmed = sound.trim(a, b) if b > a else None
    if trimmed is None:  # no sound under it: no duration, found again by _lengthen_short
        mid = min(max((a + b) / 2, starts[i]), ends[i])
        starts[i] = ends[i] = mid
        return
    a, b = trimmed
    while (pause := sound.longest_pause(a, b)) is not None and pause[1] - pause[0] >= PAUSE:
        if sound.amount(a, pause[0]) >= sound.amount(pause[1], b):
            b = pause[0]
        else:
            a = pause[1]
    starts[i], ends[i] = a, b


def _to_edges(
    sound: _Sound, starts: np.ndarray, ends: np.ndarray, i: int, lo: float, hi: float
) -> None:
    """Word ``i`` widened to the onset (and offset) of the sound it starts (ends) in, when no
    other word has that sound: Whisper often starts a word after a pause late, and ends a word
    before one early. Sound that runs on into the next word's is left alone."""
    if ends[i] <= starts[i]:
        return
    left = ends[i - 1] if i > 0 else lo
    right = starts[i + 1] if i + 1 < len(starts) else hi
    stop, k = sound.frame(left), sound.frame(starts[i]) - 1
    while k >= stop and sound.is_sound(k):
        k -= 1
    if k >= stop and starts[i] - (k + 1) * FRAME <= _EDGE_REACH:
        starts[i] = max(left, (k + 1) * FRAME)
    stop, k = sound.frame(right - 1e-9), sound.frame(ends[i] - 1e-9) + 1
    while k <= stop and sound.is_sound(k):
        k += 1
    if k <= stop and k * FRAME - ends[i] <= _EDGE_REACH:
        ends[i] = min(right, k * FRAME)


def _lengthen_short(
    sound: _Sound,
    words: Sequence[str],
    starts: np.ndarray,
    ends: np.ndarray,
    lo: float,
    hi: float,
    min_duration: float,
) -> None:
    """Give every run of words shorter than ``min_duration`` time: the free sound beside it
    (never across a pause), then its neighbours' spans, shared by weight over their sound."""
    n = len(starts)
    i = 0
    while i < n:
        if ends[i] - starts[i] >= min_duration:
            i += 1
            continue
        j = i  # a run of short words at one place, as an aligner leaves them
        while (
            j + 1 < n
            and ends[j + 1] - starts[j + 1] < min_duration
            and starts[j + 1] - ends[j] < min_duration
        ):
            j += 1
        first, last = i, j
        left = ends[first - 1] if first > 0 else lo
        right = starts[last + 1] if last + 1 < n else hi
        place = (starts[first] + ends[last]) / 2
        need = (last - first + 1) * min_duration
        side = _side(words, first, last)
        # A side with no sound and no neighbour in reach has nothing to give.
        if (side == "left" and not (first > 0 and left >= place - _REACH)) or (
            side == "right" and not (last + 1 < n and right <= place + _REACH)
        ):
            side = None
        a, b, side = _free_sound(
            sound, max(left, place - _REACH), min(right, place + _REACH), place, side
        )
        # No more free sound than the words can use (letters at a fast speaking rate), and
        # without audio, no more time than they need.
        letters = sum(map(_weight, words[first : last + 1]))
        usable = need if sound.mask is None else max(need, _SECONDS_PER_LETTER * letters)
        a, b = _around(sound, a, b, place, usable)
        # Not enough free sound: share the neighbours' spans as well, one at a time, the side
        # the words belong with first (else the longer neighbour).
        while sound.amount(a, b) < need and (first > 0 or last + 1 < n):
            longer_left = first > 0 and (
                last + 1 >= n
                or ends[first - 1] - starts[first - 1] >= ends[last + 1] - starts[last + 1]
            )
            if first > 0 and (side == "left" or (side is None and longer_left) or last + 1 >= n):
                first -= 1
                a = min(a, starts[first])
            else:
                last += 1
                b = max(b, ends[last])
            side = None
            need = (last - first + 1) * min_duration
        over = sound
        if sound.amount(a, b) < need:  # the whole chunk is too short or silent: any time
            a, b = _widen(a, b, need, lo, hi)
            over = _Sound(None) if sound.amount(a, b) < need else sound
        weights = [_weight(w) for w in words[first : last + 1]]
        _share(over, weights, starts, ends, first, (a, b), min_duration)
        i = last + 1


_ENDS_CLAUSE = tuple(".?!;:,")


def _side(words: Sequence[str], first: int, last: int) -> str | None:
    """Which neighbour words without a place belong with, by punctuation: words that end a
    sentence or clause with the words before them, words after one with the words after."""
    if words[last].endswith(_ENDS_CLAUSE):
        return "left"
    if first > 0 and words[first - 1].endswith(_ENDS_CLAUSE):
        return "right"
    return None


def _free_sound(
    sound: _Sound, a: float, b: float, place: float, side: str | None
) -> tuple[float, float, str | None]:
    """The span of ``[a, b]`` that words at ``place`` may take: the sound reached from
    ``place`` without crossing a pause. Words in a pause go to the ``side`` they belong
    with, else to the nearer edge of the pause; that side is returned, for sharing."""
    if sound.mask is None or b <= a:
        return a, b, side
    lo_k, hi_k = sound.frame(a), sound.frame(b - 1e-9)
    k = min(max(sound.frame(place), lo_k), hi_k)
    gap = round(PAUSE / FRAME)
    run_lo, run_hi = k, k
    while not sound.is_sound(run_lo) and run_lo > lo_k:
        run_lo -= 1
    while not sound.is_sound(run_hi) and run_hi < hi_k:
        run_hi += 1
    short_gap = run_hi - run_lo - 1 < gap and sound.is_sound(run_lo) and sound.is_sound(run_hi)
    if sound.is_sound(k) or short_gap:
        start, end = _reach(sound, k, -1, lo_k, gap), _reach(sound, k, 1, hi_k, gap)
        return max(a, start * FRAME), min(b, (end + 1) * FRAME), None
    if side is None and not sound.is_sound(run_lo):
        side = "right"
    elif side is None and not sound.is_sound(run_hi):
        side = "left"
    elif side is None:
        side = "left" if place - run_lo * FRAME <= run_hi * FRAME - place else "right"
    if side == "left":
        if not sound.is_sound(run_lo):
            return a, a, side
        return max(a, _reach(sound, run_lo, -1, lo_k, gap) * FRAME), (run_lo + 1) * FRAME, side
    if not sound.is_sound(run_hi):
        return b, b, side
    return run_hi * FRAME, min(b, (_reach(sound, run_hi, 1, hi_k, gap) + 1) * FRAME), side


def _reach(sound: _Sound, k: int, step: int, limit: int, gap: int) -> int:
    """The last frame of sound reached from frame ``k`` going ``step`` (±1) no further than
    frame ``limit``, crossing silences shorter than ``gap`` frames only."""
    last = m = k
    quiet = 0
    while m != limit:
        m += step
        if sound.is_sound(m):
            last, quiet = m, 0
        else:
            quiet += 1
            if quiet >= gap:
                break
    return last


def _around(sound: _Sound, a: float, b: float, place: float, length: float) -> tuple[float, float]:
    """The part of ``[a, b]`` around ``place`` that holds ``length`` of sound (all of it,
    when it holds less), grown a frame at a time on both sides."""
    if sound.amount(a, b) <= length:
        return a, b
    lo_t = hi_t = min(max(place, a), b)
    while sound.amount(lo_t, hi_t) < length:
        lo_t, hi_t = max(a, lo_t - FRAME), min(b, hi_t + FRAME)
    return lo_t, hi_t


def _widen(a: float, b: float, need: float, lo: float, hi: float) -> tuple[float, float]:
    missing = max(0.0, need - (b - a))
    a2 = max(lo, a - missing / 2)
    b2 = min(hi, b + missing - (a - a2))
    return max(lo, a2 - max(0.0, need - (b2 - a2))), b2


def _share(
    sound: _Sound,
    weights: Sequence[int],
    starts: np.ndarray,
    ends: np.ndarray,
    first: int,
    span: tuple[float, float],
    min_duration: float,
) -> None:
    """Words ``first, first + 1, ...`` (one per weight) over ``span``, each ``min_duration``
    of its sound (as far as there is) and a share of the rest by weight, trimmed to its
    sound."""
    a, b = span
    total, count = sum(weights), len(weights)
    sound_total = sound.amount(a, b)
    floor = min(min_duration, sound_total / count) if sound_total > 0 else 0.0
    done = 0
    cut = a
    for offset, weight in enumerate(weights):
        k = first + offset
        done += weight
        if offset < count - 1 and sound_total > 0:
            got = (offset + 1) * floor + (sound_total - count * floor) * done / total
            nxt = sound.at_share(a, b, min(1.0, got / sound_total))
        elif offset < count - 1:
            nxt = a + (b - a) * (offset + 1) / count
        else:
            nxt = b
        starts[k], ends[k] = cut, nxt
        if sound.mask is not None:
            trimmed = sound.trim(cut, nxt)
            if trimmed is not None and trimmed[1] - trimmed[0] >= EPSILON:
                starts[k], ends[k] = trimmed
        cut = nxt


def with_placed_words(
    segments: Sequence[Segment],
    speech: np.ndarray | None,
    lo: float,
    hi: float,
    *,
    min_duration: float = MIN_WORD,
) -> list[Segment]:
    """``segments`` with their words placed by :func:`place_words` (across segment bounds,
    since a neighbour's time may be shared) and each segment with words spanning them."""
    flat = [w for s in segments for w in (s.words or [])]
    placed = iter(place_words(flat, speech, lo, hi, min_duration=min_duration))
    out: list[Segment] = []
    for segment in segments:
        if not segment.words:
            out.append(segment)
            continue
        words = [next(placed) for _ in segment.words]
        out.append(
            segment.model_copy(
                update={"words": words, "start": words[0].start, "end": words[-1].end}
            )
        )
    return out
