"""A small Groq-compatible HTTP server for tests (stdlib ``http.server``, 127.0.0.1 only).

It follows ``/work/shared/reference/groq-openapi-audio.json``: Bearer auth, multipart
``/openai/v1/audio/transcriptions`` and ``/translations`` with the spec's field names and
validation, JSON ``/openai/v1/audio/speech`` answered with chunked audio, ``/openai/v1/models``,
``/openai/v1/chat/completions`` (for spoken replies), and Groq's ``ErrorResponse`` for every
failure.

Transcripts are not canned: the uploaded file is decoded with PyAV to 16 kHz mono PCM and a
``responder`` turns that PCM into segments of timed words. The default
:class:`EnergyResponder` emits one word per non-silent region, named after the region's
length (a 0.5 s tone is heard as ``"tone5"``), so tests can synthesize audio whose transcript
they know. Speech is the reverse: one tone per word of the input text. Chat answers are derived too:
``"You said: "`` and the first nine words of the user's message.

Tests script failures with :meth:`GroqServer.fail_next` (the next requests get them in order)
and inspect :attr:`GroqServer.requests`.
"""

from __future__ import annotations

import base64
import email.message
import io
import json
import threading
import time
import urllib.request
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import av
import numpy as np
import pytest

SAMPLE_RATE = 16_000
API_PREFIX = "/openai/v1"
DEFAULT_API_KEY = "gsk_test_key"
TRANSCRIPTION_MODELS = ("whisper-large-v3", "whisper-large-v3-turbo")
SPEECH_MODELS = ("playai-tts", "playai-tts-arabic", "canopylabs/orpheus-v1-english")
CHAT_MODELS = ("llama-3.1-8b-instant", "openai/gpt-oss-20b")
ORPHEUS_MAX_CHARS = 200  # Orpheus: wav only, about 200 characters a request
RESPONSE_FORMATS = ("json", "text", "verbose_json")
GRANULARITIES = ("word", "segment")
SPEECH_FORMATS = ("flac", "mp3", "mulaw", "ogg", "wav")
SPEECH_RATES = (8000, 16000, 22050, 24000, 32000, 44100, 48000)
SPEECH_CONTENT_TYPES = {
    "flac": "audio/flac",
    "mp3": "audio/mpeg",
    "mulaw": "audio/basic",
    "ogg": "audio/ogg",
    "wav": "audio/wav",
}
# The spec's language enum (ISO-639-1, plus "haw" and "yue").
_LANGUAGE_ENUM = """
en zh de es ru ko fr ja pt tr pl ca nl ar sv it id hi fi vi he uk el ms cs ro da hu ta no th
ur hr bg lt la mi ml cy sk te fa lv bn sr az sl kn et mk br eu is hy ne mn bs kk sq sw gl mr
pa si km sn yo so af oc ka be tg sd gu am yi lo uz fo ht ps tk nn mt sa lb my bo tl mg as tt
haw ln ha ba jv su yue
"""
LANGUAGES = frozenset(_LANGUAGE_ENUM.split())
# Names Groq prints in ``verbose_json.language`` for a few languages; others echo the code.
LANGUAGE_NAMES = {
    "en": "English",
    "fr": "French",
    "de": "German",
    "es": "Spanish",
    "it": "Italian",
    "ja": "Japanese",
    "zh": "Chinese",
    "nl": "Dutch",
}
TRANSCRIPTION_FIELDS = frozenset(
    {"file", "url", "model", "language", "prompt", "response_format", "temperature"}
    | {"timestamp_granularities[]"}
)
TRANSLATION_FIELDS = frozenset({"file", "url", "model", "prompt", "response_format", "temperature"})
SPEECH_FIELDS = frozenset({"model", "input", "voice", "response_format", "sample_rate", "speed"})


# --- audio ------------------------------------------------------------------------------------


def decode_audio(data: bytes) -> np.ndarray:
    """Decode any audio file PyAV reads to 16 kHz mono int16 PCM."""
    with av.open(io.BytesIO(data), mode="r") as container:
        if not container.streams.audio:
            raise ValueError("no audio stream")
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        chunks = [
            out.to_ndarray().reshape(-1)
            for frame in container.decode(stream)
            for out in resampler.resample(frame)
        ]
        chunks += [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)


