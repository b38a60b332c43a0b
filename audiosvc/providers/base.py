"""The ``SpeechProvider`` protocol every engine implements."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

import numpy as np

from audiosvc.transcript import Task, Transcript

SAMPLE_RATE = 16_000

SpeechFormat = Literal["flac", "mp3", "mulaw", "ogg", "wav"]


@dataclass(frozen=True)
class AudioClip:
    """A piece of audio to send to a provider: 16 kHz mono PCM, and its FLAC encoding when a
    remote provider needs bytes. ``pcm`` is int16."""

    pcm: np.ndarray
    flac: bytes | None = None
    filename: str = "chunk.flac"

    @property
    def duration(self) -> float:
        return len(self.pcm) / SAMPLE_RATE


@dataclass(frozen=True)
class TranscribeOptions:
    task: Task = "transcribe"
    model: str | None = None  # None: the provider's default
    language: str | None = None  # ISO-639-1; None: detect
    prompt: str | None = None
    temperature: float = 0.0
    word_timestamps: bool = True
    # A live turn: the local engine fits Whisper's audio context to the clip instead of its
    # 30 s window (the encoder runs 4-14x faster on a few seconds); other providers ignore it.
    live: bool = False
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SpeechOptions:
    voice: str | None = None
    model: str | None = None
    response_format: SpeechFormat = "wav"
    sample_rate: int | None = None
    speed: float = 1.0


@runtime_checkable
class SpeechProvider(Protocol):
    """Transcribe or translate one clip (at most one chunk long), or speak text.

    ``transcribe`` returns a chunk-local transcript (times from the clip's start) with words
    when ``options.word_timestamps`` is set and the provider can give them.
    """

    name: str

    def transcribe(self, clip: AudioClip, options: TranscribeOptions) -> Transcript:
        """Speech to text in the spoken language (``options.task`` is ignored)."""
        ...

    def translate(self, clip: AudioClip, options: TranscribeOptions) -> Transcript:
        """Speech to English text (``options.task`` is ignored)."""
        ...

    def speak(self, text: str, options: SpeechOptions) -> Iterator[bytes]: ...

    def needs_flac(self) -> bool:
        """Whether clips must carry FLAC bytes (remote providers) or PCM suffices (local)."""
        ...
