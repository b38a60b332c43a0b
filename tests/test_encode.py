"""Every output format decodes back (with PyAV) to the audio that went in."""

from __future__ import annotations

import io
import itertools
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import pytest

from audiosvc.encode import (
    AUDIO_FORMATS,
    CONTENT_TYPES,
    VIDEO_CONTAINERS,
    encode_audio,
    encode_video_with_audio,
    iter_encode_audio,
    output_sample_rate,
)
from audiosvc.errors import InvalidRequestError

RATE = 22_050
LEAD = 0.25  # seconds of silence before the tones: where the sound starts tells the timing


def tones(
    seconds: float = 1.5, rate: int = RATE, freqs: tuple[float, ...] = (440, 1000)
) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    x = sum(0.25 * np.sin(2 * np.pi * f * t) for f in freqs)
    x = np.where(t < LEAD, 0.0, x)
    return np.round(np.asarray(x) * 32767).astype(np.int16)


@dataclass(frozen=True)
class Expect:
    container: str  # PyAV's name for the demuxer that must recognize the bytes
    codec: str  # decoder name
    frame: int  # the codec's frame: decoders may return up to two frames of padding more
    magic: bytes | None = None  # what the bytes must start with; None for raw formats


MP4_NAME = "mov,mp4,m4a,3gp,3g2,mj2"
EXPECT = {
    "flac": Expect("flac", "flac", 0, b"fLaC"),
    "wav": Expect("wav", "pcm_s16le", 0, b"RIFF"),
    "mp3": Expect("mp3", "mp3float", 1152, b"ID3"),
    "mpeg": Expect("mp3", "mp3float", 1152, b"ID3"),
    "mpga": Expect("mp3", "mp3float", 1152, b"ID3"),
    "ogg": Expect("ogg", "opus", 960, b"OggS"),
    "opus": Expect("ogg", "opus", 960, b"OggS"),
    "webm": Expect("matroska,webm", "opus", 960, b"\x1a\x45\xdf\xa3"),
    "m4a": Expect(MP4_NAME, "aac", 1024),
    "mp4": Expect(MP4_NAME, "aac", 1024),
    "aac": Expect("aac", "aac", 1024, b"\xff\xf1"),
    "mulaw": Expect("mulaw", "pcm_mulaw", 0),
    "pcm": Expect("s16le", "pcm_s16le", 0),
}
# Formats whose decoders drop the encoder's priming, so the audio starts exactly in time.
ON_TIME = {
    "flac",
    "wav",
    "mp3",
    "mpeg",
    "mpga",
    "ogg",
    "opus",
    "webm",
    "m4a",
    "mp4",
    "mulaw",
    "pcm",
}


@dataclass(frozen=True)
class Decoded:
    container: str
    codec: str
    rate: int
    pcm: np.ndarray  # float in [-1, 1]

    @property
    def seconds(self) -> float:
        return len(self.pcm) / self.rate


def decode_bytes(data: bytes, fmt: str, rate: int | None = None) -> Decoded:
    """Decode with PyAV alone. Raw formats need their rate told (they have no header)."""
    raw = {"mulaw": "mulaw", "pcm": "s16le"}
    if fmt in raw:
        assert rate is not None
        container = av.open(
            io.BytesIO(data),
            mode="r",
            format=raw[fmt],
            options={"sample_rate": str(rate), "ch_layout": "mono"},
        )
    else:
        container = av.open(io.BytesIO(data), mode="r")
    with container:
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono")
        parts = [
            f.to_ndarray().reshape(-1)
            for fr in container.decode(stream)
            for f in resampler.resample(fr)
        ]
        parts += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
        return Decoded(
            container.format.name,
            stream.codec_context.name,
            stream.codec_context.sample_rate,
            np.concatenate(parts) if parts else np.zeros(0, np.float32),
        )


def peak_freqs(x: np.ndarray, rate: int, n: int = 2) -> list[float]:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    freqs = np.fft.rfftfreq(len(x), 1 / rate)
    peaks: list[float] = []
    for i in np.argsort(spectrum)[::-1]:
        if all(abs(freqs[i] - p) > 50 for p in peaks):
            peaks.append(float(freqs[i]))
        if len(peaks) == n:
            break
    return sorted(peaks)


def onset(x: np.ndarray, rate: int) -> float:
    """When the sound starts: the first sample above a tenth of the peak, in seconds."""
    loud = np.flatnonzero(np.abs(x) > 0.1 * np.abs(x).max())
    return float(loud[0]) / rate


