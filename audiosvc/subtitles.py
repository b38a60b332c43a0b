"""Subtitle cues from a transcript: where to cut cues, where to break lines, and cue timing.

Everything here is a pure function of the transcript and the :class:`SubtitleLimits`.

The pipeline:

1. The transcript becomes a stream of *tokens* (words with times in whole milliseconds).
   Word timestamps are used where a segment has them; a segment without words is split into
   pseudo-words whose times are interpolated by character length across the segment.
2. Cues are chosen by dynamic programming over the token stream: every cue must fit the line
   and duration limits, and the cost of a split favours cutting after sentence punctuation,
   then at pauses, then after commas; fewer, fuller cues are preferred to many small ones.
3. Each cue's tokens are broken into lines by a second, small dynamic programme that balances
   the line lengths (rather than greedily filling the first line).
4. Timing: cue times come from the first and last token; overlaps are resolved by cutting the
   earlier cue at the start of the next, and short cues are stretched toward the minimum
   duration only into free time.

Times are rounded to whole milliseconds *before* any rule is applied, so the rules hold for
exactly the numbers that get printed.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from audiosvc.languages import language_code
from audiosvc.transcript import NO_SPACE_LANGUAGES, Segment, Transcript

if TYPE_CHECKING:
    from audiosvc.settings import Settings

# Costs of the cue splitter (dimensionless; only their ratios matter).
_CUE_COST = 3.0  # every cue costs this much: prefer fewer, fuller cues
_BREAK_AFTER_SENTENCE = 0.0
_BREAK_AT_PAUSE = 1.0
_BREAK_AFTER_CLAUSE = 2.0
_BREAK_ANYWHERE = 6.0
# A plain break after a word of <= 3 characters costs extra: such a word usually belongs
# with what follows (an article, a preposition: "go to the / park").
_AFTER_SHORT_WORD = 1.0
_INNER_PAUSE = 1.0  # a pause kept inside a cue, plus its length in seconds
_SHORT_CUE = 2.0  # at most this much for a cue shorter than half a line
_FULL_CUE = 1.0  # times (width / capacity) ** 2: ties go to evenly filled cues

# Bonuses of the line breaker, relative to the squared line lengths (in full lines).
_LINE_BONUS_SENTENCE = 0.25
_LINE_BONUS_PAUSE = 0.15
_LINE_BONUS_CLAUSE = 0.1
_LINE_BONUS_AFTER_SHORT_WORD = -0.02  # a tie-breaker only
_SHORT_WORD = 3

# Ellipsis and the CJK (fullwidth) marks are written as escapes: they look like ASCII marks.
_SENTENCE_END = frozenset(".?!\u2026\u3002\uff1f\uff01")
_CLAUSE_END = frozenset(",;:\u3001\uff0c\uff1b\uff1a")
_CLOSERS = "\"')]}\u00bb\u201d\u2019\u300d\u300f\uff09"  # closing quotes and brackets


@dataclass(frozen=True)
class SubtitleLimits:
    """Shape limits of subtitle cues; the defaults are the common broadcast guidelines."""

    max_line_chars: int = 42
    max_lines: int = 2
    max_cue_seconds: float = 7.0
    min_cue_seconds: float = 0.5
    pause_seconds: float = 0.6

    def __post_init__(self) -> None:
        if self.max_line_chars < 1:
            raise ValueError("max_line_chars must be at least 1")
        if self.max_lines < 1:
            raise ValueError("max_lines must be at least 1")
        if not seconds_to_ms(self.max_cue_seconds) >= 1:
            raise ValueError("max_cue_seconds must be at least one millisecond")
        if not self.min_cue_seconds >= 0:
            raise ValueError("min_cue_seconds must not be negative")
        if not self.pause_seconds >= 0:
            raise ValueError("pause_seconds must not be negative")

    @classmethod
    def from_settings(cls, settings: Settings, line_chars: int | None = None) -> SubtitleLimits:
        """The service's limits; ``line_chars`` (a job's own line length) replaces its."""
        return cls(
            max_line_chars=line_chars or settings.subtitle_max_line_chars,
            max_lines=settings.subtitle_max_lines,
            max_cue_seconds=settings.subtitle_max_cue_seconds,
            min_cue_seconds=settings.subtitle_min_cue_seconds,
            pause_seconds=settings.subtitle_pause_seconds,
        )


@dataclass(frozen=True)
class Cue:
    """One subtitle: ``start`` and ``end`` in seconds (whole milliseconds), one or more lines."""

    start: float
    end: float
    lines: tuple[str, ...]
    speaker: str | None = None  # a cue never holds two speakers

    @property
    def start_ms(self) -> int:
        return seconds_to_ms(self.start)

    @property
    def end_ms(self) -> int:
        return seconds_to_ms(self.end)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass(frozen=True)
class _Token:
    """A word on its way into a cue. ``glue`` goes before it when it follows another word on
    the same line: ``" "`` normally, ``""`` in languages written without spaces."""

    text: str
    start: int  # ms
    end: int  # ms
    glue: str
    speaker: str | None = None

    @property
    def width(self) -> int:
        return len(self.text)


def seconds_to_ms(seconds: float) -> int:
    """Whole milliseconds, as ``round(seconds * 1000)`` (so 1.001 s is 1001 ms, not 1000)."""
    return round(seconds * 1000)


def format_timestamp(ms: int, sep: str) -> str:
    """``HH:MM:SS<sep>mmm``; hours keep at least two digits and may grow beyond 99."""
    if ms < 0:
        raise ValueError(f"negative timestamp: {ms} ms")
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{sep}{millis:03d}"


def build_cues(
    transcript: Transcript, limits: SubtitleLimits | None = None, *, label_width: int = 0
) -> list[Cue]:
    """The subtitle cues of ``transcript``; every word appears in exactly one cue, in order.

    In a diarized transcript a cue never spans a change of speaker. ``label_width`` is how
    many characters a printed speaker label adds to the first line of a cue beyond the
    speaker's name (SubRip's ``A: `` is 2), so labelled cues still fit the line limit."""
    limits = limits or SubtitleLimits()
    tokens = _tokens(transcript)
    prefix: dict[str | None, int] = (
        {tok.speaker: len(tok.speaker) + label_width for tok in tokens if tok.speaker is not None}
        if label_width
        else {}
    )
    spans = _split_cues(tokens, limits, prefix)
    times = _time_cues(
        [(tokens[a].start, tokens[b - 1].end) for a, b in spans],
        end_of_audio=_ms(transcript.duration, 0),
        limits=limits,
    )
    return [
        Cue(
            start=s / 1000,
            end=e / 1000,
            lines=_break_lines(tokens[a:b], limits, prefix.get(tokens[a].speaker, 0)),
            speaker=tokens[a].speaker,
        )
        for (a, b), (s, e) in zip(spans, times, strict=True)
    ]


# --- tokens --------------------------------------------------------------------------------


def _is_no_space(language: str) -> bool:
    return (language_code(language) or language) in NO_SPACE_LANGUAGES


def _ms(seconds: float, fallback: int) -> int:
    return seconds_to_ms(seconds) if math.isfinite(seconds) else fallback


def _tokens(transcript: Transcript) -> list[_Token]:
    """The transcript's words with millisecond times, non-negative and with ordered starts."""
    no_space = _is_no_space(transcript.language)
    segments = transcript.segments
    if not segments and transcript.text.strip():
        # No segments at all: the text still has to be shown.
        segments = [Segment(start=0.0, end=transcript.duration, text=transcript.text)]
    tokens: list[_Token] = []
    for text, start, end, glue, speaker in _timed_words(segments, no_space):
        if not text:
            continue
        previous = tokens[-1].start if tokens else 0
        s = max(_ms(start, previous), previous)
        tokens.append(_Token(text, s, max(_ms(end, s), s), glue, speaker))
    return tokens