_CODECS = {
    "wav": ("wav", "pcm_s16le"),
    "flac": ("flac", "flac"),
    "mp3": ("mp3", "libmp3lame"),
    "ogg": ("ogg", "libopus"),
    "mulaw": ("mulaw", "pcm_mulaw"),
}


def encode_audio(pcm: np.ndarray, rate: int = SAMPLE_RATE, fmt: str = "flac") -> bytes:
    """Encode mono int16 ``pcm`` sampled at ``rate`` as ``fmt`` (one of SPEECH_FORMATS)."""
    container_format, codec = _CODECS[fmt]
    buf = io.BytesIO()
    with av.open(buf, mode="w", format=container_format) as out:
        stream = out.add_stream(codec, rate=rate, layout="mono")
        assert isinstance(stream, av.audio.stream.AudioStream)
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(pcm, dtype=np.int16).reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = rate
        frame.pts = 0
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


def encode_flac(pcm: np.ndarray) -> bytes:
    """16 kHz mono int16 PCM -> FLAC bytes (what the service uploads)."""
    return encode_audio(pcm, SAMPLE_RATE, "flac")


def tone(seconds: float, freq: float = 440.0, rate: int = SAMPLE_RATE) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (np.sin(2 * np.pi * freq * t) * 12_000).astype(np.int16)


def silence(seconds: float, rate: int = SAMPLE_RATE) -> np.ndarray:
    return np.zeros(round(seconds * rate), dtype=np.int16)


def pcm_from_plan(plan: list[tuple[str, float]], rate: int = SAMPLE_RATE) -> np.ndarray:
    """``[("tone", 0.5), ("silence", 0.3), ...]`` -> PCM."""
    parts = [tone(s, rate=rate) if kind == "tone" else silence(s, rate) for kind, s in plan]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)


# --- transcription responders -----------------------------------------------------------------


@dataclass(frozen=True)
class HeardWord:
    word: str
    start: float
    end: float


@dataclass
class ReceivedRequest:
    """What the server received, for assertions."""

    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    fields: dict[str, list[str]] = field(default_factory=dict)  # multipart text fields
    file_name: str | None = None
    file_content_type: str | None = None
    file_size: int | None = None
    file_data: bytes | None = field(default=None, repr=False)
    json: Any = None
    body_size: int = 0
    received_at: float = 0.0  # time.monotonic()

    def field(self, name: str) -> str | None:
        values = self.fields.get(name)
        return values[0] if values else None


# (16 kHz int16 PCM, the request) -> segments, each a list of words.
Responder = Callable[[np.ndarray, ReceivedRequest], list[list[HeardWord]]]


@dataclass(frozen=True)
class EnergyResponder:
    """Hears one word per non-silent region: ``tone<N>`` for a region N tenths of a second
    long. Regions split by at least ``segment_gap`` seconds of silence start a new segment."""

    threshold_db: float = -35.0  # dBFS of a 20 ms frame's RMS
    frame_seconds: float = 0.02
    merge_gap: float = 0.1  # shorter gaps do not split a word
    min_word: float = 0.06
    segment_gap: float = 0.8

    def regions(self, pcm: np.ndarray) -> list[tuple[float, float]]:
        frame = round(self.frame_seconds * SAMPLE_RATE)
        n = len(pcm) // frame
        if n == 0:
            return []
        x = pcm[: n * frame].astype(np.float64).reshape(n, frame) / 32768.0
        db = 20 * np.log10(np.sqrt(np.mean(x * x, axis=1)) + 1e-12)
        loud = db > self.threshold_db
        runs: list[list[int]] = []
        for i, is_loud in enumerate(loud):
            if not is_loud:
                continue
            if runs and (i - runs[-1][1]) * self.frame_seconds <= self.merge_gap:
                runs[-1][1] = i + 1
            else:
                runs.append([i, i + 1])
        f = self.frame_seconds
        return [(round(a * f, 3), round(b * f, 3)) for a, b in runs if (b - a) * f >= self.min_word]

    def __call__(self, pcm: np.ndarray, request: ReceivedRequest) -> list[list[HeardWord]]:
        segments: list[list[HeardWord]] = []
        for start, end in self.regions(pcm):
            word = HeardWord(f"tone{round((end - start) * 10)}", start, end)
            if segments and start - segments[-1][-1].end < self.segment_gap:
                segments[-1].append(word)
            else:
                segments.append([word])
        return segments


# --- faults -----------------------------------------------------------------------------------

