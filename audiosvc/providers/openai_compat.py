"""Speech provider for OpenAI-compatible HTTP APIs: Groq (the default) and OpenAI.

One :class:`OpenAICompatProvider` owns one ``httpx.Client`` (thread-safe, pooled), so the
chunks of a long recording can be sent from several threads through it. Every attempt first
takes a slot from the shared :class:`~audiosvc.ratelimit.RateLimiter`; transient failures
(those :mod:`audiosvc.retry` names, and one unusable 2xx body) are retried under its policy;
other 4xx fail at once with the provider's own message.
"""

from __future__ import annotations

import io
import json
import math
import time
import warnings
from bisect import bisect_right
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any, TypeVar

import httpx
import numpy as np
from pydantic import ValidationError

with warnings.catch_warnings():  # pydub warns that no ffmpeg exists; wav needs none
    warnings.simplefilter("ignore", RuntimeWarning)
    from pydub import AudioSegment

from audiosvc import metrics, retry
from audiosvc.errors import (
    ProviderAuthError,
    ProviderBadRequest,
    ProviderError,
    ProviderRateLimited,
    ProviderRequestTooLarge,
    ProviderResponseError,
    ProviderUnavailable,
)
from audiosvc.languages import language_code
from audiosvc.providers.base import AudioClip, SpeechOptions, TranscribeOptions
from audiosvc.ratelimit import RateLimiter
from audiosvc.settings import DEFAULT_BASE_URLS, Settings, get_settings, reveal
from audiosvc.transcript import Segment, Task, Transcript, Word, output_language

T = TypeVar("T")

CONNECT_TIMEOUT = 10.0
MAX_ERROR_CHARS = 300
# An unusable 2xx body is retried this many times (like a 5xx), then raised.
MAX_BAD_BODY_RETRIES = 1

DEFAULT_MODELS: dict[str, str] = {"groq": "whisper-large-v3-turbo", "openai": "whisper-1"}
DEFAULT_SPEECH: dict[str, tuple[str, str]] = {  # provider -> (model, voice)
    "groq": ("playai-tts", "Fritz-PlayAI"),
    "openai": ("tts-1", "alloy"),
}


# Orpheus (on Groq) speaks at most about this many characters a request, and only wav.
ORPHEUS_MAX_CHARS = 200


def _samples(segment: AudioSegment) -> np.ndarray:
    return np.frombuffer(segment.raw_data, dtype=np.int16)


