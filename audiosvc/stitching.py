"""Stitch chunk transcripts into one transcript of the whole file.

Each chunk's segments and words are shifted by the chunk's true start (a sample offset, so
there is no drift). Where two chunks overlap (a hard cut with no silence), the words heard
twice are aligned by text *and* time and the transcript is cut once, at the aligned word
nearest the middle of the overlap: the earlier chunk's words up to and including it, the later
chunk's words after it. No word is doubled or dropped. Segments without word timestamps (e.g.
translations) take part through pseudo-words spread over the segment by character count.

Unlike Groq's cookbook merge, which compares chunk-local times with file times, re-adds the
first segment of every later chunk, and keeps half of each side of a text alignment, this
module offsets every time, emits each word once, and cuts at a single aligned word.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from audiosvc.chunking import SAMPLE_RATE, ChunkPlan
from audiosvc.transcript import Segment, Task, Transcript, Word, join_words
from audiosvc.word_times import EPSILON, with_placed_words

# How far outside the overlap a word may be (timestamps are imprecise) and still be aligned.
_SLACK = 0.5
# Time scale of the alignment: a pair of equal words this far apart scores exp(-1).
_SIGMA = 0.35

_NORMALIZE = re.compile(r"[\W_]+", re.UNICODE)


@dataclass(frozen=True)
class ChunkTranscript:
    """A chunk's plan and the provider's transcript of it, in chunk-local times."""

    plan: ChunkPlan
    transcript: Transcript


@dataclass(frozen=True)
class _Token:
    word: Word
    real: bool  # False for pseudo-words of a segment without word timestamps
    chunk: int
    seg: int  # index of the segment within its chunk
    # Where the word may really be: its own times for a real word; for a pseudo-word, its
    # whole segment, since spreading by character count can misplace it by seconds.
    lo: float
    hi: float

    @property
    def mid(self) -> float:
        return (self.word.start + self.word.end) / 2

    @property
    def earliest(self) -> float:
        return self.mid if self.real else self.lo

    @property
    def latest(self) -> float:
        return self.mid if self.real else self.hi


def normalize_word(text: str) -> str:
    return _NORMALIZE.sub("", text.casefold())


def pseudo_words(segment: Segment) -> list[Word]:
    """Spread a segment's whitespace-separated tokens over its time by character count."""
    parts = segment.text.split()
    if not parts:
        return []
    total = sum(len(p) for p in parts)
    span = max(segment.end - segment.start, 0.0)
    words, t = [], segment.start
    for p in parts:
        d = span * len(p) / total
        words.append(Word(word=p, start=t, end=t + d))
        t += d
    return words


def _tokens(index: int, segments: Sequence[Segment]) -> list[_Token]:
    out: list[_Token] = []
    for si, seg in enumerate(segments):
        if seg.words is not None and (seg.words or not seg.text.strip()):
            out.extend(_Token(w, True, index, si, w.start, w.end) for w in seg.words)
        else:
            out.extend(_Token(w, False, index, si, seg.start, seg.end) for w in pseudo_words(seg))
    return out


def _candidate_pairs(a: Sequence[_Token], b: Sequence[_Token]) -> set[tuple[int, int]]:
    """Pairs of equal words that overlap in time and are each other's nearest equal word in
    time. Requiring the
    nearest neighbour both ways keeps a run of repeated words ("no no no") from aligning one
    word off, which a count-maximizing alignment would otherwise prefer."""
    an = [normalize_word(t.word.word) for t in a]
    bn = [normalize_word(t.word.word) for t in b]

    def nearest(
        src: Sequence[_Token], sn: list[str], dst: Sequence[_Token], dn: list[str], k: int
    ) -> int | None:
        options = [m for m in range(len(dst)) if dn[m] == sn[k]]
        if not sn[k] or not options:
            return None
        return min(options, key=lambda m: abs(dst[m].mid - src[k].mid))

    pairs = set()
    for i in range(len(a)):
        j = nearest(a, an, b, bn, i)
        if j is not None and nearest(b, bn, a, an, j) == i and _may_be_same(a[i], b[j]):
            pairs.add((i, j))
    return pairs


def _may_be_same(x: _Token, y: _Token) -> bool:
    """Whether two equal words may be one spoken word heard by both chunks. A pseudo-word's
    time is only known to lie in its segment: there, overlapping spans are all the evidence
    there is."""
    if x.real and y.real:
        return _same_time(x, y)
    return min(x.hi, y.hi) > max(x.lo, y.lo)


def _same_time(x: _Token, y: _Token) -> bool:
    """Whether two words overlap for at least half the shorter one. The same spoken word seen
    by both chunks overlaps itself; two neighbouring words with the same text merely touch."""
    shared = min(x.word.end, y.word.end) - max(x.word.start, y.word.start)
    shorter = min(x.word.end - x.word.start, y.word.end - y.word.start)
    return shared > 0 and shared >= 0.5 * shorter