_ERROR_KINDS = {  # status -> (type, code), as Groq sends them
    400: ("invalid_request_error", "invalid_request"),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("permission_error", "forbidden"),
    404: ("invalid_request_error", "model_not_found"),
    413: ("invalid_request_error", "request_too_large"),
    429: ("tokens", "rate_limit_exceeded"),
    500: ("internal_server_error", "internal_server_error"),
    503: ("service_unavailable", "service_unavailable"),
}


def error_body(status: int, message: str, param: str | None = None) -> dict[str, Any]:
    kind, code = _ERROR_KINDS.get(status, ("api_error", "error"))
    return {"error": {"message": message, "type": kind, "code": code, "param": param}}


@dataclass(frozen=True)
class Fault:
    """A canned answer for one request. ``status=None`` answers normally after ``delay``."""

    status: int | None = None
    message: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering
    body: bytes | None = None  # raw body instead of an ErrorResponse
    content_type: str = "application/json"

    @classmethod
    def error(
        cls,
        status: int,
        message: str | None = None,
        *,
        retry_after: str | float | None = None,
        retry_after_ms: float | None = None,
    ) -> Fault:
        headers: dict[str, str] = {}
        if retry_after is not None:
            headers["retry-after"] = str(retry_after)
        if retry_after_ms is not None:
            headers["retry-after-ms"] = str(retry_after_ms)
        return cls(status=status, message=message or f"simulated error {status}", headers=headers)

    @classmethod
    def slow(cls, delay: float) -> Fault:
        """Answer normally, but only after ``delay`` seconds."""
        return cls(delay=delay)

    @classmethod
    def malformed(cls, body: bytes = b'{"text": "cut off') -> Fault:
        """200 OK with a body the client cannot use."""
        return cls(status=200, body=body)


# --- the server -------------------------------------------------------------------------------


@dataclass
class _Reply:
    status: int
    content_type: str = "application/json"
    body: bytes = b""
    chunks: list[bytes] | None = None  # sent with Transfer-Encoding: chunked
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, data: Any, headers: dict[str, str] | None = None) -> _Reply:
        return cls(status, body=json.dumps(data).encode(), headers=headers or {})

    @classmethod
    def error(cls, status: int, message: str, param: str | None = None) -> _Reply:
        return cls.json(status, error_body(status, message, param))


