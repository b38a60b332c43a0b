"""Decode any common audio or video file to 16 kHz mono PCM with PyAV's bundled FFmpeg.

No ``ffmpeg``/``ffprobe`` binaries are needed. Every failure becomes a one-line
:class:`~audiosvc.errors.MediaError` that names the file and the cause.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from audiosvc.errors import (
    CorruptMediaError,
    EmptyMediaError,
    MediaError,
    UnsupportedMediaError,
)

SAMPLE_RATE = 16_000
# A decode that stops this far short of the container's declared duration is a truncated file.
_TRUNCATION_TOLERANCE = 0.9


@dataclass(frozen=True)
class MediaInfo:
    container: str
    duration: float | None  # seconds, as the container declares it (may be absent)
    audio_codec: str
    sample_rate: int
    channels: int
    has_video: bool


@dataclass(frozen=True)
class DecodedAudio:
    """16 kHz mono int16 PCM. ``duration`` comes from the samples actually decoded."""

    pcm: np.ndarray
    sample_rate: int = SAMPLE_RATE

    @property
    def duration(self) -> float:
        return len(self.pcm) / self.sample_rate


def _check_file(path: Path) -> None:
    if not path.exists():
        raise MediaError(f"{path.name}: no such file", param="file")
    if path.is_dir():
        raise MediaError(f"{path.name}: is a directory, not a media file", param="file")
    if path.stat().st_size == 0:
        raise EmptyMediaError(f"{path.name}: the file is empty", param="file")


def _open(path: Path) -> av.container.InputContainer:
    try:
        return av.open(str(path), mode="r")
    except av.error.InvalidDataError as exc:
        raise UnsupportedMediaError(
            f"{path.name}: not a recognized audio or video file (or damaged beyond reading)",
            param="file",
        ) from exc
    except (av.error.FFmpegError, OSError) as exc:
        # The cause only: str(exc) names the file's full path on this machine.
        reason = exc.strerror or type(exc).__name__
        raise CorruptMediaError(f"{path.name}: cannot be read ({reason})", param="file") from exc


def _audio_stream(path: Path, container: av.container.InputContainer) -> av.audio.AudioStream:
    if not container.streams.audio:
        raise UnsupportedMediaError(f"{path.name}: contains no audio track", param="file")
    return container.streams.audio[0]


def _declared_duration(
    container: av.container.InputContainer, stream: av.audio.AudioStream
) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000
    return None


def _wav_declared_duration(path: Path) -> float | None:
    """Duration a RIFF/WAVE header declares. FFmpeg derives a WAV's duration from the file
    size, which hides truncation; the header's data size does not. ``None`` for streamed WAVs
    (size 0 or 0xFFFFFFFF) and anything unparsable."""
    with path.open("rb") as f:
        head = f.read(4096)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    pos, byte_rate = 12, 0
    while pos + 8 <= len(head):
        kind, size = head[pos : pos + 4], int.from_bytes(head[pos + 4 : pos + 8], "little")
        if kind == b"fmt " and pos + 16 <= len(head):
            byte_rate = int.from_bytes(head[pos + 16 : pos + 20], "little")
        if kind == b"data":
            if size in (0, 0xFFFFFFFF) or byte_rate == 0:
                return None
            return size / byte_rate
        pos += 8 + size + (size & 1)
    return None


@contextlib.contextmanager
def _as(path: Path, name: str | None) -> Iterator[None]:
    """Errors name the file as its user knows it (``name``), not as it is stored here."""
    try:
        yield
    except MediaError as exc:
        if name and exc.message.startswith(f"{path.name}:"):
            exc.message = name + exc.message[len(path.name) :]
            exc.args = (exc.message,)
        raise


def probe(path: str | Path, name: str | None = None) -> MediaInfo:
    """Read the container's headers without decoding (cheap: use it to vet uploads). Errors
    call the file ``name`` when given (the user's name for it)."""
    path = Path(path)
    with _as(path, name):
        return _probe(path)


def _probe(path: Path) -> MediaInfo:
    _check_file(path)
    with _open(path) as container:
        stream = _audio_stream(path, container)
        ctx = stream.codec_context
        return MediaInfo(
            container=container.format.name,
            duration=_declared_duration(container, stream),
            audio_codec=ctx.name,
            sample_rate=ctx.sample_rate or 0,
            channels=ctx.channels or 0,
            has_video=bool(container.streams.video),
        )


class _PcmBuffer:
    """Growable int16 buffer. Preallocated from the declared duration so that a 3-hour file
    is decoded without the transient copies of list-and-concatenate."""

    def __init__(self, expected_samples: int) -> None:
        self._buf = np.empty(max(expected_samples, SAMPLE_RATE), dtype=np.int16)
        self._n = 0

    def extend(self, samples: np.ndarray) -> None:
        need = self._n + len(samples)
        if need > len(self._buf):
            self._buf = np.resize(self._buf, max(need, int(len(self._buf) * 1.25)))
        self._buf[self._n : need] = samples
        self._n = need

    def view(self) -> np.ndarray:
        return self._buf[: self._n]


def decode(path: str | Path, name: str | None = None) -> DecodedAudio:
    """Decode the first audio track of ``path`` to 16 kHz mono int16 PCM. Errors call the
    file ``name`` when given (the user's name for it)."""
    path = Path(path)
    with _as(path, name):
        return _decode(path)


def _decode(path: Path) -> DecodedAudio:
    _check_file(path)
    with _open(path) as container:
        stream = _audio_stream(path, container)
        declared = _declared_duration(container, stream)
        if container.format.name == "wav":
            declared = _wav_declared_duration(path) or declared
        buf = _PcmBuffer(int((declared or 0) * SAMPLE_RATE * 1.02))
        resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    buf.extend(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):
                buf.extend(out.to_ndarray().reshape(-1))
        except av.error.FFmpegError as exc:
            done = buf.view().size / SAMPLE_RATE
            raise CorruptMediaError(
                f"{path.name}: damaged or truncated audio after {done:.1f} s ({exc.strerror})",
                param="file",
            ) from exc
    pcm = buf.view()
    if pcm.size == 0:
        raise EmptyMediaError(f"{path.name}: contains no audio (zero length)", param="file")
    decoded = pcm.size / SAMPLE_RATE
    if declared is not None and declared > 1.0 and decoded < declared * _TRUNCATION_TOLERANCE:
        raise CorruptMediaError(
            f"{path.name}: truncated: decoded {decoded:.1f} s of the {declared:.1f} s "
            "the file declares",
            param="file",
        )
    return DecodedAudio(pcm=pcm)
