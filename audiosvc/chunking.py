"""Plan where to cut long audio into chunks a provider accepts.

Cuts go inside the longest silence near each target (pydub's silence detection on a window
before the target). Only where a window has no usable silence is the cut made hard, and then
the next chunk starts ``overlap`` earlier so the stitcher can resolve the words in between.
Chunks are never shorter than ``min_seconds`` (Groq bills at least 10 s per request) unless
the whole file is, and never larger than the upload limit.

Everything here works in sample offsets of 16 kHz audio, so timestamps never drift.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

with warnings.catch_warnings():
    # pydub warns at import that no ffmpeg binary exists; we never let it call one.
    warnings.simplefilter("ignore", RuntimeWarning)
    from pydub import AudioSegment
    from pydub.silence import detect_silence

from audiosvc.errors import InvalidRequestError
from audiosvc.settings import Settings

SAMPLE_RATE = 16_000
BYTES_PER_SECOND = SAMPLE_RATE * 2  # 16-bit mono PCM
# FLAC never grows beyond raw PCM by more than its frame headers; keep a margin for them.
_FLAC_MARGIN = 0.97
_SEEK_STEP_MS = 10


@dataclass(frozen=True)
class ChunkParams:
    max_seconds: float = 600.0
    min_seconds: float = 10.0
    overlap_seconds: float = 5.0
    search_seconds: float = 60.0
    min_silence_ms: int = 300
    silence_thresh_db: float = -16.0  # relative to the search window's loudness
    max_bytes: int | None = 25 * 1024 * 1024

    @classmethod
    def from_settings(cls, settings: Settings, chunk_seconds: float | None = None) -> ChunkParams:
        if chunk_seconds is None:  # 0 is a length to refuse (validate), not "the default"
            chunk_seconds = settings.resolved_chunk_seconds()
        return cls(
            max_seconds=chunk_seconds,
            min_seconds=settings.min_chunk_seconds,
            overlap_seconds=settings.overlap_seconds,
            search_seconds=settings.silence_search_seconds,
            min_silence_ms=settings.min_silence_ms,
            silence_thresh_db=settings.silence_thresh_db,
            max_bytes=settings.max_chunk_bytes,
        )

    def effective_max_seconds(self) -> float:
        """The chunk length bound, tightened so even incompressible audio fits ``max_bytes``."""
        if self.max_bytes is None:
            return self.max_seconds
        by_size = self.max_bytes * _FLAC_MARGIN / BYTES_PER_SECOND
        return min(self.max_seconds, by_size)

    def validate(self) -> None:
        if not self.max_seconds > 0 or math.isinf(self.max_seconds):
            raise InvalidRequestError(
                "chunk length must be a positive number of seconds", param="chunk_seconds"
            )
        if self.effective_max_seconds() < 2 * self.min_seconds:
            raise InvalidRequestError(
                f"chunk length {self.effective_max_seconds():g} s must be at least twice the "
                f"minimum chunk length ({self.min_seconds:g} s)",
                param="chunk_seconds",
            )
        if not 0 <= self.overlap_seconds < self.min_seconds:
            raise InvalidRequestError(
                "overlap must be non-negative and shorter than the minimum chunk length",
                param="overlap_seconds",
            )


@dataclass(frozen=True)
class ChunkPlan:
    """One chunk: samples ``[start, end)`` of the file. ``overlap`` samples at its start are
    shared with the previous chunk (0 when the cut fell in a silence)."""

    index: int
    start: int
    end: int
    overlap: int = 0

    @property
    def start_seconds(self) -> float:
        return self.start / SAMPLE_RATE

    @property
    def end_seconds(self) -> float:
        return self.end / SAMPLE_RATE

    @property
    def duration(self) -> float:
        return (self.end - self.start) / SAMPLE_RATE

    @property
    def new_seconds(self) -> float:
        """The audio this chunk adds to what the chunks before it cover (its overlap is
        theirs): over a file's plans these add up to exactly the file's duration."""
        return (self.end - self.start - self.overlap) / SAMPLE_RATE


def _segment(pcm: np.ndarray) -> AudioSegment:
    return AudioSegment(data=pcm.tobytes(), sample_width=2, frame_rate=SAMPLE_RATE, channels=1)


def find_silence_cut(window: np.ndarray, params: ChunkParams) -> int | None:
    """Sample offset inside ``window`` to cut at: the middle of its longest silence, the
    latest one on ties (it keeps chunks long). ``None`` when there is no usable silence."""
    seg = _segment(window)
    if len(seg) < params.min_silence_ms:
        return None
    loudness = seg.dBFS
    if math.isinf(loudness):  # the whole window is digital silence
        return len(window) // 2
    silences = detect_silence(
        seg,
        min_silence_len=params.min_silence_ms,
        silence_thresh=loudness + params.silence_thresh_db,
        seek_step=_SEEK_STEP_MS,
    )
    if not silences:
        return None
    start_ms, end_ms = max(silences, key=lambda r: (r[1] - r[0], r[0]))
    middle = (start_ms + end_ms) // 2 * SAMPLE_RATE // 1000
    return int(min(max(middle, 1), len(window) - 1))


def plan_chunks(pcm: np.ndarray, params: ChunkParams) -> list[ChunkPlan]:
    """Split ``pcm`` (16 kHz mono int16) into chunks. Pure: same input, same plan."""
    params.validate()
    n = len(pcm)
    max_len = int(params.effective_max_seconds() * SAMPLE_RATE)
    min_len = int(params.min_seconds * SAMPLE_RATE)
    overlap = int(params.overlap_seconds * SAMPLE_RATE)
    search = max(int(params.search_seconds * SAMPLE_RATE), SAMPLE_RATE)

    chunks: list[ChunkPlan] = []
    pos, shared = 0, 0
    while n - pos > max_len:
        # Leave at least min_len for what follows, so no tiny tail chunk is ever made.
        hi = min(pos + max_len, n - min_len)
        lo = min(max(pos + min_len, hi - search), hi - 1)
        cut = find_silence_cut(pcm[lo:hi], params)
        if cut is not None:
            end = lo + cut
            chunks.append(ChunkPlan(len(chunks), pos, end, shared))
            pos, shared = end, 0
        else:
            chunks.append(ChunkPlan(len(chunks), pos, hi, shared))
            pos, shared = hi - overlap, overlap
    chunks.append(ChunkPlan(len(chunks), pos, n, shared))
    return chunks
