"""pyannote segmentation-3.0 over 10 s windows.

The model reads 10 s of 16 kHz audio and gives, for each of 589 frames (one every 270
samples, 16.9 ms; each sees 991 samples), log-probabilities of seven "powerset" classes:
nobody, one of three local speakers, or two of them at once. Local speaker 1 of one window
need not be local speaker 1 of the next: :mod:`.clustering` links them.
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort

SAMPLE_RATE = 16_000
WINDOW = 10 * SAMPLE_RATE
FRAME_STEP = 270
RECEPTIVE_FIELD = 991
FRAMES = (WINDOW - 721) // FRAME_STEP  # 589
LOCAL_SPEAKERS = 3
# The seven classes, as which local speakers are active: {}, {1}, {2}, {3}, {1,2}, {1,3}, {2,3}.
POWERSET = np.array(
    [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1]], np.uint8
)


def window_starts(samples: int, step: int) -> list[int]:
    """Start samples of the windows over a signal: every ``step``, the last flush with the end
    (so no window but a whole file shorter than 10 s is padded with silence)."""
    last = max(0, samples - WINDOW)
    starts = list(range(0, last + 1, step))
    if starts[-1] < last:
        starts.append(last)
    return starts


def frame_centre(frame: np.ndarray | int) -> np.ndarray:
    """Sample (relative to its window) at the centre of a segmentation frame."""
    return np.asarray(frame) * FRAME_STEP + RECEPTIVE_FIELD / 2


def decode_powerset(log_probs: np.ndarray) -> np.ndarray:
    """(..., 7) class scores -> (..., 3) uint8 activity of each local speaker."""
    activity: np.ndarray = POWERSET[log_probs.argmax(-1)]
    return activity


def windows(pcm: np.ndarray, starts: list[int]) -> np.ndarray:
    """(len(starts), 1, WINDOW) float32 batch; the tail of a short file is zero-padded."""
    batch = np.zeros((len(starts), 1, WINDOW), np.float32)
    for i, s in enumerate(starts):
        piece = np.asarray(pcm[s : s + WINDOW], dtype=np.float32)
        batch[i, 0, : len(piece)] = piece
    if pcm.dtype == np.int16:
        batch *= 1.0 / 32768.0
    return batch


class Segmenter:
    def __init__(self, session: ort.InferenceSession) -> None:
        self.session = session

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        """(B, 1, WINDOW) audio -> (B, FRAMES, 3) uint8 activity."""
        (log_probs,) = self.session.run(None, {"input": batch})
        return decode_powerset(np.asarray(log_probs))
