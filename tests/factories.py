"""Builders of test transcripts."""

from __future__ import annotations

from audiosvc.transcript import Segment, Transcript, Word


def transcript_from_words(
    words: list[Word], *, language: str = "en", duration: float | None = None, per_segment: int = 8
) -> Transcript:
    """A transcript whose segments hold ``per_segment`` consecutive words each; ``duration``
    defaults to one second past the last word."""
    segments = [
        Segment(
            id=k,
            start=words[i].start,
            end=words[min(i + per_segment, len(words)) - 1].end,
            text=" " + " ".join(w.word for w in words[i : i + per_segment]),
            words=words[i : i + per_segment],
        )
        for k, i in enumerate(range(0, len(words), per_segment))
    ]
    end = max((w.end for w in words), default=0.0)
    return Transcript(
        language=language,
        duration=end + 1.0 if duration is None else duration,
        text=" ".join(w.word for w in words),
        segments=segments,
    )