def check_roundtrip(
    data: bytes, fmt: str, pcm: np.ndarray, *, out_rate: int | None = None
) -> Decoded:
    exp = EXPECT[fmt]
    rate = output_sample_rate(fmt, RATE, out_rate)
    if exp.magic is not None:
        assert data.startswith(exp.magic)
    dec = decode_bytes(data, fmt, rate)
    assert (dec.container, dec.codec, dec.rate) == (exp.container, exp.codec, rate)
    expected = len(pcm) * rate // RATE
    assert expected <= len(dec.pcm) <= expected + 2 * exp.frame + 2
    assert peak_freqs(dec.pcm, rate) == pytest.approx([440, 1000], abs=8)
    return dec


@pytest.mark.parametrize("fmt", AUDIO_FORMATS)
def test_every_format_round_trips(fmt: str) -> None:
    pcm = tones()
    data = encode_audio(pcm, RATE, fmt)
    dec = check_roundtrip(data, fmt, pcm)
    if fmt in ON_TIME:
        assert onset(dec.pcm, dec.rate) == pytest.approx(LEAD, abs=0.003)
    assert fmt in CONTENT_TYPES


@pytest.mark.parametrize("fmt", ["flac", "wav", "pcm"])
def test_lossless_formats_are_exact(fmt: str) -> None:
    pcm = tones(0.5)
    dec = decode_bytes(encode_audio(pcm, RATE, fmt), fmt, RATE)
    assert np.array_equal(np.round(dec.pcm * 32768).astype(np.int16), pcm)


def test_mp4_flavours_are_told_apart() -> None:
    pcm = tones(0.3)
    assert encode_audio(pcm, RATE, "m4a")[4:12] == b"ftypM4A "
    assert encode_audio(pcm, RATE, "mp4")[4:12] == b"ftypisom"


def test_mulaw_is_headerless_g711_at_8khz() -> None:
    pcm = tones(1.0)
    data = encode_audio(pcm, RATE, "mulaw")
    assert len(data) == 8000  # one byte a sample, nothing else
    assert output_sample_rate("mulaw", RATE) == 8000
    assert len(encode_audio(pcm, RATE, "mulaw", out_rate=16_000)) == 16_000


@pytest.mark.parametrize(
    ("fmt", "out_rate"),
    [
        ("wav", 16_000),
        ("flac", 8_000),
        ("mp3", 16_000),
        ("m4a", 16_000),
        ("webm", 48_000),
        ("mulaw", 16_000),
    ],
)
def test_resamples_to_the_requested_rate(fmt: str, out_rate: int) -> None:
    pcm = tones()
    check_roundtrip(encode_audio(pcm, RATE, fmt, out_rate=out_rate), fmt, pcm, out_rate=out_rate)


def test_bitrate_changes_the_size() -> None:
    pcm = tones(3.0)
    small = encode_audio(pcm, RATE, "mp3", bitrate=32_000)
    large = encode_audio(pcm, RATE, "mp3", bitrate=128_000)
    assert len(large) > 2.5 * len(small)
    assert encode_audio(pcm, RATE, "flac", bitrate=32_000) == encode_audio(pcm, RATE, "flac")


@pytest.mark.parametrize("fmt", ["m4a", "mp3", "opus", "wav"])
def test_encoding_is_deterministic(fmt: str) -> None:
    pcm = tones()
    assert encode_audio(pcm, RATE, fmt) == encode_audio(pcm.copy(), RATE, fmt)


@pytest.mark.parametrize("fmt", ["flac", "wav"])
def test_empty_audio_makes_a_valid_empty_file(fmt: str) -> None:
    data = encode_audio(np.zeros(0, np.int16), RATE, fmt)
    assert decode_bytes(data, fmt).pcm.size == 0


# --- streaming -------------------------------------------------------------------------------


def pieces_of(pcm: np.ndarray, sizes: list[int]) -> list[np.ndarray]:
    bounds = np.cumsum([0, *sizes])
    return [pcm[a:b] for a, b in itertools.pairwise(bounds)] + [pcm[bounds[-1] :]]


@pytest.mark.parametrize("fmt", AUDIO_FORMATS)
def test_streamed_bytes_concatenate_to_one_decodable_file(fmt: str) -> None:
    pcm = tones(2.0)
    chunks = pieces_of(pcm, [7_000, 0, 15_000, 1])  # uneven, with an empty and a tiny chunk
    data = b"".join(iter_encode_audio(chunks, RATE, fmt))
    check_roundtrip(data, fmt, pcm)


@pytest.mark.parametrize("fmt", AUDIO_FORMATS)
def test_streaming_yields_while_chunks_still_arrive(fmt: str) -> None:
    """Bytes come out after each second of audio, not all at the end."""
    consumed: list[int] = []

    def source() -> Iterator[np.ndarray]:
        for i in range(5):
            consumed.append(i)
            yield tones(1.0)

    seen_at = [len(consumed) for piece in iter_encode_audio(source(), RATE, fmt) if piece]
    # audio bytes (not just the header) were ready before the last chunk was even produced
    assert sum(1 for n in seen_at if 1 <= n < 5) >= 3, seen_at