def _timed_words(
    segments: Iterable[Segment], no_space: bool
) -> Iterable[tuple[str, float, float, str, str | None]]:
    glue = "" if no_space else " "
    for segment in segments:
        if segment.words:
            for w in segment.words:
                speaker = w.speaker if w.speaker is not None else segment.speaker
                yield " ".join(w.word.split()), w.start, w.end, glue, speaker
        else:
            for text, start, end, g in _interpolated(segment, no_space):
                yield text, start, end, g, segment.speaker


def _interpolated(segment: Segment, no_space: bool) -> list[tuple[str, float, float, str]]:
    """Pseudo-words of a segment without word timestamps, timed by their share of its
    characters."""
    pieces = _pseudo_words(segment.text, no_space)
    total = sum(len(text) for text, _ in pieces)
    span = max(segment.end - segment.start, 0.0)
    out: list[tuple[str, float, float, str]] = []
    done = 0
    for text, glue in pieces:
        start = segment.start + span * done / total
        done += len(text)
        out.append((text, start, segment.start + span * done / total, glue))
    return out


def _pseudo_words(text: str, no_space: bool) -> list[tuple[str, str]]:
    """``(word, glue)`` pairs. Without spaces between words, each character (with its marks
    and punctuation) is a unit, except runs of letters and digits of spaced scripts; a space
    in such text is kept as the glue of the next unit."""
    chunks = text.split()
    if not no_space:
        return [(chunk, " ") for chunk in chunks]
    out: list[tuple[str, str]] = []
    for i, chunk in enumerate(chunks):
        for j, unit in enumerate(_units(chunk)):
            out.append((unit, " " if i > 0 and j == 0 else ""))
    return out