def _align(a: Sequence[_Token], b: Sequence[_Token]) -> list[tuple[int, int]]:
    """Order-preserving alignment of the candidate pairs that maximizes a time-proximity
    score (a weighted longest common subsequence). Returns aligned index pairs."""
    allowed = _candidate_pairs(a, b)
    if not allowed:
        return []
    weight = {p: math.exp(-(((a[p[0]].mid - b[p[1]].mid) / _SIGMA) ** 2)) for p in allowed}
    na, nb = len(a), len(b)
    score = [[0.0] * (nb + 1) for _ in range(na + 1)]
    for i in range(na - 1, -1, -1):
        for j in range(nb - 1, -1, -1):
            best = max(score[i + 1][j], score[i][j + 1])
            if (i, j) in weight:
                best = max(best, score[i + 1][j + 1] + weight[(i, j)])
            score[i][j] = best
    pairs: list[tuple[int, int]] = []
    i = j = 0
    while i < na and j < nb:
        if (i, j) in weight and math.isclose(score[i][j], score[i + 1][j + 1] + weight[(i, j)]):
            pairs.append((i, j))
            i, j = i + 1, j + 1
        elif score[i + 1][j] >= score[i][j + 1]:
            i += 1
        else:
            j += 1
    return pairs


def _time_cut(a: Sequence[_Token], b: Sequence[_Token]) -> int:
    """When no word aligns by text: how many of ``b``'s first words to drop. All of ``a`` is
    kept; a word of ``b`` is dropped when it is not later than ``a``'s last word or covers
    the same time as a word of ``a`` (the same sound, heard as a different word)."""
    if not a:
        return 0
    last = a[-1].mid
    j = 0
    while j < len(b) and (b[j].mid <= last or any(_same_time(t, b[j]) for t in a)):
        j += 1
    return j


def cut_overlap(
    left: Sequence[_Token], right: Sequence[_Token], lo: float, hi: float
) -> tuple[int, int]:
    """Where to cut two token streams overlapping in [lo, hi] (file times): keep
    ``left[:i]`` and ``right[j:]``."""
    a0 = next((k for k, t in enumerate(left) if t.latest >= lo - _SLACK), len(left))
    b1 = next((k for k, t in enumerate(right) if t.earliest > hi + _SLACK), len(right))
    a, b = left[a0:], right[:b1]
    pairs = _align(a, b)
    if pairs:
        centre = (lo + hi) / 2
        i, j = min(pairs, key=lambda p: abs((a[p[0]].mid + b[p[1]].mid) / 2 - centre))
        return a0 + i + 1, j + 1
    return len(left), _time_cut(a, b)


def _rebuild(
    tokens: Sequence[_Token], chunks: Sequence[Sequence[Segment]], language: str
) -> list[Segment]:
    """Group surviving tokens back into segments; a segment cut by the stitch is trimmed to
    its surviving words."""
    out: list[Segment] = []
    k = 0
    while k < len(tokens):
        key = (tokens[k].chunk, tokens[k].seg)
        group = [tokens[k]]
        k += 1
        while k < len(tokens) and (tokens[k].chunk, tokens[k].seg) == key:
            group.append(tokens[k])
            k += 1
        original = chunks[key[0]][key[1]]
        real = [t.word for t in group if t.real]
        whole = len(group) == len(_tokens(0, [original]))
        if whole:
            out.append(original)
        else:
            out.append(
                original.model_copy(
                    update={
                        "start": group[0].word.start,
                        "end": group[-1].word.end,
                        "text": " " + join_words([t.word.word for t in group], language),
                        "tokens": [],
                        "words": real if original.words is not None else None,
                    }
                )
            )
    return out


def _clamp(value: float, lo: float, hi: float) -> float:
    return min(max(value, lo), hi)


def _make_monotonic(segments: list[Segment], duration: float) -> list[Segment]:
    """Renumber and clamp into [0, duration] with non-decreasing, non-overlapping times; words
    in order, none overlapping the next, and each with a duration (a seam or the clamp can
    leave a word none: it shares its neighbours' time)."""
    out: list[Segment] = []
    prev_end = 0.0
    for i, seg in enumerate(with_placed_words(segments, None, 0.0, duration, min_duration=EPSILON)):
        start = _clamp(max(seg.start, prev_end), 0.0, duration)
        end = _clamp(max(seg.end, start), start, duration)
        out.append(seg.model_copy(update={"id": i, "start": start, "end": end}))
        prev_end = end
    return out


def _majority_language(chunks: Sequence[ChunkTranscript]) -> str:
    votes: Counter[str] = Counter()
    for c in chunks:
        if c.transcript.segments and c.transcript.language:
            votes[c.transcript.language] += c.plan.end - c.plan.start
    return votes.most_common(1)[0][0] if votes else "en"


def stitch(
    chunks: Sequence[ChunkTranscript],
    *,
    duration: float,
    task: Task = "transcribe",
    language: str | None = None,
) -> Transcript:
    """One transcript for the whole file from its chunks (in any order)."""
    ordered = sorted(chunks, key=lambda c: c.plan.index)
    lang = language or _majority_language(ordered)
    shifted = [[s.shifted(c.plan.start_seconds) for s in c.transcript.segments] for c in ordered]
    tokens: list[_Token] = []
    for idx, (c, segs) in enumerate(zip(ordered, shifted, strict=True)):
        new = _tokens(idx, segs)
        if c.plan.overlap and tokens:
            lo = c.plan.start_seconds
            hi = (c.plan.start + c.plan.overlap) / SAMPLE_RATE
            i, j = cut_overlap(tokens, new, lo, hi)
            tokens = tokens[:i] + new[j:]
        else:
            tokens.extend(new)
    segments = _make_monotonic(_rebuild(tokens, shifted, lang), duration)
    text = join_words([s.text.strip() for s in segments], lang)
    return Transcript(task=task, language=lang, duration=duration, text=text, segments=segments)