class _BadRequest(Exception):
    def __init__(self, message: str, param: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.status = status


class GroqServer:
    """The server; use as a context manager or ``start()``/``stop()``."""

    def __init__(
        self,
        api_key: str = DEFAULT_API_KEY,
        *,
        max_file_bytes: int = 25 * 1024 * 1024,
        responder: Responder | None = None,
        duration_as_string: bool = False,
        speech_chunk_bytes: int = 4096,
    ) -> None:
        self.api_key = api_key
        self.max_file_bytes = max_file_bytes
        self.responder: Responder = responder or EnergyResponder()
        self.duration_as_string = duration_as_string
        self.speech_chunk_bytes = speech_chunk_bytes
        self._faults: deque[Fault] = deque()
        self._requests: list[ReceivedRequest] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle

    def start(self) -> GroqServer:
        self._httpd = _HTTPServer(("127.0.0.1", 0), _Handler, self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers sleeping in a delay fault
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> GroqServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """Base URL, as a client's ``base_url``: ``http://127.0.0.1:PORT/openai/v1``."""
        return f"http://127.0.0.1:{self.port}{API_PREFIX}"

    # --- scripting and inspection

    def fail_next(self, *faults: Fault) -> None:
        """The next ``len(faults)`` requests get these faults, in order (to any endpoint,
        before auth and validation; each request is still logged in :attr:`requests`)."""
        with self._lock:
            self._faults.extend(faults)

    @property
    def requests(self) -> list[ReceivedRequest]:
        with self._lock:
            return list(self._requests)

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()
            self._faults.clear()

    # --- request handling (called from handler threads)

    def dispatch(self, method: str, path: str, headers: dict[str, str], body: bytes) -> _Reply:
        received = ReceivedRequest(
            method, path, headers, body_size=len(body), received_at=time.monotonic()
        )
        parse_error: _BadRequest | None = None
        try:
            self._parse_body(received, headers, body)
        except _BadRequest as exc:
            parse_error = exc
        with self._lock:
            self._requests.append(received)
            fault = self._faults.popleft() if self._faults else None

        if fault is not None:
            if fault.delay > 0 and self._stopping.wait(fault.delay):
                return _Reply.error(503, "server shutting down")
            if fault.status is not None:
                if fault.body is not None:
                    return _Reply(fault.status, fault.content_type, fault.body, None, fault.headers)
                reply = _Reply.error(fault.status, fault.message)
                reply.headers.update(fault.headers)
                return reply

        if headers.get("authorization", "") != f"Bearer {self.api_key}":
            return _Reply.error(401, "Invalid API Key")
        try:
            if parse_error is not None:
                raise parse_error
            return self._route(method, path, received, body)
        except _BadRequest as exc:
            return _Reply.error(exc.status, exc.message, exc.param)

    def _parse_body(self, received: ReceivedRequest, headers: dict[str, str], body: bytes) -> None:
        content_type = headers.get("content-type", "")
        if content_type.startswith("multipart/form-data"):
            for name, filename, part_type, data in parse_multipart(body, content_type):
                if filename is not None or name == "file":
                    received.file_data = data
                    received.file_name = filename
                    received.file_content_type = part_type
                    received.file_size = len(data)
                    received.fields.setdefault("file", []).append(filename or "")
                else:
                    received.fields.setdefault(name, []).append(data.decode("utf-8", "replace"))
        elif content_type.startswith("application/json"):
            try:
                received.json = json.loads(body)
            except ValueError as exc:
                raise _BadRequest(f"invalid JSON body: {exc}") from exc

    def _route(self, method: str, path: str, received: ReceivedRequest, body: bytes) -> _Reply:
        routes = {
            f"{API_PREFIX}/audio/transcriptions": ("POST", self._transcriptions),
            f"{API_PREFIX}/audio/translations": ("POST", self._translations),
            f"{API_PREFIX}/audio/speech": ("POST", self._speech),
            f"{API_PREFIX}/models": ("GET", self._models),
            f"{API_PREFIX}/chat/completions": ("POST", self._chat),
        }
        route = routes.get(path.split("?", 1)[0])
        if route is None:
            return _Reply.error(404, f"Unknown request URL: {method} {path}")
        if route[0] != method:
            return _Reply.error(405, f"Method {method} not allowed for {path}")
        return route[1](received)

    def _models(self, received: ReceivedRequest) -> _Reply:
        data = [
            {"id": m, "object": "model", "created": 1_700_000_000, "owned_by": "test"}
            for m in (*TRANSCRIPTION_MODELS, *SPEECH_MODELS, *CHAT_MODELS)
        ]
        return _Reply.json(200, {"object": "list", "data": data})

    def _chat(self, received: ReceivedRequest) -> _Reply:
        body = received.json
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            raise _BadRequest("'messages' : property 'messages' is missing", param="messages")
        if body.get("model") not in CHAT_MODELS:
            raise _BadRequest(
                f"The model `{body.get('model')}` does not exist or you do not have access to it.",
                param="model",
                status=404,
            )
        users = [
            m.get("content")
            for m in body["messages"]
            if isinstance(m, dict) and m.get("role") == "user"
        ]
        if not users or not isinstance(users[-1], str):
            raise _BadRequest("a user message with text content is required", param="messages")
        answer = "You said: " + " ".join(users[-1].split()[:9]).rstrip(".,")
        return _Reply.json(
            200,
            {
                "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": answer},
                    }
                ],
            },
        )

    def _transcriptions(self, received: ReceivedRequest) -> _Reply:
        return self._speech_to_text(received, "transcribe")

    def _translations(self, received: ReceivedRequest) -> _Reply:
        return self._speech_to_text(received, "translate")

    def _speech_to_text(self, received: ReceivedRequest, task: str) -> _Reply:
        if not received.headers.get("content-type", "").startswith("multipart/form-data"):
            raise _BadRequest("request Content-Type must be multipart/form-data")
        allowed = TRANSCRIPTION_FIELDS if task == "transcribe" else TRANSLATION_FIELDS
        for name in received.fields:
            if name not in allowed:
                raise _BadRequest(f"property '{name}' is unsupported", param=name)
        for name, values in received.fields.items():
            if name != "timestamp_granularities[]" and len(values) > 1:
                raise _BadRequest(f"'{name}' given more than once", param=name)
        model = received.field("model")
        if not model:
            raise _BadRequest("'model' : property 'model' is missing", param="model")
        if model not in TRANSCRIPTION_MODELS:
            raise _BadRequest(
                f"The model `{model}` does not exist or you do not have access to it.",
                param="model",
                status=404,
            )
        response_format = received.field("response_format") or "json"
        if response_format not in RESPONSE_FORMATS:
            raise _BadRequest(
                f"response_format must be one of {', '.join(RESPONSE_FORMATS)}",
                param="response_format",
            )
        granularities = received.fields.get("timestamp_granularities[]", [])
        for g in granularities:
            if g not in GRANULARITIES:
                raise _BadRequest(
                    f"timestamp_granularities[] must be word or segment, got {g!r}",
                    param="timestamp_granularities[]",
                )
        if granularities and response_format != "verbose_json":
            raise _BadRequest(
                "response_format must be set verbose_json to use timestamp granularities",
                param="timestamp_granularities[]",
            )
        temperature = 0.0
        if received.field("temperature") is not None:
            try:
                temperature = float(received.field("temperature") or "")
            except ValueError:
                temperature = -1.0
            if not 0.0 <= temperature <= 1.0:
                raise _BadRequest("temperature must be between 0 and 1", param="temperature")
        language = received.field("language")
        if language is not None and language not in LANGUAGES:
            raise _BadRequest(f"invalid language {language!r}", param="language")

        data = received.file_data
        url = received.field("url")
        if (data is None) == (url is None):
            raise _BadRequest("exactly one of 'file' or 'url' must be provided", param="file")
        if url is not None:
            data = fetch_url(url)
        assert data is not None
        if len(data) > self.max_file_bytes:
            raise _BadRequest("Request Entity Too Large", param="file", status=413)
        try:
            pcm = decode_audio(data)
        except (av.error.FFmpegError, ValueError, IndexError) as exc:
            raise _BadRequest(
                "could not process file - is it a valid media file?", param="file"
            ) from exc

        heard = self.responder(pcm, received)
        words = [w for seg in heard for w in seg]
        text = " ".join(w.word for w in words)
        request_id = f"req_{uuid.uuid4().hex[:24]}"
        if response_format == "text":
            return _Reply(200, "text/plain; charset=utf-8", text.encode())
        if response_format == "json":
            return _Reply.json(200, {"text": text, "x_groq": {"id": request_id}})

        duration = round(len(pcm) / SAMPLE_RATE, 3)
        if task == "translate":
            language_name = "English"
        else:
            language_name = LANGUAGE_NAMES.get(language or "en", language or "en")
        result: dict[str, Any] = {
            "task": task,
            "language": language_name,
            "duration": str(duration) if self.duration_as_string else duration,
            "text": " " + text if text else "",
        }
        granular = set(granularities or ["segment"])
        if task == "translate" or "segment" in granular:
            result["segments"] = [
                {
                    "id": i,
                    "seek": 0,
                    "start": seg[0].start,
                    "end": seg[-1].end,
                    "text": " " + " ".join(w.word for w in seg),
                    "tokens": [50_364 + j for j in range(len(seg))],
                    "temperature": temperature,
                    "avg_logprob": -0.25,
                    "compression_ratio": 1.1,
                    "no_speech_prob": 0.01,
                }
                for i, seg in enumerate(heard)
            ]
        if task == "transcribe" and "word" in granular:
            # Whisper-style: each word carries its leading space.
            result["words"] = [
                {"word": " " + w.word, "start": w.start, "end": w.end} for w in words
            ]
        result["x_groq"] = {"id": request_id}
        return _Reply.json(200, result)

    def _speech(self, received: ReceivedRequest) -> _Reply:
        body = received.json
        if not isinstance(body, dict):
            raise _BadRequest("request body must be a JSON object")
        for name in body:
            if name not in SPEECH_FIELDS:
                raise _BadRequest(f"property '{name}' is unsupported", param=name)
        for name in ("model", "input", "voice"):
            if not isinstance(body.get(name), str) or not body[name]:
                raise _BadRequest(f"'{name}' : property '{name}' is missing", param=name)
        if body["model"] not in SPEECH_MODELS:
            raise _BadRequest(
                f"The model `{body['model']}` does not exist or you do not have access to it.",
                param="model",
                status=404,
            )
        fmt = body.get("response_format", "mp3")
        if fmt not in SPEECH_FORMATS:
            raise _BadRequest(f"unsupported response_format {fmt!r}", param="response_format")
        if "orpheus" in body["model"]:
            if fmt != "wav":
                raise _BadRequest("orpheus models only support wav", param="response_format")
            if len(body["input"]) > ORPHEUS_MAX_CHARS:
                raise _BadRequest(
                    f"input must be at most {ORPHEUS_MAX_CHARS} characters", param="input"
                )
        rate = body.get("sample_rate", 48_000)
        if rate not in SPEECH_RATES:
            raise _BadRequest(f"unsupported sample_rate {rate!r}", param="sample_rate")
        speed = body.get("speed", 1.0)
        if not isinstance(speed, int | float) or not 0.5 <= speed <= 5:
            raise _BadRequest("speed must be between 0.5 and 5", param="speed")
        if fmt == "ogg" and rate not in (8000, 16000, 24000, 48000):
            rate = 48_000  # Opus runs at a few fixed rates only
        audio = encode_audio(speech_pcm(body["input"], rate, float(speed)), rate, fmt)
        size = max(1, self.speech_chunk_bytes)
        chunks = [audio[i : i + size] for i in range(0, len(audio), size)]
        return _Reply(200, SPEECH_CONTENT_TYPES[fmt], chunks=chunks)