def _continuous_script(ch: str) -> bool:
    """Thai, Lao, Tibetan, Myanmar, Khmer, and CJK and everything after it."""
    cp = ord(ch)
    return (
        0x0E00 <= cp <= 0x0FFF or 0x1000 <= cp <= 0x109F or 0x1780 <= cp <= 0x17FF or cp >= 0x2E80
    )


def _spaced_alnum(ch: str) -> bool:
    """A letter or digit of a script that separates words with spaces."""
    return ch.isalnum() and not _continuous_script(ch)


def _units(chunk: str) -> list[str]:
    units: list[str] = []
    opening = ""  # opening brackets and quotes wait for the unit they belong to
    for ch in chunk:
        category = unicodedata.category(ch)
        if category in ("Ps", "Pi"):
            opening += ch
            continue
        attaches = (
            bool(units)
            and not opening
            and (category[0] in "MP" or (_spaced_alnum(ch) and _spaced_alnum(units[-1][-1])))
        )
        if attaches:
            units[-1] += ch
        else:
            units.append(opening + ch)
            opening = ""
    if opening:
        if units:
            units[-1] += opening
        else:
            units.append(opening)
    return units


# --- cue splitting -------------------------------------------------------------------------


def _ends_with(text: str, marks: frozenset[str]) -> bool:
    stripped = text.rstrip(_CLOSERS)
    return bool(stripped) and stripped[-1] in marks


def _break_cost(before: _Token, after: _Token, pause_ms: int) -> float:
    if _ends_with(before.text, _SENTENCE_END):
        return _BREAK_AFTER_SENTENCE
    if after.start - before.end >= pause_ms:
        return _BREAK_AT_PAUSE
    if _ends_with(before.text, _CLAUSE_END):
        return _BREAK_AFTER_CLAUSE
    return _BREAK_ANYWHERE + (_AFTER_SHORT_WORD if before.width <= _SHORT_WORD else 0.0)


def _inner_pause_cost(before: _Token, after: _Token, pause_ms: int) -> float:
    gap = after.start - before.end
    return _INNER_PAUSE + gap / 1000 if gap >= pause_ms and gap > 0 else 0.0


def _size_cost(width: int, limits: SubtitleLimits) -> float:
    """Discourages fragments (shorter than half a line) and, more gently, uneven cues."""
    half = limits.max_line_chars / 2
    short = _SHORT_CUE * (1 - width / half) if width < half else 0.0
    return short + _FULL_CUE * (width / (limits.max_line_chars * limits.max_lines)) ** 2


def _split_cues(
    tokens: Sequence[_Token], limits: SubtitleLimits, prefix: dict[str | None, int] | None = None
) -> list[tuple[int, int]]:
    """Cue boundaries ``[(first, end)]`` of least total cost (dynamic programming).

    A cue of one token is always allowed, so there always is a solution. A longer cue must fit
    ``max_lines`` lines (greedy filling gives the least number of lines), last at most
    ``max_cue_seconds`` from its first start to its last end, and hold one speaker only.
    ``prefix``: characters a speaker's label takes on the first line of each of its cues.
    """
    prefix = prefix or {}
    n = len(tokens)
    max_ms = seconds_to_ms(limits.max_cue_seconds)
    pause_ms = seconds_to_ms(limits.pause_seconds)
    line_chars = limits.max_line_chars
    best = [math.inf] * (n + 1)
    back = [0] * (n + 1)
    best[0] = 0.0
    for i in range(n):
        first = tokens[i]
        label = prefix.get(first.speaker, 0)
        lines, line_width, width, inner = 1, first.width + label, first.width + label, 0.0
        for j in range(i, n):
            tok = tokens[j]
            if j > i:
                if tok.start - first.start > max_ms or tok.speaker != first.speaker:
                    break  # starts only grow: no longer cue from i can fit
                step = len(tok.glue) + tok.width
                if line_width + step <= line_chars:
                    line_width += step
                else:
                    lines, line_width = lines + 1, tok.width
                if lines > limits.max_lines:
                    break
                width += step
                inner += _inner_pause_cost(tokens[j - 1], tok, pause_ms)
                if tok.end - first.start > max_ms:
                    continue
            cost = best[i] + _CUE_COST + inner + _size_cost(width, limits)
            if j + 1 < n:
                cost += _break_cost(tok, tokens[j + 1], pause_ms)
            if cost < best[j + 1]:
                best[j + 1], back[j + 1] = cost, i
    spans: list[tuple[int, int]] = []
    end = n
    while end > 0:
        spans.append((back[end], end))
        end = back[end]
    return spans[::-1]


