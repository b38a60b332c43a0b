"""Hallucination control (audiosvc.quality): loops are judged on each segment's own text."""

from __future__ import annotations

from audiosvc.quality import Thresholds, compression_ratio, drop_unreliable
from audiosvc.transcript import Segment, Transcript


def _transcript(*texts: str, window_ratio: float = 1.5) -> Transcript:
    segments = [
        Segment(
            id=i, start=2.0 * i, end=2.0 * i + 1.8, text=" " + t, compression_ratio=window_ratio
        )
        for i, t in enumerate(texts)
    ]
    return Transcript(duration=2.0 * len(texts), text=" ".join(texts), segments=segments)


def test_speech_that_repeats_itself_is_kept_though_its_window_compresses_well() -> None:
    """A phone system's prompts, as tiny.en heard a real recording (Asterisk's, which say
    this three times): the 30 s window's ratio was 3.83, every segment was dropped, and 12%
    of the words with them."""
    said = (
        "Users will join the conference.",
        "User will join the conference.",
        "The conference will begin when our glorious leader arrives.",
        "The conference will begin when our glorious leader arrives.",
        "The conference will begin when our glorious leader arrives.",
    )
    kept = drop_unreliable(_transcript(*said, window_ratio=3.83), Thresholds())
    assert [s.text.strip() for s in kept.segments] == list(said)


def test_a_segment_that_loops_is_dropped() -> None:
    loop = "I will send the notes. " * 12
    assert compression_ratio(loop) > 2.4
    said = _transcript("Good morning.", loop, "Thank you.", window_ratio=3.5)
    kept = drop_unreliable(said, Thresholds())
    assert [s.text.strip() for s in kept.segments] == ["Good morning.", "Thank you."]


def test_text_that_compresses_well_in_a_window_that_does_not_is_kept() -> None:
    """A provider's segment whose own ratio says nothing of a loop (the test server's
    "tone1 tone2 ..." compresses well as text) is kept."""
    tones = " ".join(f"tone{i}" for i in range(1, 40))
    assert compression_ratio(tones) > 2.4
    kept = drop_unreliable(_transcript(tones, window_ratio=1.1), Thresholds())
    assert [s.text.strip() for s in kept.segments] == [tones]
