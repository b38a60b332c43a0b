"""Window activity back onto the file's timeline, and speaker turns. Pure functions.

As in pyannote's pipeline: on a grid of segmentation frames over the whole file, the number
of people speaking at each frame is the rounded mean, over the windows that see the frame, of
how many local speakers were active there; that many global speakers (those with the most
activity at the frame) are marked as speaking.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from audiosvc.speakers.segmentation import FRAME_STEP, FRAMES, RECEPTIVE_FIELD, SAMPLE_RATE

# Frame g of the grid is reported from the centre of what the model hears at it, half a step
# either side.
_OFFSET = (RECEPTIVE_FIELD / 2 - FRAME_STEP / 2) / SAMPLE_RATE


@dataclass(frozen=True)
class Turn:
    start: float
    end: float
    speaker: int  # global speaker index; labels are given by :mod:`.naming`


def _edge_weights() -> np.ndarray:
    """A window's say at each of its frames: the model hears least context at the edges,
    so a frame counts most from the windows that see it near their middle (Hann window,
    kept above zero so a file's first and last frames, seen by one window, still count)."""
    return (0.01 + np.hanning(FRAMES)).astype(np.float32)


def grid_size(samples: int) -> int:
    return max(1, -(-samples // FRAME_STEP))


def timeline(
    samples: int,
    starts: list[int],
    activity: np.ndarray,
    speaker_of: np.ndarray,
    speakers: int,
) -> np.ndarray:
    """(G, speakers) bool: who speaks at each grid frame.

    ``activity`` is (W, FRAMES, 3) uint8 per window; ``speaker_of`` (W, 3) the global speaker
    of each local one, -1 where the local speaker is silent or unknown."""
    g_total = grid_size(samples)
    weight = _edge_weights()
    cover = np.zeros(g_total, np.float32)
    count = np.zeros(g_total, np.float32)
    score = np.zeros((g_total, max(speakers, 1)), np.float32)
    for w, start in enumerate(starts):
        g0 = round(start / FRAME_STEP)
        g1 = min(g_total, g0 + FRAMES)
        if g1 <= g0:
            continue
        a = activity[w, : g1 - g0]
        h = weight[: g1 - g0]
        cover[g0:g1] += h
        count[g0:g1] += a.sum(1) * h
        for k in range(a.shape[1]):
            s = speaker_of[w, k]
            if s >= 0:
                score[g0:g1, s] += a[:, k] * h
    cover = np.maximum(cover, 1e-6)
    speaking = np.minimum(np.rint(count / cover).astype(int), speakers)
    out = np.zeros((g_total, speakers), bool)
    if speakers == 0:
        return out
    ranked = np.argsort(-score, axis=1)
    for m in range(1, min(speakers, 3) + 1):
        rows = np.nonzero(speaking >= m)[0]
        out[rows, ranked[rows, m - 1]] = True
    return out & (score > 0)


def turns_of(active: np.ndarray, duration: float) -> list[Turn]:
    """Turns of each speaker from a (G, K) grid, in order of start, clipped to the file."""
    turns: list[Turn] = []
    for k in range(active.shape[1]):
        edges = np.diff(np.concatenate([[0], active[:, k].astype(np.int8), [0]]))
        for on, off in zip(np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0], strict=True):
            start = max(0.0, on * FRAME_STEP / SAMPLE_RATE + _OFFSET)
            end = min(duration, off * FRAME_STEP / SAMPLE_RATE + _OFFSET)
            if end > start:
                turns.append(Turn(round(start, 3), round(end, 3), k))
    turns.sort(key=lambda t: (t.start, t.end, t.speaker))
    return turns
