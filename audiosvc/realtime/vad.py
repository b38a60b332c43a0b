"""Where a live speaker's turns start and end: Silero VAD over the stream, one 32 ms frame at
a time, and a small state machine (:class:`TurnDetector`, pure) that turns the frames'
speech probabilities into ``speech_started`` and ``speech_stopped`` moments, as the
Realtime protocol's server VAD defines them (threshold, prefix padding, silence duration)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

FRAME = 512  # samples at 16 kHz: Silero's step, 32 ms
FRAME_MS = 32
_CONTEXT = 64  # samples of the previous frame the model sees before each frame


class SileroStream:
    """The Silero model faster-whisper ships (already loaded by its own VAD filter), fed a
    stream: the model's recurrent state and the last frame's tail are kept between calls,
    so a stream cut anywhere gives the frames' probabilities one call would have given."""

    def __init__(self) -> None:
        from faster_whisper.vad import get_vad_model

        self._session = get_vad_model().session
        self._state = np.zeros((1, 1, 128), np.float32), np.zeros((1, 1, 128), np.float32)
        self._context = np.zeros(_CONTEXT, np.float32)
        self._pending = np.zeros(0, np.float32)

    def feed(self, pcm: np.ndarray) -> list[float]:
        """Speech probabilities of every whole frame completed by ``pcm`` (16 kHz int16)."""
        audio = np.concatenate([self._pending, pcm.astype(np.float32) / 32768.0])
        whole = len(audio) // FRAME * FRAME
        self._pending = audio[whole:]
        out: list[float] = []
        for start in range(0, whole, FRAME):
            frame = audio[start : start + FRAME]
            batch = np.concatenate([self._context, frame])[None, :]
            prob, h, c = self._session.run(
                None, {"input": batch, "h": self._state[0], "c": self._state[1]}
            )
            self._state = h, c
            self._context = frame[-_CONTEXT:]
            out.append(float(np.asarray(prob).reshape(-1)[0]))
        return out


Moment = tuple[Literal["started", "stopped"], int]


@dataclass
class TurnDetector:
    """Speech starts at the first of ``min_speech_frames`` frames at or above ``threshold``;
    it stops once ``silence_duration_ms`` of frames have stayed below ``threshold - 0.15``
    (hysteresis, as Silero's own segmenter does). Times are milliseconds of the stream:
    ``started`` reports the start less ``prefix_padding_ms`` (the audio the turn includes),
    ``stopped`` the moment the silence was long enough, as the protocol's events do."""

    threshold: float = 0.5
    prefix_padding_ms: int = 300
    silence_duration_ms: int = 500
    min_speech_frames: int = 2
    frames: int = 0  # frames seen so far
    speaking: bool = False
    _run: int = 0  # frames in a row at or above the threshold, while not speaking
    _quiet: int = 0  # frames in a row below the lower threshold, while speaking

    def push(self, probability: float) -> Moment | None:
        self.frames += 1
        now = self.frames * FRAME_MS
        if not self.speaking:
            self._run = self._run + 1 if probability >= self.threshold else 0
            if self._run >= self.min_speech_frames:
                self.speaking, self._quiet = True, 0
                start = now - self._run * FRAME_MS
                return ("started", max(0, start - self.prefix_padding_ms))
            return None
        self._quiet = self._quiet + 1 if probability < self.threshold - 0.15 else 0
        if self._quiet * FRAME_MS >= self.silence_duration_ms:
            self.speaking, self._run = False, 0
            return ("stopped", now)
        return None

    @property
    def quiet_frames(self) -> int:
        """Frames in a row below the lower threshold in the turn being spoken (0 if none)."""
        return self._quiet if self.speaking else 0

    def reset(self) -> None:
        """Forget a turn in progress (the buffer was cleared or committed by the client)."""
        self.speaking, self._run, self._quiet = False, 0, 0
