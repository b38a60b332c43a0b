"""Transcript data model: words, segments and the whole-file transcript.

Field names follow Groq's ``verbose_json`` (``TranscriptionSegment``, ``TranscriptionWord``).
Internally each segment keeps its own words, so stitching can cut a segment at a word; the
top-level ``words`` list of ``verbose_json`` is derived from them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Task = Literal["transcribe", "translate"]

# Languages written without spaces between words: words are joined with "" there.
NO_SPACE_LANGUAGES = frozenset({"zh", "ja", "th", "lo", "my", "yue", "bo", "km"})


class Word(BaseModel):
    model_config = ConfigDict(frozen=True)

    word: str
    start: float
    end: float
    speaker: str | None = None  # set by diarization

    def shifted(self, offset: float) -> Word:
        return self.model_copy(update={"start": self.start + offset, "end": self.end + offset})


class Segment(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int = 0
    seek: int = 0
    start: float
    end: float
    text: str
    tokens: list[int] = Field(default_factory=list)
    temperature: float = 0.0
    avg_logprob: float = 0.0
    compression_ratio: float = 0.0
    no_speech_prob: float = 0.0
    # Internal: the words of this segment, when the provider gave word timestamps.
    words: list[Word] | None = None
    speaker: str | None = None  # set by diarization; a segment has one speaker

    def shifted(self, offset: float) -> Segment:
        words = None if self.words is None else [w.shifted(offset) for w in self.words]
        return self.model_copy(
            update={"start": self.start + offset, "end": self.end + offset, "words": words}
        )


class Transcript(BaseModel):
    """A transcript of one piece of audio (a chunk, or a whole file after stitching).

    ``language`` is the ISO-639-1 code; renderers turn it into the name Groq and OpenAI print.
    """

    task: Task = "transcribe"
    language: str = "en"
    duration: float
    text: str
    segments: list[Segment] = Field(default_factory=list)

    @property
    def has_words(self) -> bool:
        return bool(self.segments) and all(s.words is not None for s in self.segments)

    @property
    def words(self) -> list[Word]:
        return [w for s in self.segments for w in (s.words or [])]

    @property
    def has_speakers(self) -> bool:
        return any(s.speaker is not None for s in self.segments)

    def to_verbose_json(
        self, *, segments: bool = True, words: bool = True, language_name: str | None = None
    ) -> dict[str, Any]:
        """Groq's ``verbose_json`` body. ``duration`` is a number, as Groq and OpenAI send it
        (the reference spec types it as a string; clients parse numbers)."""
        body: dict[str, Any] = {
            "task": self.task,
            "language": language_name or self.language,
            "duration": round(self.duration, 3),
            "text": self.text,
        }
        # ``speaker`` appears only in a diarized transcript: Groq's schema has no such field.
        if segments:
            body["segments"] = [
                s.model_dump(exclude={"words"} if s.speaker else {"words", "speaker"})
                for s in self.segments
            ]
        if words and self.has_words:
            body["words"] = [
                w.model_dump(exclude=None if w.speaker else {"speaker"}) for w in self.words
            ]
        return body


def output_language(task: Task, language: str | None) -> str | None:
    """The language of a result: a translation is always English; a transcript is in the
    language asked for (or, for ``None``, the one detected)."""
    return "en" if task == "translate" else language


def join_words(words: list[str], language: str) -> str:
    """Join word tokens (stored without surrounding spaces) into display text."""
    sep = "" if language in NO_SPACE_LANGUAGES else " "
    return sep.join(w for w in words if w)


def segment_text(segments: list[Segment]) -> str:
    return " ".join(s.text.strip() for s in segments if s.text.strip())