def speech_pcm(text: str, rate: int, speed: float = 1.0) -> np.ndarray:
    """One tone per word, 0.1 s per letter, 0.2 s of silence between words (all / speed)."""
    parts: list[np.ndarray] = []
    for i, word in enumerate(text.split()):
        if i:
            parts.append(silence(0.2 / speed, rate))
        parts.append(tone(0.1 * len(word) / speed, freq=300 + 50 * (i % 8), rate=rate))
    return np.concatenate(parts) if parts else silence(0.1, rate)


def fetch_url(url: str) -> bytes:
    """The spec's ``url`` field: a ``data:`` URL (base64) or a local http URL."""
    if url.startswith("data:"):
        _, _, payload = url.partition(",")
        try:
            return base64.b64decode(payload + "=" * (-len(payload) % 4), altchars=b"-_")
        except ValueError as exc:
            raise _BadRequest("url is not valid base64", param="url") from exc
    if url.startswith(("http://127.0.0.1", "http://localhost")):
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                return bytes(resp.read())
        except OSError as exc:
            raise _BadRequest(f"could not fetch url: {exc}", param="url") from exc
    raise _BadRequest("url could not be fetched (this test server is offline)", param="url")


def parse_multipart(body: bytes, content_type: str) -> Iterator[tuple[str, str | None, str, bytes]]:
    """Yield ``(name, filename, content type, data)`` for each part of a multipart body."""
    header = email.message.Message()
    header["content-type"] = content_type
    boundary = header.get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise _BadRequest("multipart body without a boundary")
    delimiter = b"--" + boundary.encode("latin-1")
    sections = body.split(delimiter)
    if len(sections) < 3 or not sections[-1].startswith(b"--"):
        raise _BadRequest("truncated multipart body")
    for section in sections[1:-1]:
        if not section.startswith(b"\r\n") or not section.endswith(b"\r\n"):
            raise _BadRequest("malformed multipart body")
        head, sep, data = section[2:-2].partition(b"\r\n\r\n")
        if not sep:
            raise _BadRequest("malformed multipart part headers")
        part = email.message.Message()
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, _, value = line.partition(":")
            part[name.strip()] = value.strip()
        field_name = part.get_param("name", header="content-disposition")
        filename = part.get_param("filename", header="content-disposition")
        if not isinstance(field_name, str):
            raise _BadRequest("multipart part without a name")
        yield (
            field_name,
            filename if isinstance(filename, str) else None,
            part.get_content_type() if part.get("content-type") else "text/plain",
            data,
        )


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], app: GroqServer
    ) -> None:
        self.app = app
        super().__init__(address, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that time out and hang up are part of the tests: stay quiet about them.
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("content-length") or 0))

    def _handle(self) -> None:
        try:
            body = self._read_body()
            headers = {k.lower(): v for k, v in self.headers.items()}
            reply = self.server.app.dispatch(self.command, self.path, headers, body)
            self._send(reply)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True

    def _send(self, reply: _Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.chunks is None:
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
        else:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for chunk in reply.chunks:
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


@pytest.fixture(name="groq_server")
def groq_server_fixture() -> Iterator[GroqServer]:
    """``groq_server``: a running :class:`GroqServer` with the default key and energy
    responder. Import ``groq_server_fixture`` into a test module to use it."""
    with GroqServer() as server:
        yield server
