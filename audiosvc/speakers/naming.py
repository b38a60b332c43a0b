"""Speaker labels and names. Pure functions.

Without names, speakers are ``A``, ``B``, ``C``, … in order of first appearance (as OpenAI's
``gpt-4o-transcribe-diarize`` labels them), then ``AA``, ``AB``, … past ``Z``. Known speakers
(a name with a short reference clip) are matched to the voices found, one name per voice at
most; a user may rename any label afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from audiosvc.speakers.turns import Turn
from audiosvc.transcript import Transcript

# A reference clip names a voice when their cosine similarity is at least this (same speaker
# measured 0.7-0.9 on the test conversations, different speakers 0.1-0.35).
NAME_SIMILARITY = 0.5


def letter_label(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA, 27 -> AB, ..."""
    out = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        out = chr(ord("A") + rest) + out
    return out


def labels(turns: Sequence[Turn], names: Mapping[int, str] | None = None) -> dict[int, str]:
    """Label of each speaker index: its known name, else the next free letter in order of
    first appearance."""
    names = dict(names or {})
    taken = set(names.values())
    out: dict[int, str] = {}
    letters = (letter_label(i) for i in range(10_000))
    for turn in sorted(turns, key=lambda t: (t.start, t.speaker)):
        if turn.speaker in out:
            continue
        if turn.speaker in names:
            out[turn.speaker] = names[turn.speaker]
            continue
        label = next(letters)
        while label in taken:
            label = next(letters)
        out[turn.speaker] = label
    return out


def match_known(voices: np.ndarray, references: np.ndarray, names: Sequence[str]) -> dict[int, str]:
    """Speaker index -> name, pairing voices (K, D) with reference voices (R, D) for the most
    total similarity; a pair less similar than NAME_SIMILARITY names nobody."""
    if len(voices) == 0 or len(references) == 0:
        return {}
    similarity = voices @ references.T
    rows, cols = linear_sum_assignment(-similarity)
    return {
        int(r): names[c]
        for r, c in zip(rows, cols, strict=True)
        if similarity[r, c] >= NAME_SIMILARITY
    }


def renamed(transcript: Transcript, names: Mapping[str, str]) -> Transcript:
    """The transcript with every speaker label in ``names`` replaced by its name."""
    if not names or not transcript.has_speakers:
        return transcript

    def name(label: str | None) -> str | None:
        return names.get(label, label) if label is not None else None

    segments = [
        s.model_copy(
            update={
                "speaker": name(s.speaker),
                "words": None
                if s.words is None
                else [w.model_copy(update={"speaker": name(w.speaker)}) for w in s.words],
            }
        )
        for s in transcript.segments
    ]
    return transcript.model_copy(update={"segments": segments})
