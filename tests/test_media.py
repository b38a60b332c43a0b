"""Decoding every format the spec lists, the first audio track of videos, and bad media."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from audiosvc.encode import encode_audio, encode_video_with_audio
from audiosvc.errors import CorruptMediaError, EmptyMediaError, MediaError, UnsupportedMediaError
from audiosvc.media import SAMPLE_RATE, DecodedAudio, decode, probe

AUDIO_FORMATS = ["flac", "mp3", "mp4", "mpeg", "mpga", "m4a", "ogg", "opus", "wav", "webm"]


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))


@pytest.mark.parametrize("fmt", AUDIO_FORMATS)
def test_every_listed_format_decodes_to_16k_mono(
    fmt: str, short_audio: DecodedAudio, tmp_path: Path
) -> None:
    path = tmp_path / f"clip.{fmt}"
    path.write_bytes(encode_audio(short_audio.pcm, SAMPLE_RATE, fmt))
    got = decode(path)
    assert got.pcm.dtype == np.int16 and got.sample_rate == SAMPLE_RATE
    # Lossy codecs pad a few frames; the duration stays within 0.1 s.
    assert abs(got.duration - short_audio.duration) < 0.1
    assert _rms(got.pcm) == pytest.approx(_rms(short_audio.pcm), rel=0.2)


def test_lossless_decode_keeps_exact_sample_offsets(tmp_path: Path) -> None:
    """Clicks at known samples come back at exactly those samples: no timestamp drift."""
    pcm = np.zeros(SAMPLE_RATE * 30, dtype=np.int16)
    clicks = [1, 16_000, 123_457, 479_999]
    pcm[clicks] = 20_000
    path = tmp_path / "clicks.flac"
    path.write_bytes(encode_audio(pcm, SAMPLE_RATE, "flac"))
    got = decode(path)
    assert len(got.pcm) == len(pcm)
    assert list(np.flatnonzero(got.pcm)) == clicks


def test_resampling_keeps_time(short_audio: DecodedAudio, tmp_path: Path) -> None:
    """A 44.1 kHz stereo-rate file lands on the same 16 kHz timeline."""
    path = tmp_path / "hi.wav"
    path.write_bytes(encode_audio(short_audio.pcm, SAMPLE_RATE, "wav", out_rate=44_100))
    assert probe(path).sample_rate == 44_100
    assert abs(decode(path).duration - short_audio.duration) < 0.01


@pytest.mark.parametrize("container", ["mp4", "mkv", "webm", "mov"])
def test_video_decodes_its_first_audio_track(
    container: str, short_audio: DecodedAudio, tmp_path: Path
) -> None:
    path = tmp_path / f"video.{container}"
    quiet = np.zeros_like(short_audio.pcm)
    encode_video_with_audio(short_audio.pcm, SAMPLE_RATE, container, path, second_audio=quiet)
    info = probe(path)
    assert info.has_video
    got = decode(path)
    assert abs(got.duration - short_audio.duration) < 0.25
    assert _rms(got.pcm) > 0.5 * _rms(short_audio.pcm)  # the speech, not the silent track


def test_not_media_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp3"
    path.write_text("these are meeting notes, not audio\n" * 20)
    with pytest.raises(UnsupportedMediaError, match=r"^notes\.mp3: not a recognized"):
        decode(path)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(EmptyMediaError, match=r"^empty\.wav: the file is empty"):
        decode(path)


def test_zero_length_audio(tmp_path: Path) -> None:
    path = tmp_path / "zero.wav"
    path.write_bytes(encode_audio(np.zeros(0, dtype=np.int16), SAMPLE_RATE, "wav"))
    with pytest.raises(EmptyMediaError, match="zero length"):
        decode(path)


@pytest.mark.parametrize("fmt", ["flac", "wav", "m4a", "mp3"])
def test_truncated_file_is_a_clear_error(
    fmt: str, meeting_audio: DecodedAudio, tmp_path: Path
) -> None:
    data = encode_audio(meeting_audio.pcm[: SAMPLE_RATE * 60], SAMPLE_RATE, fmt)
    path = tmp_path / f"cut.{fmt}"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(MediaError, match=r"^cut\.\w+: ") as err:
        decode(path)
    assert isinstance(err.value, CorruptMediaError | UnsupportedMediaError)


def test_video_without_audio(short_audio: DecodedAudio, tmp_path: Path) -> None:
    import av

    path = tmp_path / "silent-film.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=5)
        stream.width = stream.height = 64
        stream.pix_fmt = "yuv420p"
        for _ in range(5):
            frame = av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8), format="rgb24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    with pytest.raises(UnsupportedMediaError, match="no audio track"):
        decode(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="no such file"):
        decode(tmp_path / "nope.ogg")
