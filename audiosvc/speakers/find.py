"""The one way speakers are found, for the workers' diarize step and the CLI alike."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from audiosvc.speakers import naming
from audiosvc.speakers.clustering import SpeakerCount
from audiosvc.speakers.diarize import Diarizer
from audiosvc.speakers.result import Speakers

_shared: list[Diarizer] = []


def shared_diarizer() -> Diarizer:
    """One diarizer per process: it keeps its models loaded (made after any fork)."""
    if not _shared:
        _shared.append(Diarizer())
    return _shared[0]


def forget_models() -> None:
    """After fork: the parent's sessions are not this process's."""
    _shared.clear()


def find_speakers(
    pcm: np.ndarray,
    count: SpeakerCount | None = None,
    known: Sequence[tuple[str, np.ndarray]] = (),
) -> Speakers:
    """Who speaks when in ``pcm`` (16 kHz mono), labelled A, B, … in order of first
    appearance, or by the name of the known speaker (name, reference clip PCM) whose voice
    matches."""
    diarizer = shared_diarizer()
    found = diarizer.diarize(pcm, count)
    names: dict[int, str] = {}
    if known:
        voices = np.stack([diarizer.voice_of(clip) for _, clip in known])
        names = naming.match_known(found.centroids, voices, [name for name, _ in known])
    label = naming.labels(found.turns, names)  # in order of first appearance
    return Speakers(
        labels=list(label.values()),
        turns=[(t.start, t.end, label[t.speaker]) for t in found.turns],
    )
