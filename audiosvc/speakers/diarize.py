"""Diarize a whole file: segmentation windows, an embedding per local speaker, clustering,
turns. Runs once per file (speaker identity holds across hours), over PCM that may be a
memory map: windows are read as they are needed, and what is kept per window is small (its
activity as uint8 and at most three 256-d embeddings), so a 3-hour file stays in bounded memory.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from audiosvc.speakers import embedding, features, models, segmentation
from audiosvc.speakers.clustering import SpeakerCount, assign, centroids
from audiosvc.speakers.embedding import BlockCache, Embedder, pick_windows, unit
from audiosvc.speakers.segmentation import FRAMES, LOCAL_SPEAKERS, WINDOW, Segmenter
from audiosvc.speakers.turns import Turn, timeline, turns_of

SAMPLE_RATE = segmentation.SAMPLE_RATE


@dataclass(frozen=True)
class DiarizeParams:
    """Tuned on the test conversations (bench/diarization.py): DER and speed per setting."""

    step_seconds: float = 5.0  # windows overlap by half
    threshold: float = 0.4  # cosine distance at which clusters stop merging
    block_share: float = 0.6  # a block speaks for a speaker if they speak alone over this share
    max_blocks: int = 3  # blocks per local speaker and window (those already embedded first)
    min_speech_seconds: float = 0.5  # less speech than this in a window: no embedding
    batch: int = 8  # segmentation windows per model call


@dataclass
class Diarization:
    turns: list[Turn]
    centroids: np.ndarray  # (speakers, 256): the voice of each global speaker
    windows: int = 0
    embeddings: int = 0
    stats: dict[str, float] = field(default_factory=dict)

    @property
    def speakers(self) -> int:
        return len(self.centroids)


def _mel_frames_of(start: int, samples: int) -> tuple[np.ndarray, np.ndarray]:
    """The embedder's 10 ms frames centred inside the window at ``start``, and the
    segmentation frame each one falls in."""
    last = features.frame_count(samples)
    centre = features.N_FFT // 2
    j0 = max(0, -(-(start - centre) // features.HOP))
    j1 = min(last, (start + WINDOW - centre) // features.HOP + 1)
    frames = np.arange(j0, max(j0, j1))
    local = np.rint(
        (frames * features.HOP + centre - start - segmentation.RECEPTIVE_FIELD / 2)
        / segmentation.FRAME_STEP
    ).astype(int)
    return frames, np.clip(local, 0, FRAMES - 1)


def speech_frames(activity: np.ndarray, local: np.ndarray, k: int, minimum: int) -> np.ndarray:
    """Indices (into ``local``) of local speaker ``k``'s speech, alone if there is enough of
    it alone (overlapped speech blurs a voice), else all of it; empty if under ``minimum``."""
    a = activity[local]
    mine = a[:, k].astype(bool)
    alone = mine & (a.sum(1) == 1)
    for chosen in (alone, mine):
        if chosen.sum() >= minimum:
            return np.nonzero(chosen)[0]
    return np.zeros(0, int)


def _embed_windows(
    cache: BlockCache,
    pcm: np.ndarray,
    starts: list[int],
    activity: np.ndarray,
    which: range,
    params: DiarizeParams,
) -> list[tuple[int, int, np.ndarray]]:
    """(window, local speaker, embedding) for each local speaker with enough speech in the
    given windows. A speaker's embedding averages the grid blocks where it speaks alone; one
    with no such block (a short reply) is embedded from its own frames instead."""
    out: list[tuple[int, int, np.ndarray]] = []
    minimum = int(params.min_speech_seconds * 100)
    for w in which:
        frames, local = _mel_frames_of(starts[w], len(pcm))
        if len(frames) < embedding.FRAMES:
            continue
        first = -(-int(frames[0]) // embedding.FRAMES)
        last = (int(frames[-1]) + 1) // embedding.FRAMES  # blocks [first, last) fit inside
        cache.forget_before(first)
        blocks = np.arange(first, max(first, last))
        a = activity[w][local]  # (frames, 3) activity at each mel frame
        alone = a * (a.sum(1, keepdims=True) == 1)
        offsets = (blocks * embedding.FRAMES - int(frames[0]))[:, None] + np.arange(
            embedding.FRAMES
        )
        share = alone[offsets].mean(1) if len(blocks) else np.zeros((0, LOCAL_SPEAKERS))
        for k in range(LOCAL_SPEAKERS):
            mine = _spread(blocks[share[:, k] >= params.block_share], cache, params.max_blocks)
            if len(mine):
                out.append((w, k, unit(cache.get(mine).mean(0))))
                continue
            chosen = speech_frames(activity[w], local, k, minimum)
            if len(chosen):
                vector = cache.embedder.embed(pcm, [pick_windows(frames[chosen], 2)])[0]
                out.append((w, k, vector))
    return out


def _spread(blocks: np.ndarray, cache: BlockCache, most: int) -> np.ndarray:
    """At most ``most`` of ``blocks``: those already embedded (a window shares half its blocks
    with the one before), then others spread evenly over the rest."""
    if len(blocks) <= most:
        return blocks
    known = np.array([int(b) in cache.vectors for b in blocks])
    chosen = list(blocks[known][:most])
    fresh = blocks[~known]
    need = most - len(chosen)
    if need > 0 and len(fresh):
        chosen += list(fresh[np.linspace(0, len(fresh) - 1, need).round().astype(int)])
    return np.unique(np.asarray(chosen))


class Diarizer:
    """The two models, loaded on first use in the process that runs them."""

    def __init__(self, threads: int = 1) -> None:
        self.threads = threads
        self._lock = threading.Lock()
        self._segmenter: Segmenter | None = None
        self._embedder: Embedder | None = None

    def _models(self) -> tuple[Segmenter, Embedder]:
        with self._lock:
            if self._segmenter is None or self._embedder is None:
                self._segmenter = Segmenter(models.session(models.SEGMENTATION, self.threads))
                self._embedder = Embedder(models.session(models.EMBEDDER, self.threads))
            return self._segmenter, self._embedder

    def diarize(
        self,
        pcm: np.ndarray,
        count: SpeakerCount | None = None,
        params: DiarizeParams | None = None,
    ) -> Diarization:
        """Who speaks when in ``pcm`` (16 kHz mono, int16 or float, may be a memmap).

        Two threads: the segmentation model reads the next windows while the embedder works
        on the last ones (onnxruntime releases the GIL; each model runs on one core)."""
        count = count or SpeakerCount()
        params = params or DiarizeParams()
        segmenter, embedder = self._models()
        samples = len(pcm)
        starts = segmentation.window_starts(samples, int(params.step_seconds * SAMPLE_RATE))
        activity = np.zeros((len(starts), FRAMES, LOCAL_SPEAKERS), np.uint8)
        cache = BlockCache(embedder, pcm)
        pending: list[Future[list[tuple[int, int, np.ndarray]]]] = []
        with ThreadPoolExecutor(1, thread_name_prefix="embedder") as embedding_thread:
            for b in range(0, len(starts), params.batch):
                batch = starts[b : b + params.batch]
                activity[b : b + len(batch)] = segmenter(segmentation.windows(pcm, batch))
                pending.append(
                    embedding_thread.submit(
                        _embed_windows,
                        cache,
                        pcm,
                        starts,
                        activity,
                        range(b, b + len(batch)),
                        params,
                    )
                )
            found = [item for f in pending for item in f.result()]
        x = np.stack([v for _, _, v in found]) if found else np.zeros((0, embedding.DIM))
        centres = centroids(x.astype(np.float32), count, params.threshold)
        speaker_of = np.full((len(starts), LOCAL_SPEAKERS), -1, int)
        if found:
            window_of = np.array([w for w, _, _ in found])
            for (w, k, _), s in zip(found, assign(x, window_of, centres), strict=True):
                speaker_of[w, k] = s
        active = timeline(samples, starts, activity, speaker_of, len(centres))
        turns = turns_of(active, samples / SAMPLE_RATE)
        # Global speakers that won no frame (absorbed by others) are dropped and renumbered.
        used = sorted({t.speaker for t in turns})
        renumber = {s: i for i, s in enumerate(used)}
        turns = [Turn(t.start, t.end, renumber[t.speaker]) for t in turns]
        return Diarization(
            turns=turns,
            centroids=centres[used] if used else np.zeros((0, embedding.DIM), np.float32),
            windows=len(starts),
            embeddings=len(x),
            stats={"embedder_windows": float(cache.computed)},
        )

    def voice_of(self, pcm: np.ndarray, max_windows: int = 16) -> np.ndarray:
        """The 256-d voice of a short reference clip of one speaker (its loud frames)."""
        _, embedder = self._models()
        frames = np.arange(features.frame_count(len(pcm)))
        if len(frames) == 0:
            raise ValueError("the clip is shorter than 32 ms")
        mel = features.log_mel(pcm, frames)
        loud = frames[mel.max(1) >= np.percentile(mel.max(1), 30)]
        voice: np.ndarray = embedder.embed(pcm, [pick_windows(loud, max_windows)])[0]
        return voice
