"""Hallucination control: never emit text for silence, noise or tones.

Whisper invents text for non-speech ("You" for silence, a web address for a 440 Hz tone:
both measured with tiny.en here), often with confidences that pass its own thresholds. So two
gates apply to every provider's output:

* a speech gate: Silero VAD (shipped inside faster-whisper) finds the speech in each chunk; a
  chunk with none is never sent to the provider, and a segment that does not overlap speech is
  dropped;
* Groq's documented signals: a segment is silent when ``no_speech_prob`` is high *and*
  ``avg_logprob`` low, and failed when ``compression_ratio`` is above 2.4 (a repetition loop);
  segments of punctuation alone are dropped too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from audiosvc.settings import Settings
from audiosvc.transcript import Segment, Transcript, join_words

SAMPLE_RATE = 16_000
_HAS_WORD = re.compile(r"\w", re.UNICODE)


@dataclass(frozen=True)
class Thresholds:
    no_speech: float = 0.6
    logprob: float = -1.0
    compression_ratio: float = 2.4
    min_speech_overlap: float = 0.1  # seconds of detected speech a segment must overlap

    @classmethod
    def from_settings(cls, settings: Settings) -> Thresholds:
        return cls(
            settings.no_speech_threshold,
            settings.logprob_threshold,
            settings.compression_ratio_threshold,
        )


Regions = list[tuple[float, float]]


def speech_regions(pcm: np.ndarray) -> Regions:
    """Seconds of ``pcm`` (16 kHz int16) that hold speech, by Silero VAD."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    audio = pcm.astype(np.float32) / 32768.0
    found = get_speech_timestamps(audio, VadOptions(min_silence_duration_ms=300))
    return [(r["start"] / SAMPLE_RATE, r["end"] / SAMPLE_RATE) for r in found]


def _speech_overlap(segment: Segment, regions: Regions) -> float:
    return sum(max(0.0, min(segment.end, e) - max(segment.start, s)) for s, e in regions)


def is_unreliable(segment: Segment, t: Thresholds, regions: Regions | None = None) -> bool:
    if not _HAS_WORD.search(segment.text):
        return True
    silent = segment.no_speech_prob > t.no_speech and segment.avg_logprob < t.logprob
    looped = segment.compression_ratio > t.compression_ratio
    outside = regions is not None and _speech_overlap(segment, regions) < t.min_speech_overlap
    return silent or looped or outside


def drop_unreliable(
    transcript: Transcript, t: Thresholds, regions: Regions | None = None
) -> Transcript:
    """``transcript`` without the segments that are not speech. ``regions`` (chunk-local
    seconds) enables the speech gate."""
    kept = [s for s in transcript.segments if not is_unreliable(s, t, regions)]
    if len(kept) == len(transcript.segments):
        return transcript
    text = join_words([s.text.strip() for s in kept], transcript.language)
    return transcript.model_copy(update={"segments": kept, "text": text})