# --- line breaking -------------------------------------------------------------------------


def _line_count(tokens: Sequence[_Token], line_chars: int, label: int = 0) -> int:
    """Least number of lines (greedy filling is optimal when words are never split)."""
    lines, width = 0, 0
    for tok in tokens:
        if lines and width + len(tok.glue) + tok.width <= line_chars:
            width += len(tok.glue) + tok.width
        else:
            lines, width = lines + 1, tok.width + (label if not lines else 0)
    return lines


def _line_bonus(before: _Token, after: _Token, pause_ms: int) -> float:
    if _ends_with(before.text, _SENTENCE_END):
        return _LINE_BONUS_SENTENCE
    if after.start - before.end >= pause_ms:
        return _LINE_BONUS_PAUSE
    if _ends_with(before.text, _CLAUSE_END):
        return _LINE_BONUS_CLAUSE
    return _LINE_BONUS_AFTER_SHORT_WORD if before.width <= _SHORT_WORD else 0.0


def _break_lines(
    tokens: Sequence[_Token], limits: SubtitleLimits, label: int = 0
) -> tuple[str, ...]:
    """The tokens as the fewest lines possible, with the most even line lengths (sum of
    squared lengths), nudged toward breaks after punctuation or at pauses. ``label``
    characters are reserved at the start of the first line."""
    line_chars = limits.max_line_chars
    pause_ms = seconds_to_ms(limits.pause_seconds)
    m = len(tokens)
    n_lines = _line_count(tokens, line_chars, label)
    # offsets[k]: width of tokens[:k] laid on one line, each with its glue
    offsets = [0]
    for tok in tokens:
        offsets.append(offsets[-1] + len(tok.glue) + tok.width)

    def width(a: int, b: int) -> int:
        return offsets[b] - offsets[a] - len(tokens[a].glue) + (label if a == 0 else 0)

    # cost[l][b]: tokens[:b] as l lines; back[l][b]: where the l-th line starts
    cost = [[math.inf] * (m + 1) for _ in range(n_lines + 1)]
    back = [[0] * (m + 1) for _ in range(n_lines + 1)]
    cost[0][0] = 0.0
    for line in range(1, n_lines + 1):
        for b in range(line, m + 1):
            for a in range(line - 1, b):
                w = width(a, b)
                if cost[line - 1][a] == math.inf or (w > line_chars and b - a > 1):
                    continue
                c = cost[line - 1][a] + (w / line_chars) ** 2
                if a > 0:
                    c -= _line_bonus(tokens[a - 1], tokens[a], pause_ms)
                if c < cost[line][b]:
                    cost[line][b], back[line][b] = c, a
    lines: list[str] = []
    b = m
    for line in range(n_lines, 0, -1):
        a = back[line][b]
        lines.append(tokens[a].text + "".join(t.glue + t.text for t in tokens[a + 1 : b]))
        b = a
    return tuple(reversed(lines))


# --- timing --------------------------------------------------------------------------------


def _time_cues(
    spans: Sequence[tuple[int, int]], *, end_of_audio: int, limits: SubtitleLimits
) -> list[tuple[int, int]]:
    """Final ``(start, end)`` ms of each cue: no overlaps, no empty cues, short cues stretched.

    An overlap is resolved by ending the earlier cue where the next starts; only when that
    would leave it empty is the next cue's start pushed (by a millisecond per cue).
    """
    min_ms = min(seconds_to_ms(limits.min_cue_seconds), seconds_to_ms(limits.max_cue_seconds))
    timed: list[tuple[int, int]] = []
    previous_end = 0
    for k, (start, end) in enumerate(spans):
        s = max(start, previous_end)
        e = end if k + 1 == len(spans) else min(end, max(spans[k + 1][0], s + 1))
        e = max(e, s + 1)
        timed.append((s, e))
        previous_end = e
    stretched: list[tuple[int, int]] = []
    for k, (s, e) in enumerate(timed):
        limit = timed[k + 1][0] if k + 1 < len(timed) else max(e, end_of_audio)
        if e - s < min_ms:
            e = max(e, min(s + min_ms, limit))
        stretched.append((s, e))
    return stretched