def test_streamed_wav_declares_unknown_sizes() -> None:
    data = b"".join(iter_encode_audio([tones(0.5)], RATE, "wav"))
    assert struct.unpack("<I", data[4:8])[0] == 0xFFFFFFFF
    data_tag = data.index(b"data")
    assert struct.unpack("<I", data[data_tag + 4 : data_tag + 8])[0] == 0xFFFFFFFF
    whole = encode_audio(tones(0.5), RATE, "wav")
    assert struct.unpack("<I", whole[40:44])[0] == len(tones(0.5)) * 2  # in one piece: exact


def test_stream_stopped_early_closes_cleanly() -> None:
    stream = iter_encode_audio(iter([tones(1.0)] * 3), RATE, "mp3")
    assert next(stream)
    stream.close()  # must not raise, nor leak an open container


# --- errors ----------------------------------------------------------------------------------


def test_unknown_format_names_the_valid_ones() -> None:
    with pytest.raises(InvalidRequestError) as err:
        encode_audio(tones(0.1), RATE, "aiff")
    assert err.value.param == "response_format"
    assert all(fmt in err.value.message for fmt in AUDIO_FORMATS)


def test_stream_checks_arguments_before_the_first_chunk() -> None:
    def never() -> Iterator[np.ndarray]:
        raise AssertionError("must not be consumed")
        yield np.zeros(0, np.int16)  # pragma: no cover

    with pytest.raises(InvalidRequestError) as err:
        iter_encode_audio(never(), RATE, "aiff")  # no next(): it fails at the call
    assert err.value.param == "response_format"
    with pytest.raises(InvalidRequestError) as err:
        iter_encode_audio(never(), RATE, "mp3", out_rate=12_345)
    assert err.value.param == "sample_rate"


@pytest.mark.parametrize(
    ("fmt", "rate"), [("mp3", 12_345), ("opus", 24_000), ("m4a", 0), ("wav", 10**6)]
)
def test_impossible_sample_rates(fmt: str, rate: int) -> None:
    with pytest.raises(InvalidRequestError) as err:
        encode_audio(tones(0.1), RATE, fmt, out_rate=rate)
    assert err.value.param == "sample_rate"


@pytest.mark.parametrize("bitrate", [1_000, 10**7])
def test_impossible_bitrates(bitrate: int) -> None:
    with pytest.raises(InvalidRequestError) as err:
        encode_audio(tones(0.1), RATE, "mp3", bitrate=bitrate)
    assert err.value.param == "bitrate"


def test_pcm_must_be_int16_mono() -> None:
    with pytest.raises(ValueError, match="int16"):
        encode_audio(np.zeros(10, np.float32), RATE, "wav")
    with pytest.raises(ValueError, match="int16"):
        encode_audio(np.zeros((10, 2), np.int16), RATE, "wav")


# --- video -----------------------------------------------------------------------------------


@pytest.mark.parametrize("container", VIDEO_CONTAINERS)
def test_video_carries_the_audio_as_its_first_audio_track(container: str, tmp_path: Path) -> None:
    speech = tones(1.2, freqs=(440,))
    other = tones(1.2, freqs=(1500,))
    path = tmp_path / f"clip.{container}"
    encode_video_with_audio(speech, RATE, container, path, second_audio=other)  # type: ignore[arg-type]

    with av.open(str(path)) as media:
        assert media.streams[0].type == "video"
        assert [s.type for s in media.streams] == ["video", "audio", "audio"]
        frames = sum(1 for _ in media.decode(video=0))
        assert frames == 6  # 1.2 s at 5 fps
    for index, freq in [(0, 440), (1, 1500)]:
        with av.open(str(path)) as media:
            stream = media.streams.audio[index]
            resampler = av.AudioResampler(format="flt", layout="mono")
            pcm = np.concatenate(
                [
                    f.to_ndarray().reshape(-1)
                    for fr in media.decode(stream)
                    for f in resampler.resample(fr)
                ]
            )
            rate = stream.codec_context.sample_rate
        assert peak_freqs(pcm, rate, 1) == pytest.approx([freq], abs=8)
        assert len(pcm) / rate == pytest.approx(1.2, abs=0.1)


def test_video_without_a_second_track(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    encode_video_with_audio(tones(0.6), RATE, "mp4", path)
    with av.open(str(path)) as media:
        assert [s.type for s in media.streams] == ["video", "audio"]


def test_unknown_video_container(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="container"):
        encode_video_with_audio(tones(0.1), RATE, "avi", tmp_path / "x.avi")  # type: ignore[arg-type]
