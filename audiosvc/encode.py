"""Encode int16 mono PCM to the audio formats the speech API returns, with PyAV's bundled FFmpeg.

Pure bytes in, bytes out: no files, no ``ffmpeg`` binary. Three entry points:

* :func:`encode_audio` - a whole clip to one file's bytes;
* :func:`iter_encode_audio` - PCM chunks (one per synthesized sentence) to byte pieces as they
  come, for streaming responses: the concatenation of the pieces is one valid file;
* :func:`encode_video_with_audio` - a tiny synthetic video with the given audio as its first
  audio track (test media for the decoder).

Format decisions, in the order a client would ask about them:

* ``ogg`` is **Opus in Ogg**, the same bytes as ``opus``. Neither Groq's nor OpenAI's client
  names the codec inside ``ogg``; Vorbis would be the traditional choice, but this PyAV build has
  no ``libvorbis``, and FFmpeg's own ``vorbis`` encoder is marked experimental and refuses mono.
  Every Ogg demuxer (browsers, FFmpeg, GStreamer) reads Opus.
* ``opus``/``webm``: libopus, always at 48 kHz: Opus decoders output 48 kHz whatever rate went
  in, so another ``out_rate`` would be a promise the file cannot keep (it is refused).
* ``mulaw`` is **raw G.711 mu-law bytes with no header**, as telephony stacks (Twilio media
  streams, SIP gateways) consume them. Raw bytes cannot say their rate, so it defaults to
  8 kHz, G.711's own rate, rather than to the synthesizer's rate.
* ``pcm`` is raw s16le at the input rate (OpenAI's ``pcm``); ``aac`` is ADTS (OpenAI's ``aac``).
* ``wav`` written in one piece has exact sizes. Streamed, its RIFF and ``data`` sizes are
  ``0xFFFFFFFF`` ("unknown, read to the end"), as OpenAI's streamed WAV; FFmpeg, browsers and
  ``soundfile`` read such files to the end of the data.
* ``m4a`` (``ipod`` muxer, brand ``M4A``) and ``mp4`` carry AAC. In one piece the ``moov`` box
  comes last (FFmpeg's ``faststart`` needs to reopen a real file). Streamed, they are fragmented
  MP4 (``empty_moov``, half-second fragments): the only MP4 that can be written front to back.
* ``mpeg`` and ``mpga`` are MP3 (the names of its MIME type and of Whisper's accepted suffix).
* Timing: files written in one piece start on time, the codec's priming delay marked for
  decoders to drop (MP3's LAME tag, MP4's edit list, Opus pre-skip). Streamed MP3 and MP4, and
  ADTS AAC in any case, have nowhere to mark it: decoders play one codec frame of priming first
  (about 25 to 65 ms). Lossy formats may also end with up to a frame of padding.

Every muxer runs with ``fflags=+bitexact``, so the bytes carry no library version strings and
the same PCM always encodes to the same bytes with the same PyAV build.
"""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Generator, Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Literal, get_args

import av
import numpy as np

from audiosvc.errors import InvalidRequestError

AudioFormat = Literal[
    "flac", "wav", "mp3", "mpeg", "mpga", "ogg", "opus", "webm", "m4a", "mp4", "aac", "mulaw", "pcm"
]
VideoContainer = Literal["mp4", "webm", "mkv", "mov"]

AUDIO_FORMATS: tuple[str, ...] = get_args(AudioFormat)
VIDEO_CONTAINERS: tuple[str, ...] = get_args(VideoContainer)

CONTENT_TYPES: dict[str, str] = {
    "flac": "audio/flac",
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
    "mpeg": "audio/mpeg",
    "mpga": "audio/mpeg",
    "ogg": "audio/ogg",
    "opus": "audio/ogg",
    "webm": "audio/webm",
    "m4a": "audio/mp4",
    "mp4": "audio/mp4",
    "aac": "audio/aac",
    "mulaw": "audio/basic",  # RFC 2046: 8 kHz mu-law; other rates are still headerless mu-law
    "pcm": "audio/pcm",
}

MIN_BITRATE = 8_000
MAX_BITRATE = 256_000
MAX_SAMPLE_RATE = 192_000
_BLOCK = 1 << 16  # samples per frame handed to the resampler: bounds memory for long audio
_OGG_STREAM_PAGE_US = "100000"  # streamed Ogg: a page every 0.1 s instead of every 1 s
_MP4_STREAM_FRAGMENT_US = "500000"


