"""The diarization engine on the committed conversations (real models, real audio).

Bounds are measured values with margin, as for every test of model output; the measured
value is beside each bound. DER: pyannote.metrics, 0.25 s collar each side, overlaps scored.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from audiosvc.media import decode
from audiosvc.speakers.clustering import SpeakerCount
from audiosvc.speakers.find import find_speakers, shared_diarizer
from tests.measures import der, read_rttm

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
RATE = 16_000


@pytest.fixture(scope="module")
def conversation() -> np.ndarray:
    return decode(SAMPLES / "conversation.flac").pcm


def _turns(pcm: np.ndarray, count: SpeakerCount | None = None) -> list[tuple[float, float, str]]:
    return find_speakers(pcm, count).turns


@pytest.mark.parametrize(
    ("name", "speakers", "bound"),
    [
        ("conversation", 3, 0.10),  # measured 0.060
        ("panel", 4, 0.10),  # measured 0.046
    ],
)
def test_who_spoke_when_in_the_committed_conversations(
    name: str, speakers: int, bound: float
) -> None:
    found = find_speakers(decode(SAMPLES / f"{name}.flac").pcm)
    assert der(read_rttm(SAMPLES / f"{name}.rttm"), found.turns) <= bound
    assert len(found.labels) == speakers
    assert found.labels == [chr(ord("A") + i) for i in range(speakers)]  # first appearance
    first = {label: min(s for s, _, lab in found.turns if lab == label) for label in found.labels}
    assert sorted(first, key=first.__getitem__) == found.labels


def test_a_speaker_keeps_one_label_across_the_file(conversation: np.ndarray) -> None:
    """Four times the conversation (4.8 min): the same three voices come back, and each keeps
    its label: one diarization over the whole file, not per chunk."""
    times = 4
    pcm = np.tile(conversation, times)
    length = len(conversation) / RATE
    reference = [
        (s + k * length, e + k * length, spk)
        for k in range(times)
        for s, e, spk in read_rttm(SAMPLES / "conversation.rttm")
    ]
    found = find_speakers(pcm)
    assert len(found.labels) == 3
    assert der(reference, found.turns) <= 0.10  # measured 0.068


def test_the_number_of_speakers_is_honoured(conversation: np.ndarray) -> None:
    assert len({s for _, _, s in _turns(conversation, SpeakerCount(exactly=2))}) == 2
    assert len({s for _, _, s in _turns(conversation, SpeakerCount(at_most=2))}) <= 2
    assert len({s for _, _, s in _turns(conversation, SpeakerCount(at_least=3))}) >= 3


def test_known_speakers_are_named_by_their_reference_clips(conversation: np.ndarray) -> None:
    """A clip of B and one of C, cut from their first turns: their turns carry the names,
    the third voice the first free letter."""
    reference = read_rttm(SAMPLES / "conversation.rttm")
    clip = {
        spk: conversation[int(s * RATE) : int(e * RATE)]
        for s, e, spk in reversed(reference)  # the first turn of each, last written wins
    }
    found = find_speakers(conversation, known=[("Bea", clip["B"]), ("Cy", clip["C"])])
    assert set(found.labels) == {"A", "Bea", "Cy"}
    renamed = [(s, e, {"A": "A", "B": "Bea", "C": "Cy"}[spk]) for s, e, spk in reference]
    assert der(renamed, found.turns) <= 0.10  # measured 0.060


def test_a_voice_unlike_every_reference_stays_unnamed(conversation: np.ndarray) -> None:
    """A reference of someone absent names nobody: a pure tone is no one's voice."""
    tone = (np.sin(np.arange(3 * RATE) * 2 * np.pi * 440 / RATE) * 8000).astype(np.int16)
    found = find_speakers(conversation, known=[("Nobody", tone)])
    assert "Nobody" not in found.labels
    assert len(found.labels) == 3


@pytest.mark.parametrize("seconds", [0.0, 0.5, 3.0, 12.0])
def test_silence_has_no_speakers(seconds: float) -> None:
    rng = np.random.default_rng(0)
    pcm = rng.normal(0, 3, int(seconds * RATE)).astype(np.int16)  # -80 dBFS noise
    assert find_speakers(pcm).turns == []


def test_a_clip_shorter_than_a_window_is_diarized(conversation: np.ndarray) -> None:
    """Under the 10 s window: padded, not refused; the first speaker is found."""
    reference = read_rttm(SAMPLES / "conversation.rttm")
    start, end, _ = reference[0]
    pcm = conversation[: int((end + 0.3) * RATE)]
    found = find_speakers(pcm)
    assert found.labels == ["A"]
    speech = sum(e - s for s, e, _ in found.turns)
    assert speech == pytest.approx(end - start, abs=0.5)  # measured 4.98 vs 4.94


def test_the_models_load_once_per_process() -> None:
    assert shared_diarizer() is shared_diarizer()