class OpenAICompatProvider:
    """Transcription, translation and speech through an OpenAI-compatible HTTP API."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        name: str = "groq",
        default_model: str = "whisper-large-v3-turbo",
        settings: Settings | None = None,
        limiter: RateLimiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
        speech_model: str | None = None,
        speech_voice: str | None = None,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.default_model = default_model
        self.settings = settings if settings is not None else get_settings()
        self.limiter = limiter
        default_speech = DEFAULT_SPEECH.get(name, DEFAULT_SPEECH["groq"])
        self.speech_model = speech_model or default_speech[0]
        self.speech_voice = speech_voice or default_speech[1]
        self._sleep = sleep
        self._client = httpx.Client(
            headers={"Authorization": f"Bearer {api_key}"},
            follow_redirects=False,
        )

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        provider_name: str,
        *,
        limiter: RateLimiter | None = None,
    ) -> OpenAICompatProvider:
        """Build the ``groq`` or ``openai`` provider from settings.

        ``settings.base_url`` overrides the provider's public URL. Without ``limiter``, one is
        made from ``requests_per_minute``/``audio_seconds_per_hour``; pass a shared limiter
        when several providers use the same API key.
        """
        if provider_name not in DEFAULT_BASE_URLS:
            raise ValueError(
                f"unknown remote provider {provider_name!r}; expected one of "
                f"{', '.join(sorted(DEFAULT_BASE_URLS))}"
            )
        api_key = reveal(settings.openai_api_key if provider_name == "openai" else settings.api_key)
        if not api_key:
            env = "OPENAI_API_KEY" if provider_name == "openai" else "GROQ_API_KEY"
            raise ProviderAuthError(f"no API key configured for {provider_name}: set {env}")
        if limiter is None:
            limiter = RateLimiter(settings.requests_per_minute, settings.audio_seconds_per_hour)
        return cls(
            settings.base_url or DEFAULT_BASE_URLS[provider_name],
            api_key,
            name=provider_name,
            default_model=DEFAULT_MODELS[provider_name],
            settings=settings,
            limiter=limiter,
        )

    # --- SpeechProvider -----------------------------------------------------------------------

    def needs_flac(self) -> bool:
        return True

    def transcribe(self, clip: AudioClip, options: TranscribeOptions) -> Transcript:
        return self._speech_to_text(clip, options, "transcribe")

    def translate(self, clip: AudioClip, options: TranscribeOptions) -> Transcript:
        return self._speech_to_text(clip, options, "translate")

    def speak(self, text: str, options: SpeechOptions) -> Iterator[bytes]:
        """Stream synthesized audio. Orpheus models take wav only and about 200 characters
        a request: their text is split at sentences, each piece spoken as wav, and the audio
        joined (pydub) and encoded in the requested format as the pieces arrive."""
        model = options.model or self.speech_model
        if "orpheus" in model.lower():
            return self._speak_in_pieces(text, replace(options, model=model))
        return self._speak_once(text, options)

    def _speak_in_pieces(self, text: str, options: SpeechOptions) -> Iterator[bytes]:
        from audiosvc.encode import iter_encode_audio
        from audiosvc.tts import split_sentences

        pieces = split_sentences(text, ORPHEUS_MAX_CHARS, pack=True)
        first = self._piece_pcm(pieces[0], options)  # fail before any byte is promised
        rate = first.frame_rate

        def pcm() -> Iterator[np.ndarray]:
            yield _samples(first)
            for piece in pieces[1:]:
                yield _samples(self._piece_pcm(piece, options).set_frame_rate(rate))

        return iter_encode_audio(pcm(), rate, options.response_format, out_rate=options.sample_rate)

    def _piece_pcm(self, piece: str, options: SpeechOptions) -> AudioSegment:
        wav = b"".join(self._speak_once(piece, replace(options, response_format="wav")))
        try:
            segment = AudioSegment.from_wav(io.BytesIO(wav))
        except Exception as exc:
            raise ProviderResponseError(f"{self.name} sent speech that is not wav") from exc
        return segment.set_channels(1).set_sample_width(2)

    def _speak_once(self, text: str, options: SpeechOptions) -> Iterator[bytes]:
        """Stream the synthesized audio. The request is made on the first ``next()``.

        Failures before the first byte are retried like transcriptions; a connection lost
        mid-stream raises :class:`ProviderUnavailable` (bytes already yielded cannot be
        taken back). Speech is not counted against the limiter: TTS models have their own
        quotas, separate from the transcription budget the limiter tracks.
        """
        payload: dict[str, Any] = {
            "model": options.model or self.speech_model,
            "input": text,
            "voice": options.voice or self.speech_voice,
            "response_format": options.response_format,
            "speed": options.speed,
        }
        if options.sample_rate is not None:
            payload["sample_rate"] = options.sample_rate
        timeout = self._timeout(len(text.encode()))

        def build() -> httpx.Request:
            return self._client.build_request(
                "POST", f"{self.base_url}/audio/speech", json=payload, timeout=timeout
            )

        response = self._call(
            build, timeout=timeout, audio_seconds=None, stream=True, handle=lambda r: r
        )
        try:
            yield from response.iter_bytes()
        except httpx.TransportError as exc:
            raise self._transport_failure(exc, timeout) from exc
        finally:
            response.close()

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> OpenAICompatProvider:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"OpenAICompatProvider(name={self.name!r}, base_url={self.base_url!r})"

    # --- requests -----------------------------------------------------------------------------

    def _speech_to_text(
        self, clip: AudioClip, options: TranscribeOptions, task: Task
    ) -> Transcript:
        if clip.flac is None:
            raise ValueError(f"{self.name} needs the clip's FLAC bytes; clip.flac is None")
        flac = clip.flac
        words = options.word_timestamps and task == "transcribe"
        fields: dict[str, str | list[str]] = {
            "model": options.model or self.default_model,
            "response_format": "verbose_json",
            "temperature": repr(float(options.temperature)),
        }
        if options.prompt:
            fields["prompt"] = options.prompt
        if task == "transcribe":
            # Translations take neither: the output is always English, segments always come.
            if options.language:
                fields["language"] = options.language
            if words:
                fields["timestamp_granularities[]"] = ["word", "segment"]
        fields.update(options.extra)
        endpoint = "transcriptions" if task == "transcribe" else "translations"
        url = f"{self.base_url}/audio/{endpoint}"
        timeout = self._timeout(len(flac))

        def build() -> httpx.Request:
            return self._client.build_request(
                "POST",
                url,
                data=fields,
                files={"file": (clip.filename, flac, "audio/flac")},
                timeout=timeout,
            )

        def handle(response: httpx.Response) -> Transcript:
            return parse_verbose_json(
                self._json_body(response),
                task=task,
                clip=clip,
                words_requested=words,
                requested_language=options.language,
                provider=self.name,
            )

        return self._call(
            build, timeout=timeout, audio_seconds=clip.duration, stream=False, handle=handle
        )

    def _timeout(self, upload_bytes: int) -> httpx.Timeout:
        """Connect 10 s; write and read scale with the upload, so a 25 MB chunk on a slow
        link is not cut off while a stalled small request still fails fast."""
        s = self.settings
        rate = s.upload_min_bytes_per_second
        t = s.request_timeout + (upload_bytes / rate if rate > 0 else 0.0)
        return httpx.Timeout(connect=CONNECT_TIMEOUT, read=t, write=t, pool=t)

    def _call(
        self,
        build: Callable[[], httpx.Request],
        *,
        timeout: httpx.Timeout,
        audio_seconds: float | None,
        stream: bool,
        handle: Callable[[httpx.Response], T],
    ) -> T:
        """Send with :mod:`audiosvc.retry`'s policy; ``handle`` turns a 2xx response into the
        result (and may raise :class:`ProviderResponseError`). With ``stream``, ``handle`` owns
        the open response. Every attempt first takes its slot from the rate limiter."""
        policy = retry.in_process(self.settings)
        bad_bodies = 0
        rate_limited = 0

        def attempt() -> T:
            nonlocal bad_bodies, rate_limited
            if self.limiter is not None and audio_seconds is not None:
                self.limiter.acquire(audio_seconds)
            try:
                response = self._client.send(build(), stream=stream)
            except httpx.TransportError as exc:
                metrics.count("audiosvc_provider_requests", provider=self.name, status="transport")
                raise self._transport_failure(exc, timeout) from exc
            status = str(response.status_code)
            metrics.count("audiosvc_provider_requests", provider=self.name, status=status)
            if response.is_success:
                try:
                    return handle(response)
                except ProviderResponseError:
                    response.close()
                    bad_bodies += 1
                    raise
            try:
                if stream:
                    response.read()
            except httpx.TransportError:
                pass  # the status line is enough; the message falls back to it
            finally:
                response.close()
            failure = self._status_failure(response)
            if isinstance(failure, ProviderRateLimited) and self.limiter is not None:
                # The key's budget is spent for every thread, not just this one.
                told = failure.retry_after
                self.limiter.penalize(told if told is not None else policy.backoff(rate_limited))
                rate_limited += 1
            raise failure

        def retryable(exc: BaseException) -> bool:
            if isinstance(exc, ProviderResponseError):
                return bad_bodies <= MAX_BAD_BODY_RETRIES
            return isinstance(exc, ProviderError) and exc.retryable

        return policy.retrying(retryable, call="provider", sleep=self._sleep)(attempt)

    def _status_failure(self, response: httpx.Response) -> ProviderError:
        """The error for a non-2xx response."""
        status = response.status_code
        message = _error_message(response)
        retry_after = retry.retry_after(response.headers)
        if status == 429:
            return ProviderRateLimited(
                f"{self.name} rate limit exceeded (429): {message}",
                provider_status=status,
                retry_after=retry_after,
            )
        if retry.retryable_status(status):
            return ProviderUnavailable(
                f"{self.name} is unavailable ({status}): {message}",
                provider_status=status,
                retry_after=retry_after,
            )
        text = f"{self.name} rejected the request ({status}): {message}"
        if status in (401, 403):
            return ProviderAuthError(text, provider_status=status)
        if status == 413:
            return ProviderRequestTooLarge(text, provider_status=status)
        return ProviderBadRequest(text, provider_status=status)

    def _transport_failure(
        self, exc: httpx.TransportError, timeout: httpx.Timeout
    ) -> ProviderError:
        if isinstance(exc, httpx.ConnectTimeout):
            return ProviderUnavailable(
                f"{self.name} did not accept a connection within {CONNECT_TIMEOUT:.0f} s"
            )
        if isinstance(exc, httpx.TimeoutException):
            what = type(exc).__name__.removesuffix("Timeout").lower() or "request"
            limit = f" after {timeout.read:.1f} s" if timeout.read is not None else ""
            return ProviderUnavailable(f"{self.name} timed out{limit} ({what} timeout)")
        return ProviderUnavailable(f"cannot reach {self.name}: {exc or type(exc).__name__}")

    def _json_body(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ProviderResponseError(
                f"{self.name} sent a response that is not JSON: {_truncate(response.text)!r}",
                provider_status=response.status_code,
            ) from exc


# --- response parsing --------------------------------------------------------------------------


def parse_verbose_json(
    body: Any,
    *,
    task: Task,
    clip: AudioClip,
    words_requested: bool,
    requested_language: str | None = None,
    provider: str = "provider",
) -> Transcript:
    """Turn a ``verbose_json`` body into a chunk-local :class:`Transcript`.

    The body's top-level ``words`` are distributed to the segment containing each word's
    midpoint (the nearest segment when none contains it), stripped of whitespace. When words
    were requested and the body has a ``words`` list, every segment gets a list (maybe empty);
    otherwise every segment's ``words`` is ``None``.
    """
    if not isinstance(body, dict):
        raise _bad_body(provider, f"expected a JSON object, got {type(body).__name__}")
    text = body.get("text")
    raw_segments = body.get("segments")
    if not isinstance(text, str):
        raise _bad_body(provider, "no 'text' in the verbose_json response")
    if not isinstance(raw_segments, list):
        raise _bad_body(provider, "no 'segments' in the verbose_json response")
    try:
        segments = [_segment(i, raw) for i, raw in enumerate(raw_segments)]
        raw_words = body.get("words")
        with_words = words_requested and isinstance(raw_words, list)
        if with_words:
            assert isinstance(raw_words, list)
            per_segment = _assign_words(segments, [_word(w) for w in raw_words])
            segments = [
                s.model_copy(update={"words": ws})
                for s, ws in zip(segments, per_segment, strict=True)
            ]
    except (ValidationError, TypeError, ValueError) as exc:
        raise _bad_body(provider, f"malformed segments or words ({exc})") from exc
    language = _language(body.get("language"), task, requested_language)
    return Transcript(
        task=task,
        language=language,
        duration=_duration(body.get("duration"), clip),
        text=text.strip(),
        segments=segments,
    )


def _bad_body(provider: str, reason: str) -> ProviderResponseError:
    return ProviderResponseError(f"{provider} sent an unusable response: {reason}")


_SEGMENT_FIELDS = (
    "id", "seek", "start", "end", "text", "tokens", "temperature", "avg_logprob",
    "compression_ratio", "no_speech_prob",
)  # fmt: skip


def _segment(index: int, raw: Any) -> Segment:
    if not isinstance(raw, dict):
        raise TypeError(f"segment {index} is not an object")
    data = {k: raw[k] for k in _SEGMENT_FIELDS if raw.get(k) is not None}
    data.setdefault("id", index)
    data.setdefault("text", "")
    return Segment.model_validate(data)


def _word(raw: Any) -> Word:
    if not isinstance(raw, dict):
        raise TypeError("word is not an object")
    return Word.model_validate(
        {"word": str(raw.get("word", "")).strip(), "start": raw.get("start"), "end": raw.get("end")}
    )


def _assign_words(segments: list[Segment], words: list[Word]) -> list[list[Word]]:
    """Each word goes to the segment containing its midpoint, else to the nearest one."""
    out: list[list[Word]] = [[] for _ in segments]
    if not segments:
        return out
    order = sorted(range(len(segments)), key=lambda i: (segments[i].start, i))
    starts = [segments[i].start for i in order]
    for word in sorted(words, key=lambda w: (w.start, w.end)):
        if not word.word:
            continue
        mid = (word.start + word.end) / 2
        pos = bisect_right(starts, mid) - 1
        # Segments are (nearly) disjoint and sorted: only the neighbours can contain or be
        # closest to ``mid``. ``pos`` is the latest segment starting at or before ``mid``, so
        # a midpoint on a shared boundary goes to the segment that starts there.
        candidates = [order[p] for p in (pos, pos - 1, pos + 1) if 0 <= p < len(order)]
        containing = [i for i in candidates if segments[i].start <= mid <= segments[i].end]
        if containing:
            best = containing[0]
        else:
            best = min(candidates, key=lambda i: (_distance(segments[i], mid), i))
        out[best].append(word)
    return out


def _distance(segment: Segment, t: float) -> float:
    return max(segment.start - t, t - segment.end, 0.0)


def _duration(raw: Any, clip: AudioClip) -> float:
    """``duration`` arrives as a number (Groq, OpenAI) or a string (the reference spec)."""
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return clip.duration
    return value if math.isfinite(value) and value >= 0 else clip.duration


def _language(raw: Any, task: Task, requested: str | None) -> str:
    english = output_language(task, None)  # a translation, whatever the provider names
    if english is not None:
        return english
    if isinstance(raw, str) and raw.strip():
        code = language_code(raw)
        if code is not None:
            return code
    return requested or "en"


# --- errors and headers ------------------------------------------------------------------------


def _truncate(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _error_message(response: httpx.Response) -> str:
    """The provider's ``error.message``, else the raw body (truncated), else the reason."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, httpx.ResponseNotRead):
        body = None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return _truncate(error["message"])
        if isinstance(error, str):
            return _truncate(error)
    try:
        text = _truncate(response.text)
    except httpx.ResponseNotRead:
        text = ""
    return text or response.reason_phrase or f"HTTP {response.status_code}"