@dataclass(frozen=True)
class _Spec:
    muxer: str  # FFmpeg output format name
    codec: str
    sample_fmt: str
    default_rate: int | None = None  # None: keep the input rate (when the codec allows it)
    default_bitrate: int | None = None  # None: lossless or PCM, ``bitrate`` is ignored
    rates: tuple[int, ...] | None = None  # the rates allowed; None: what the codec takes
    streaming_options: dict[str, str] = field(default_factory=dict)


_MP3 = _Spec("mp3", "libmp3lame", "s16p", default_bitrate=64_000)
_OPUS = _Spec(
    "ogg",
    "libopus",
    "s16",
    default_rate=48_000,
    default_bitrate=32_000,
    rates=(48_000,),
    streaming_options={"page_duration": _OGG_STREAM_PAGE_US},
)
_FRAGMENTED_MP4 = {
    "movflags": "empty_moov+default_base_moof",
    "frag_duration": _MP4_STREAM_FRAGMENT_US,
}

_SPECS: dict[str, _Spec] = {
    "flac": _Spec("flac", "flac", "s16"),
    "wav": _Spec("wav", "pcm_s16le", "s16"),
    "mp3": _MP3,
    "mpeg": _MP3,
    "mpga": _MP3,
    "ogg": _OPUS,
    "opus": _OPUS,
    "webm": _Spec(
        "webm", "libopus", "s16", default_rate=48_000, default_bitrate=32_000, rates=(48_000,)
    ),
    "m4a": _Spec("ipod", "aac", "fltp", default_bitrate=64_000, streaming_options=_FRAGMENTED_MP4),
    "mp4": _Spec("mp4", "aac", "fltp", default_bitrate=64_000, streaming_options=_FRAGMENTED_MP4),
    "aac": _Spec("adts", "aac", "fltp", default_bitrate=64_000),
    "mulaw": _Spec("mulaw", "pcm_mulaw", "s16", default_rate=8_000),
    "pcm": _Spec("s16le", "pcm_s16le", "s16"),
}


def _spec(fmt: str) -> _Spec:
    spec = _SPECS.get(fmt)
    if spec is None:
        raise InvalidRequestError(
            f"unsupported response_format {fmt!r}; valid values: {', '.join(AUDIO_FORMATS)}",
            param="response_format",
        )
    return spec


def _allowed_rates(spec: _Spec) -> list[int] | None:
    if spec.rates is not None:
        return list(spec.rates)
    rates = av.Codec(spec.codec, "w").audio_rates
    return sorted(rates) if rates else None


def output_sample_rate(fmt: str, sample_rate: int, out_rate: int | None = None) -> int:
    """The rate ``fmt`` will be encoded at for input at ``sample_rate`` and a requested
    ``out_rate``. Raises :class:`InvalidRequestError` (``param="sample_rate"``) for a rate the
    format's codec cannot take."""
    spec = _spec(fmt)
    rates = _allowed_rates(spec)
    if out_rate is not None:
        if isinstance(out_rate, bool) or not isinstance(out_rate, int) or out_rate <= 0:
            raise InvalidRequestError(
                f"sample_rate must be a positive integer, not {out_rate!r}", param="sample_rate"
            )
        if out_rate > MAX_SAMPLE_RATE or (rates is not None and out_rate not in rates):
            allowed = ", ".join(map(str, rates)) if rates else f"up to {MAX_SAMPLE_RATE}"
            raise InvalidRequestError(
                f"sample_rate {out_rate} is not possible for {fmt}; valid values: {allowed}",
                param="sample_rate",
            )
        return out_rate
    if spec.default_rate is not None:
        return spec.default_rate
    if rates is not None and sample_rate not in rates:
        # The nearest rate the codec takes that loses nothing, else its highest.
        return next((r for r in rates if r >= sample_rate), rates[-1])
    return sample_rate


def _check_bitrate(spec: _Spec, bitrate: int | None) -> int | None:
    if spec.default_bitrate is None:
        return None  # lossless or PCM: nothing to choose
    if bitrate is None:
        return spec.default_bitrate
    if isinstance(bitrate, bool) or not isinstance(bitrate, int):
        raise InvalidRequestError(f"bitrate must be an integer, not {bitrate!r}", param="bitrate")
    if not MIN_BITRATE <= bitrate <= MAX_BITRATE:
        raise InvalidRequestError(
            f"bitrate must be between {MIN_BITRATE} and {MAX_BITRATE} bits per second",
            param="bitrate",
        )
    return bitrate


def _check_pcm(pcm: np.ndarray, sample_rate: int) -> None:
    if pcm.dtype != np.int16 or pcm.ndim != 1:
        raise ValueError(f"expected 1-D int16 PCM, got {pcm.dtype} with shape {pcm.shape}")
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive integer, not {sample_rate!r}")


