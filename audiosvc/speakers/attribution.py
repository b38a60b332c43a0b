"""A transcript given its speakers. Pure functions.

Each word goes to the speaker whose turns cover most of its span (the nearest turn when none
covers it: diarization missed a quiet word, the transcript did not). A segment is split
where its words change speaker; a segment without word times goes whole to the speaker who
covers most of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby

import numpy as np

from audiosvc.transcript import Segment, Transcript, Word, join_words


@dataclass(frozen=True)
class LabelledTurn:
    start: float
    end: float
    speaker: str


class _Timeline:
    """Turns sorted by start, for overlap and nearest-turn queries."""

    def __init__(self, turns: Sequence[LabelledTurn]) -> None:
        self.turns = sorted(turns, key=lambda t: t.start)
        self.starts = np.array([t.start for t in self.turns])
        ends = np.array([t.end for t in self.turns])
        self.ends = np.maximum.accumulate(ends) if len(ends) else ends
        # latest[i]: of turns[: i + 1], the one that ends last (a short turn inside a long
        # one does not hide the long one's end)
        latest = np.zeros(len(ends), int)
        for i in range(1, len(ends)):
            latest[i] = i if ends[i] >= ends[latest[i - 1]] else latest[i - 1]
        self.latest = latest

    def speaker(self, start: float, end: float) -> str | None:
        if not self.turns:
            return None
        # Turns that can overlap [start, end]: those starting before its end whose running
        # maximum end is past its start.
        hi = int(np.searchsorted(self.starts, end, side="right"))
        lo = int(np.searchsorted(self.ends, start, side="right"))
        overlap: dict[str, float] = {}
        for t in self.turns[lo:hi]:
            shared = min(end, t.end) - max(start, t.start)
            if shared > 0 or (end <= start and t.start <= start <= t.end):
                overlap[t.speaker] = overlap.get(t.speaker, 0.0) + max(shared, 1e-9)
        if overlap:
            return max(overlap, key=lambda k: overlap[k])
        # None covers the span: the nearest of the turn ending last before it and the first
        # turn starting after it.
        middle = (start + end) / 2
        candidates = [self.turns[i] for i in (hi,) if i < len(self.turns)]
        if hi > 0:
            candidates.append(self.turns[self.latest[hi - 1]])
        nearest = min(candidates, key=lambda t: max(t.start - middle, middle - t.end, 0.0))
        return nearest.speaker


def attribute(transcript: Transcript, turns: Sequence[LabelledTurn]) -> Transcript:
    """``transcript`` with a speaker on every word and segment, segments split at changes."""
    timeline = _Timeline(turns)
    segments: list[Segment] = []
    for segment in transcript.segments:
        if not segment.words:
            speaker = timeline.speaker(segment.start, segment.end)
            segments.append(segment.model_copy(update={"speaker": speaker}))
            continue
        words = [
            w.model_copy(update={"speaker": timeline.speaker(w.start, w.end)})
            for w in segment.words
        ]
        runs = [list(run) for _, run in groupby(words, key=lambda w: w.speaker)]
        if len(runs) == 1:
            segments.append(
                segment.model_copy(update={"words": words, "speaker": words[0].speaker})
            )
            continue
        for i, run in enumerate(runs):
            segments.append(_piece(segment, run, transcript.language, i, len(runs)))
    renumbered = [s.model_copy(update={"id": i}) for i, s in enumerate(segments)]
    return transcript.model_copy(update={"segments": renumbered})


def _piece(segment: Segment, run: list[Word], language: str, i: int, n: int) -> Segment:
    """One speaker's part of a segment. Its tokens are dropped: they cannot be divided by
    word."""
    return segment.model_copy(
        update={
            "start": segment.start if i == 0 else run[0].start,
            "end": segment.end if i == n - 1 else run[-1].end,
            "text": " " + join_words([w.word for w in run], language),
            "tokens": [],
            "words": run,
            "speaker": run[0].speaker,
        }
    )
