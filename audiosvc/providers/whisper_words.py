"""Word times for text Whisper already decoded, without changing the text.

With ``word_timestamps=True``, faster-whisper moves each next 30 s window to the end of the
last aligned word instead of the last timestamp token, so the text it decodes is not the
text it decodes without words, and on long inputs it drops whole phrases (measured: 2.84%
against 0.32% WER on the meeting sample; 5.9% against 0% on a 41 s reading). Here the text is
decoded once, without word timestamps, and words are then aligned to exactly the tokens
decoded, by faster-whisper's own cross-attention alignment (``add_word_timestamps``) on the
encoder output of each window, captured while decoding: no second encoder pass, and asking
for words can never change a word of the text.

This module imports faster-whisper (and CTranslate2) at import time: import it only where a
model is about to be loaded, never before a worker forks.
"""

from __future__ import annotations

import dataclasses
import inspect
import threading
from typing import Any

import numpy as np
from faster_whisper import WhisperModel
from faster_whisper.tokenizer import Tokenizer
from faster_whisper.transcribe import Segment, TranscriptionInfo, Word

# How punctuation attaches to the word before or after it: faster-whisper's own defaults.
_DEFAULTS = inspect.signature(WhisperModel.transcribe).parameters
PREPEND_PUNCTUATIONS: str = _DEFAULTS["prepend_punctuations"].default
APPEND_PUNCTUATIONS: str = _DEFAULTS["append_punctuations"].default


class AligningWhisperModel(WhisperModel):  # type: ignore[misc]
    """A ``WhisperModel`` that can hand out the encoder output of the window it decodes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._capture = threading.local()

    def encode(self, features: np.ndarray) -> Any:
        out = super().encode(features)
        if getattr(self._capture, "on", False):
            self._capture.last = out
        return out

    def decode(
        self, audio: np.ndarray, *, words: bool, **options: Any
    ) -> tuple[list[Segment], TranscriptionInfo]:
        """``transcribe(audio, word_timestamps=False, **options)``, consumed; with ``words``,
        each segment also gets the words of its tokens. ``audio``: float32, 16 kHz mono."""
        windows: list[tuple[Any, list[Segment]]] = []  # (encoder output, its segments)
        self._capture.on, self._capture.last = True, None
        try:
            segments, info = self.transcribe(audio, **options, word_timestamps=False)
            # transcribe() is lazy: each window is encoded just before its segments come.
            for segment in segments:
                if windows and windows[-1][1][0].seek == segment.seek:
                    windows[-1][1].append(segment)
                else:
                    windows.append((self._capture.last, [segment]))
        finally:
            self._capture.on, self._capture.last = False, None
        if not words:
            return [s for _, window in windows for s in window], info
        return self._with_words(audio, windows, info, options.get("task", "transcribe")), info

    def _with_words(
        self,
        audio: np.ndarray,
        windows: list[tuple[Any, list[Segment]]],
        info: TranscriptionInfo,
        task: str,
    ) -> list[Segment]:
        tokenizer = Tokenizer(
            self.hf_tokenizer,
            self.model.is_multilingual,
            task=task,
            language=info.language if self.model.is_multilingual else None,
        )
        content_frames = len(audio) // self.feature_extractor.hop_length
        last_speech = 0.0
        out: list[Segment] = []
        for encoded, window in windows:
            seek = window[0].seek
            frames = min(self.feature_extractor.nb_max_frames, content_frames - seek)
            parts = [
                {"seek": seek, "start": s.start, "end": s.end, "tokens": list(s.tokens)}
                for s in window
            ]
            last_speech = self.add_word_timestamps(
                [parts],
                tokenizer,
                encoded,
                frames,
                PREPEND_PUNCTUATIONS,
                APPEND_PUNCTUATIONS,
                last_speech_timestamp=last_speech,
            )
            for segment, part in zip(window, parts, strict=True):
                out.append(
                    dataclasses.replace(
                        segment,
                        start=part["start"],
                        end=part["end"],
                        words=[Word(**w) for w in part.get("words", [])],
                    )
                )
        return out