class _Sink:
    """A write-only file object. Having no ``seek``, it makes FFmpeg write every muxer in its
    streamable form and flush after every packet; :meth:`drain` hands over what was written."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def drain(self) -> bytes:
        out = b"".join(self._parts)
        self._parts.clear()
        return out


def _audio_stream(
    container: av.container.OutputContainer, codec: str, rate: int, sample_fmt: str
) -> av.audio.stream.AudioStream:
    stream = container.add_stream(codec, rate=rate, layout="mono")
    if not isinstance(stream, av.audio.stream.AudioStream):  # pragma: no cover - codec tables
        raise TypeError(f"{codec} is not an audio codec")
    stream.format = sample_fmt
    return stream


def _video_stream(
    container: av.container.OutputContainer, codec: str, fps: int
) -> av.video.stream.VideoStream:
    stream = container.add_stream(codec, rate=fps)
    if not isinstance(stream, av.video.stream.VideoStream):  # pragma: no cover - codec tables
        raise TypeError(f"{codec} is not a video codec")
    return stream


def _pcm_frame(pcm: np.ndarray, sample_rate: int, pts: int) -> av.AudioFrame:
    """A frame of ``pcm`` starting ``pts`` samples in. Timestamps matter: from them the encoder
    dates its first packet before zero by its priming delay, and the MP4 muxer writes the edit
    list that makes decoders drop the priming, so the audio starts at 0, not a frame late."""
    frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = sample_rate
    frame.pts = pts
    frame.time_base = Fraction(1, sample_rate)
    return frame


class _AudioEncoder:
    """One output container with one mono audio stream, fed int16 PCM in pieces."""

    def __init__(
        self,
        target: io.BytesIO | _Sink,
        spec: _Spec,
        in_rate: int,
        out_rate: int,
        bitrate: int | None,
        *,
        streaming: bool,
    ) -> None:
        options = {"fflags": "+bitexact"}
        if streaming:
            options.update(spec.streaming_options)
        self._container = av.open(target, mode="w", format=spec.muxer, container_options=options)
        try:
            stream = _audio_stream(self._container, spec.codec, out_rate, spec.sample_fmt)
            if bitrate is not None:
                stream.bit_rate = bitrate
            stream.codec_context.flags |= av.codec.context.Flags.bitexact
            self._stream = stream
            self._in_rate = in_rate
            self._samples_in = 0
            self._resampler = av.AudioResampler(
                format=spec.sample_fmt, layout="mono", rate=out_rate
            )
            # Write the header now: an empty clip still makes a valid (empty) file, and a
            # streamed response starts with its header before the first sentence is ready.
            self._container.start_encoding()
        except BaseException:
            self._container.close()
            raise

    def feed(self, pcm: np.ndarray) -> None:
        for start in range(0, len(pcm), _BLOCK):
            block = pcm[start : start + _BLOCK]
            frame = _pcm_frame(block, self._in_rate, self._samples_in)
            self._samples_in += len(block)
            for resampled in self._resampler.resample(frame):
                self._container.mux(self._stream.encode(resampled))

    def finish(self) -> None:
        """Flush the resampler and the encoder and write the trailer."""
        for resampled in self._resampler.resample(None):
            self._container.mux(self._stream.encode(resampled))
        self._container.mux(self._stream.encode(None))
        self._container.close()

    def abort(self) -> None:
        """Close after a failure; the failure, not a second one from closing, is what counts."""
        with contextlib.suppress(Exception):
            self._container.close()


def encode_audio(
    pcm: np.ndarray,
    sample_rate: int,
    fmt: str,
    *,
    out_rate: int | None = None,
    bitrate: int | None = None,
) -> bytes:
    """Encode int16 mono ``pcm`` at ``sample_rate`` as ``fmt`` (one of :data:`AUDIO_FORMATS`).

    ``out_rate`` resamples (see :func:`output_sample_rate` for the default per format);
    ``bitrate`` (bits per second) applies to the lossy formats and is ignored by the others.
    """
    spec = _spec(fmt)
    _check_pcm(pcm, sample_rate)
    rate = output_sample_rate(fmt, sample_rate, out_rate)
    bits = _check_bitrate(spec, bitrate)
    buf = io.BytesIO()
    encoder = _AudioEncoder(buf, spec, sample_rate, rate, bits, streaming=False)
    try:
        encoder.feed(pcm)
        encoder.finish()
    except BaseException:
        encoder.abort()
        raise
    return buf.getvalue()


def iter_encode_audio(
    chunks: Iterable[np.ndarray],
    sample_rate: int,
    fmt: str,
    *,
    out_rate: int | None = None,
    bitrate: int | None = None,
) -> Generator[bytes, None, None]:
    """Encode PCM ``chunks`` as they arrive; yield the bytes ready after each one.

    The concatenated pieces form one file in the streamable variant of ``fmt`` (see the module
    docstring for WAV and MP4). Arguments are checked before this returns, so a bad format
    fails at the call, not at the first ``next()``: a server can still answer with a 400.
    Empty pieces are never yielded. Closing the generator early (a client that hung up)
    closes the encoder.
    """
    spec = _spec(fmt)
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive integer, not {sample_rate!r}")
    rate = output_sample_rate(fmt, sample_rate, out_rate)
    bits = _check_bitrate(spec, bitrate)
    return _stream(chunks, spec, sample_rate, rate, bits)


def _stream(
    chunks: Iterable[np.ndarray], spec: _Spec, in_rate: int, out_rate: int, bitrate: int | None
) -> Generator[bytes, None, None]:
    sink = _Sink()
    encoder = _AudioEncoder(sink, spec, in_rate, out_rate, bitrate, streaming=True)
    try:
        if header := sink.drain():
            yield header
        for pcm in chunks:
            _check_pcm(pcm, in_rate)
            encoder.feed(pcm)
            if data := sink.drain():
                yield data
        encoder.finish()
    except BaseException:
        encoder.abort()  # also when the consumer stops early (GeneratorExit)
        raise
    if tail := sink.drain():
        yield tail


# --- test media ------------------------------------------------------------------------------

_VIDEO_FPS = 5
_VIDEO_SIZE = 64


@dataclass(frozen=True)
class _VideoSpec:
    muxer: str
    video_codec: str
    audio_codec: str
    audio_fmt: str
    audio_rate: int | None  # None: keep the input rate


_VIDEO_SPECS: dict[str, _VideoSpec] = {
    "mp4": _VideoSpec("mp4", "mpeg4", "aac", "fltp", None),
    "mov": _VideoSpec("mov", "mpeg4", "pcm_s16le", "s16", None),  # as cameras record it
    "mkv": _VideoSpec("matroska", "libx264", "aac", "fltp", None),
    "webm": _VideoSpec("webm", "libvpx", "libopus", "s16", 48_000),
}


def encode_video_with_audio(
    pcm: np.ndarray,
    sample_rate: int,
    container: VideoContainer,
    path: str | Path,
    *,
    second_audio: np.ndarray | None = None,
) -> None:
    """Write a tiny video (64x64 solid frames at 5 fps, as long as the audio) to ``path``.

    The stream order is video, ``pcm`` as the first audio track, then ``second_audio`` (same
    rate) as another audio track when given, so a decoder that takes stream 0 or the last audio
    track is caught out. Codecs: mp4 mpeg4+AAC, mov mpeg4+PCM, mkv H.264+AAC, webm VP8+Opus.
    """
    spec = _VIDEO_SPECS.get(container)
    if spec is None:
        raise ValueError(f"container must be one of {', '.join(VIDEO_CONTAINERS)}: {container!r}")
    tracks = [pcm] if second_audio is None else [pcm, second_audio]
    for track in tracks:
        _check_pcm(track, sample_rate)
    audio_rate = spec.audio_rate or sample_rate
    duration = max(len(t) for t in tracks) / sample_rate
    n_frames = max(1, math.ceil(duration * _VIDEO_FPS))

    with av.open(str(path), mode="w", format=spec.muxer) as out:
        video = _video_stream(out, spec.video_codec, _VIDEO_FPS)
        video.width = video.height = _VIDEO_SIZE
        video.pix_fmt = "yuv420p"
        audios = [_audio_stream(out, spec.audio_codec, audio_rate, spec.audio_fmt) for _ in tracks]

        for i in range(n_frames):
            shade = 40 + (i * 7) % 160  # a slow fade, so the encoder has something to code
            image = np.full((_VIDEO_SIZE, _VIDEO_SIZE, 3), shade, dtype=np.uint8)
            picture = av.VideoFrame.from_ndarray(image, format="rgb24")
            picture.pts = i
            picture.time_base = Fraction(1, _VIDEO_FPS)
            out.mux(video.encode(picture))
        out.mux(video.encode(None))

        for stream, track in zip(audios, tracks, strict=True):
            resampler = av.AudioResampler(format=spec.audio_fmt, layout="mono", rate=audio_rate)
            for start in range(0, len(track), _BLOCK):
                frame = _pcm_frame(track[start : start + _BLOCK], sample_rate, start)
                for resampled in resampler.resample(frame):
                    out.mux(stream.encode(resampled))
            for resampled in resampler.resample(None):
                out.mux(stream.encode(resampled))
            out.mux(stream.encode(None))
