"""Local speakers (one embedding each per window) to global speakers. Pure functions.

Average-linkage agglomerative clustering on cosine distance, cut at a distance threshold (or
at a given number of clusters); clusters holding under 3% of the embeddings are noise and
join their nearest big cluster. Then each local speaker goes to the most similar global
speaker, with the local speakers of one window kept apart (they are different people by
construction): a Hungarian assignment per window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.optimize import linear_sum_assignment

from audiosvc.speakers.embedding import unit

# Average linkage is quadratic in memory: beyond this many embeddings (about 3 h of speech),
# an even sample is clustered and the rest go to the nearest centroid.
MAX_CLUSTERED = 4000
MIN_SHARE = 0.03


@dataclass(frozen=True)
class SpeakerCount:
    """What the user said about the number of speakers (all optional)."""

    exactly: int | None = None
    at_least: int | None = None
    at_most: int | None = None

    def clamp(self, k: int) -> int:
        if self.exactly is not None:
            return self.exactly
        if self.at_least is not None:
            k = max(k, self.at_least)
        if self.at_most is not None:
            k = min(k, self.at_most)
        return k


def centroids(
    embeddings: np.ndarray,
    count: SpeakerCount,
    threshold: float,
    max_clustered: int = MAX_CLUSTERED,
) -> np.ndarray:
    """(K, D) unit centroids of the global speakers found among ``embeddings`` (N, D)."""
    n = len(embeddings)
    if n == 0:
        return np.zeros((0, embeddings.shape[1] if embeddings.ndim == 2 else 0), np.float32)
    sample = embeddings
    if n > max_clustered:
        sample = embeddings[np.linspace(0, n - 1, max_clustered).round().astype(int)]
    if len(sample) == 1:
        return unit(sample.copy())
    tree = linkage(sample.astype(np.float64), method="average", metric="cosine")
    wanted = count.exactly
    if wanted is None:
        labels = fcluster(tree, threshold, "distance")
        sizes = np.bincount(labels)
        keep = np.nonzero(sizes >= max(2, MIN_SHARE * len(sample)))[0]
        if len(keep) == 0:
            keep = np.array([sizes.argmax()])
        if count.clamp(len(keep)) != len(keep):
            wanted = count.clamp(len(keep))
    if wanted is not None:
        labels = fcluster(tree, max(1, min(wanted, len(sample))), "maxclust")
        keep = np.unique(labels)
    return unit(np.stack([sample[labels == c].mean(0) for c in keep]))


def assign(embeddings: np.ndarray, windows: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Global speaker of each embedding: the most similar centroid, local speakers of one
    window (same value in ``windows``) to different global speakers while there are enough."""
    similarity = embeddings @ centres.T
    out = similarity.argmax(1) if len(centres) else np.zeros(len(embeddings), int)
    if len(centres) < 2:
        return np.asarray(out, dtype=int)
    for w in np.unique(windows):
        rows = np.nonzero(windows == w)[0]
        if len(rows) < 2:
            continue
        r, c = linear_sum_assignment(-similarity[rows])
        out[rows[r]] = c  # rows left over (more local than global speakers) keep argmax
    return np.asarray(out, dtype=int)
