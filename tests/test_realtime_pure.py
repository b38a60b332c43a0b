"""The live sessions' pure parts: input formats, the stream resampler, turn detection,
partial-transcript agreement, and session updates."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from audiosvc.realtime.audio import from_engine_rate, samples, to_engine_rate
from audiosvc.realtime.partials import agreed, delta
from audiosvc.realtime.protocol import ProtocolError, Session, updated
from audiosvc.realtime.session import StreamResampler
from audiosvc.realtime.vad import FRAME_MS, TurnDetector

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop  # the standard library's G.711 (audioop-lts on 3.13): the oracle


def test_g711_decodes_as_the_standard_library_does() -> None:
    every = bytes(range(256))
    ulaw = np.frombuffer(audioop.ulaw2lin(every, 2), "<i2")
    alaw = np.frombuffer(audioop.alaw2lin(every, 2), "<i2")
    assert np.array_equal(samples(every, "audio/pcmu"), ulaw)
    assert np.array_equal(samples(every, "audio/pcma"), alaw)


@pytest.mark.parametrize("fmt", ["audio/pcmu", "audio/pcma"])
def test_g711_encoding_picks_the_nearest_code(fmt: str) -> None:
    pcm = (np.sin(np.arange(16000) / 7) * 20000).astype(np.int16)
    back = to_engine_rate(samples(from_engine_rate(pcm, fmt), fmt), 8000)
    inner = slice(200, -200)
    assert np.corrcoef(back[inner], pcm[inner])[0, 1] > 0.999


def test_pcm_must_be_whole_samples() -> None:
    with pytest.raises(ValueError):
        samples(b"\x00\x01\x02", "audio/pcm")
    assert samples(b"\x01\x00\xff\xff", "audio/pcm").tolist() == [1, -1]


@given(st.lists(st.integers(1, 3000), min_size=1, max_size=30), st.sampled_from([24000, 8000]))
def test_the_stream_resampler_is_seamless_however_the_stream_is_cut(
    cuts: list[int], rate: int
) -> None:
    total = sum(cuts)
    pcm = (np.sin(np.arange(total) * 2 * np.pi * 300 / rate) * 10000).astype(np.int16)
    whole = StreamResampler(rate).feed(pcm)
    r = StreamResampler(rate)
    pieces, at = [], 0
    for n in cuts:
        pieces.append(r.feed(pcm[at : at + n]))
        at += n
    joined = np.concatenate(pieces)
    assert len(joined) == len(whole)  # no drift
    assert np.abs(joined.astype(int) - whole.astype(int)).max(initial=0) <= 1
    assert abs(len(whole) - total * 16000 / rate) <= 2


def _moments(probs: list[float], **kw: int) -> list[tuple[str, int]]:
    d = TurnDetector(**kw)  # type: ignore[arg-type]
    return [m for p in probs if (m := d.push(p)) is not None]


def test_a_turn_starts_with_its_padding_and_stops_after_its_silence() -> None:
    speech, silence = [0.9] * 50, [0.05] * 40  # 1.6 s of speech, 1.28 s of silence
    moments = _moments([0.0] * 30 + speech + silence, prefix_padding_ms=300)
    start = 30 * FRAME_MS
    assert moments[0] == ("started", start - 300)
    # stopped once 500 ms of frames stayed quiet: 16 frames (512 ms) after the speech
    assert moments[1] == ("stopped", (30 + 50 + 16) * FRAME_MS)
    assert len(moments) == 2


def test_a_click_is_not_a_turn_and_a_short_pause_does_not_end_one() -> None:
    assert _moments([0.0] * 10 + [0.95] + [0.0] * 30) == []  # one frame: not speech
    probs = [0.9] * 20 + [0.1] * 10 + [0.9] * 20 + [0.0] * 20  # a 320 ms pause inside
    assert [m[0] for m in _moments(probs)] == ["started", "stopped"]
    # hysteresis: frames between the two thresholds keep the turn going
    assert [m[0] for m in _moments([0.9] * 10 + [0.4] * 40)] == ["started"]


def test_partials_send_only_what_two_decodes_agree_on() -> None:
    assert agreed("the quick brown", "The quick brown fox") == "The quick brown"
    assert agreed("the quick brow", "the quick brown fox") == "the quick"
    assert agreed("", "anything") == ""
    assert delta("", "The quick") == "The quick"
    assert delta("The quick", "The quick brown fox") == " brown fox"
    assert delta("The quick", "The quick") == ""
    assert delta("The quick", "A quick brown") == ""  # never contradicts what was sent
    assert delta("Hello", "Hello, there") == " there"  # punctuation is not a new word


def test_a_session_update_changes_only_what_it_names() -> None:
    s = Session(type="transcription")
    s2 = updated(s, {"audio": {"input": {"turn_detection": {"silence_duration_ms": 800}}}})
    assert s2.input.turn_detection is not None
    assert s2.input.turn_detection.silence_duration_ms == 800
    assert s2.input.turn_detection.threshold == 0.5  # kept
    assert s2.input.format == s.input.format
    s3 = updated(s2, {"audio": {"input": {"turn_detection": None}}})
    assert s3.input.turn_detection is None and s3.id == s.id
    for bad, param in [
        ({"audio": {"input": {"format": {"type": "audio/pcm", "rate": 16000}}}},
         "session.audio.input.format.rate"),
        ({"audio": {"input": {"turn_detection": {"threshold": 2}}}},
         "session.audio.input.turn_detection.threshold"),
        ({"type": "realtime"}, "session.type"),
        ("nope", "session"),
    ]:  # fmt: skip
        with pytest.raises(ProtocolError) as err:
            updated(s, bad)
        assert err.value.param == param


def test_a_decoding_loop_is_told_from_speech() -> None:
    from audiosvc.providers.local import repeats

    assert repeats("Great. Thank you all. Great. Thank you all. Great.")
    assert repeats("is there anything else is there anything else")
    assert not repeats("No, I think we are done for today.")
    assert not repeats("very very good")  # one word twice is speech
