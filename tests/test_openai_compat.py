"""OpenAICompatProvider against the Groq-compatible test server."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

import httpx
import numpy as np
import pytest

from audiosvc.errors import (
    InvalidRequestError,
    ProviderAuthError,
    ProviderBadRequest,
    ProviderRateLimited,
    ProviderRequestTooLarge,
    ProviderResponseError,
    ProviderUnavailable,
)
from audiosvc.providers.base import AudioClip, SpeechOptions, SpeechProvider, TranscribeOptions
from audiosvc.providers.openai_compat import (
    OpenAICompatProvider,
    parse_verbose_json,
)
from audiosvc.ratelimit import RateLimiter
from audiosvc.settings import Settings
from tests.groq_server import (
    EnergyResponder,
    Fault,
    GroqServer,
    decode_audio,
    encode_audio,
    encode_flac,
    groq_server_fixture,  # noqa: F401  (provides the groq_server fixture)
    pcm_from_plan,
    speech_pcm,
)

# Three tones: 0.5 s and 0.3 s close together (one segment), then 0.7 s after a long pause.
PLAN = [
    ("silence", 0.3),
    ("tone", 0.5),
    ("silence", 0.3),
    ("tone", 0.3),
    ("silence", 1.2),
    ("tone", 0.7),
    ("silence", 0.2),
]


@cache
def _clip() -> AudioClip:
    pcm = pcm_from_plan(PLAN)
    return AudioClip(pcm=pcm, flac=encode_flac(pcm))


class SleepRecorder:
    """Injected as the provider's ``sleep``: records each wait, optionally really waits."""

    def __init__(self, real: bool = False) -> None:
        self.waits: list[float] = []
        self.real = real

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.real:
            time.sleep(seconds)


class SpyLimiter(RateLimiter):
    def __init__(self) -> None:
        super().__init__(0, 0.0)
        self.acquired: list[float] = []
        self.penalties: list[float] = []

    def acquire(self, audio_seconds: float = 0.0) -> float:
        self.acquired.append(audio_seconds)
        return super().acquire(audio_seconds)

    def penalize(self, seconds: float) -> None:
        self.penalties.append(seconds)
        super().penalize(seconds)


def settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "max_retries": 3,
        "backoff_base": 0.01,
        "backoff_max": 1.0,
        "request_timeout": 5.0,
    }
    values.update(overrides)
    return Settings(**values)


_open_providers: list[OpenAICompatProvider] = []


@pytest.fixture(autouse=True)
def _close_providers() -> Iterator[None]:
    """Close the clients ``provider()`` made, so no pooled connection outlives its test."""
    yield
    while _open_providers:
        _open_providers.pop().close()


def provider(
    server: GroqServer,
    *,
    sleep: Callable[[float], None] | None = None,
    limiter: RateLimiter | None = None,
    api_key: str | None = None,
    **overrides: Any,
) -> OpenAICompatProvider:
    p = OpenAICompatProvider(
        server.url,
        api_key if api_key is not None else server.api_key,
        settings=settings(**overrides),
        limiter=limiter,
        sleep=sleep or SleepRecorder(),
    )
    _open_providers.append(p)
    return p


# --- success ----------------------------------------------------------------------------------


def test_provider_implements_the_protocol(groq_server: GroqServer) -> None:
    p = provider(groq_server)
    assert isinstance(p, SpeechProvider)
    assert p.needs_flac() is True
    assert p.name == "groq"


def test_transcribe_sends_the_spec_fields_and_parses_segments_and_words(
    groq_server: GroqServer,
) -> None:
    clip = _clip()
    options = TranscribeOptions(language="en", prompt="Tones, counted.", temperature=0.2)
    result = provider(groq_server).transcribe(clip, options)

    (req,) = groq_server.requests
    assert req.method == "POST"
    assert req.path == "/openai/v1/audio/transcriptions"
    assert req.headers["authorization"] == f"Bearer {groq_server.api_key}"
    assert req.fields["model"] == ["whisper-large-v3-turbo"]
    assert req.fields["language"] == ["en"]
    assert req.fields["prompt"] == ["Tones, counted."]
    assert req.fields["response_format"] == ["verbose_json"]
    assert float(req.fields["temperature"][0]) == pytest.approx(0.2)
    assert req.fields["timestamp_granularities[]"] == ["word", "segment"]
    assert req.file_name == "chunk.flac"
    assert req.file_content_type == "audio/flac"
    assert req.file_data == clip.flac

    assert result.task == "transcribe"
    assert result.language == "en"
    assert result.duration == pytest.approx(clip.duration, abs=0.01)
    assert result.text == "tone5 tone3 tone7"
    assert [(s.start, s.end) for s in result.segments] == [(0.3, 1.4), (2.6, 3.3)]
    assert [[w.word for w in s.words or []] for s in result.segments] == [
        ["tone5", "tone3"],
        ["tone7"],
    ]
    first = result.segments[0].words
    assert first is not None
    assert (first[0].start, first[0].end) == pytest.approx((0.3, 0.8))
    assert result.has_words


def test_without_word_timestamps_no_granularities_are_sent_and_words_are_none(
    groq_server: GroqServer,
) -> None:
    result = provider(groq_server).transcribe(_clip(), TranscribeOptions(word_timestamps=False))
    (req,) = groq_server.requests
    assert "timestamp_granularities[]" not in req.fields
    assert "language" not in req.fields and "prompt" not in req.fields
    assert len(result.segments) == 2
    assert all(s.words is None for s in result.segments)


def test_translate_posts_to_translations_without_language_or_granularities(
    groq_server: GroqServer,
) -> None:
    # The server rejects fields the spec does not allow on translations, so success alone
    # shows that language and timestamp_granularities[] were left out.
    options = TranscribeOptions(language="fr", prompt="In English.")
    result = provider(groq_server).translate(_clip(), options)
    (req,) = groq_server.requests
    assert req.path == "/openai/v1/audio/translations"
    assert set(req.fields) == {"model", "response_format", "temperature", "prompt", "file"}
    assert result.task == "translate"
    assert result.language == "en"
    assert all(s.words is None for s in result.segments)
    assert [s.text.strip() for s in result.segments] == ["tone5 tone3", "tone7"]


def test_language_name_and_string_duration_are_normalized() -> None:
    with GroqServer(duration_as_string=True) as server:
        result = provider(server).transcribe(_clip(), TranscribeOptions(language="fr"))
    assert result.language == "fr"  # the server said "French"
    assert result.duration == pytest.approx(_clip().duration, abs=0.01)


def test_model_override_and_extra_fields_are_sent(groq_server: GroqServer) -> None:
    options = TranscribeOptions(model="whisper-large-v3")
    provider(groq_server).transcribe(_clip(), options)
    assert groq_server.requests[0].fields["model"] == ["whisper-large-v3"]


def test_responder_sees_the_decoded_upload() -> None:
    seen: list[int] = []

    def responder(pcm: np.ndarray, request: Any) -> list[list[Any]]:
        seen.append(len(pcm))
        return []

    with GroqServer(responder=responder) as server:
        result = provider(server).transcribe(_clip(), TranscribeOptions())
    assert seen == [len(_clip().pcm)]
    assert result.segments == [] and result.text == ""


def test_missing_flac_is_a_value_error(groq_server: GroqServer) -> None:
    clip = AudioClip(pcm=np.zeros(16_000, dtype=np.int16))
    with pytest.raises(ValueError, match="FLAC"):
        provider(groq_server).transcribe(clip, TranscribeOptions())
    assert groq_server.requests == []


# --- errors that are not retried --------------------------------------------------------------


def test_wrong_key_is_an_auth_error_after_exactly_one_request(groq_server: GroqServer) -> None:
    sleep = SleepRecorder()
    p = provider(groq_server, api_key="gsk_wrong", sleep=sleep)
    with pytest.raises(ProviderAuthError) as info:
        p.transcribe(_clip(), TranscribeOptions())
    assert str(info.value) == "groq rejected the request (401): Invalid API Key"
    assert info.value.provider_status == 401
    assert len(groq_server.requests) == 1
    assert sleep.waits == []


def test_file_over_the_size_limit_is_too_large_and_not_retried() -> None:
    with GroqServer(max_file_bytes=1000) as server:
        with pytest.raises(ProviderRequestTooLarge) as info:
            provider(server).transcribe(_clip(), TranscribeOptions())
        assert len(server.requests) == 1
    assert info.value.provider_status == 413
    assert "(413): Request Entity Too Large" in str(info.value)


def test_unknown_model_is_a_bad_request(groq_server: GroqServer) -> None:
    with pytest.raises(ProviderBadRequest) as info:
        provider(groq_server).transcribe(_clip(), TranscribeOptions(model="whisper-9"))
    assert info.value.provider_status == 404
    assert "`whisper-9` does not exist" in str(info.value)
    assert len(groq_server.requests) == 1


def test_invalid_field_is_a_bad_request_with_the_servers_message(groq_server: GroqServer) -> None:
    with pytest.raises(ProviderBadRequest) as info:
        provider(groq_server).transcribe(_clip(), TranscribeOptions(language="xx"))
    assert info.value.provider_status == 400
    assert "invalid language 'xx'" in str(info.value)
    assert len(groq_server.requests) == 1


def test_error_without_json_falls_back_to_truncated_raw_text(groq_server: GroqServer) -> None:
    page = ("<html>" + "forbidden " * 100 + "</html>").encode()
    groq_server.fail_next(Fault(status=403, body=page, content_type="text/html"))
    with pytest.raises(ProviderAuthError) as info:
        provider(groq_server).transcribe(_clip(), TranscribeOptions())
    message = str(info.value)
    assert message.startswith("groq rejected the request (403): <html>forbidden")
    assert len(message) < 360 and message.endswith("…")


# --- retries ----------------------------------------------------------------------------------


def test_429_waits_for_retry_after_then_succeeds(groq_server: GroqServer) -> None:
    groq_server.fail_next(Fault.error(429, "Rate limit reached", retry_after=0.05))
    sleep = SleepRecorder(real=True)
    limiter = SpyLimiter()
    result = provider(groq_server, sleep=sleep, limiter=limiter).transcribe(
        _clip(), TranscribeOptions()
    )
    assert result.text == "tone5 tone3 tone7"
    first, second = groq_server.requests
    assert sleep.waits == [pytest.approx(0.05)]
    assert second.received_at - first.received_at >= 0.05
    assert limiter.penalties == [pytest.approx(0.05)]
    assert limiter.acquired == [pytest.approx(_clip().duration)] * 2  # before each attempt


def test_retry_after_ms_wins_over_retry_after(groq_server: GroqServer) -> None:
    groq_server.fail_next(Fault.error(429, retry_after=30, retry_after_ms=20))
    sleep = SleepRecorder()
    provider(groq_server, sleep=sleep).transcribe(_clip(), TranscribeOptions())
    assert sleep.waits == [pytest.approx(0.02)]


def test_500_twice_then_success_backs_off_with_full_jitter(groq_server: GroqServer) -> None:
    groq_server.fail_next(Fault.error(500), Fault.error(500))
    sleep = SleepRecorder()
    p = provider(groq_server, sleep=sleep, backoff_base=0.5, backoff_max=0.8)
    result = p.transcribe(_clip(), TranscribeOptions())
    assert len(result.segments) == 2
    assert len(groq_server.requests) == 3
    assert len(sleep.waits) == 2
    assert 0.0 <= sleep.waits[0] <= 0.5  # base * 2**0
    assert 0.0 <= sleep.waits[1] <= 0.8  # min(cap, base * 2**1)


def test_persistent_500_is_unavailable_after_max_retries_plus_one_requests(
    groq_server: GroqServer,
) -> None:
    groq_server.fail_next(*[Fault.error(500, "upstream exploded")] * 10)
    sleep = SleepRecorder()
    with pytest.raises(ProviderUnavailable) as info:
        provider(groq_server, sleep=sleep, max_retries=2).transcribe(_clip(), TranscribeOptions())
    assert len(groq_server.requests) == 3
    assert len(sleep.waits) == 2
    assert info.value.provider_status == 500
    assert "upstream exploded" in str(info.value)


def test_persistent_429_is_rate_limited_with_the_last_retry_after(
    groq_server: GroqServer,
) -> None:
    groq_server.fail_next(
        *[Fault.error(429, retry_after=0.01)] * 3, Fault.error(429, retry_after=0.02)
    )
    limiter = SpyLimiter()
    with pytest.raises(ProviderRateLimited) as info:
        provider(groq_server, limiter=limiter, max_retries=3).transcribe(
            _clip(), TranscribeOptions()
        )
    assert len(groq_server.requests) == 4
    assert info.value.retry_after == pytest.approx(0.02)
    assert info.value.provider_status == 429
    assert len(limiter.penalties) == 4


def test_retry_after_beyond_backoff_max_gives_up_at_once(groq_server: GroqServer) -> None:
    groq_server.fail_next(Fault.error(429, retry_after=120))
    sleep = SleepRecorder()
    limiter = SpyLimiter()
    with pytest.raises(ProviderRateLimited) as info:
        provider(groq_server, sleep=sleep, limiter=limiter, backoff_max=60).transcribe(
            _clip(), TranscribeOptions()
        )
    assert info.value.retry_after == 120.0
    assert sleep.waits == []
    assert limiter.penalties == [120.0]  # every other caller holds back too
    assert len(groq_server.requests) == 1


def test_slow_response_beyond_the_read_timeout_is_retried_then_unavailable(
    groq_server: GroqServer,
) -> None:
    groq_server.fail_next(Fault.slow(3.0), Fault.slow(3.0))
    p = provider(groq_server, request_timeout=0.2, upload_min_bytes_per_second=1e12, max_retries=1)
    started = time.monotonic()
    with pytest.raises(ProviderUnavailable, match="timed out"):
        p.transcribe(_clip(), TranscribeOptions())
    assert time.monotonic() - started < 2.0
    assert len(groq_server.requests) == 2


def test_slow_response_once_then_success(groq_server: GroqServer) -> None:
    groq_server.fail_next(Fault.slow(3.0))
    p = provider(groq_server, request_timeout=0.2, upload_min_bytes_per_second=1e12)
    assert p.transcribe(_clip(), TranscribeOptions()).text == "tone5 tone3 tone7"
    assert len(groq_server.requests) == 2


def test_connection_refused_is_retried_then_unavailable() -> None:
    with GroqServer() as server:
        url = server.url
    p = OpenAICompatProvider(url, "k", settings=settings(max_retries=2), sleep=SleepRecorder())
    with pytest.raises(ProviderUnavailable, match="cannot reach groq") as info:
        p.transcribe(_clip(), TranscribeOptions())
    assert isinstance(info.value.__cause__, httpx.ConnectError)


def test_malformed_body_is_retried_once_then_raised(groq_server: GroqServer) -> None:
    groq_server.fail_next(*[Fault.malformed()] * 3)
    with pytest.raises(ProviderResponseError, match="not JSON"):
        provider(groq_server, max_retries=3).transcribe(_clip(), TranscribeOptions())
    assert len(groq_server.requests) == 2


def test_malformed_body_once_then_success(groq_server: GroqServer) -> None:
    groq_server.fail_next(Fault.malformed())
    result = provider(groq_server).transcribe(_clip(), TranscribeOptions())
    assert result.text == "tone5 tone3 tone7"
    assert len(groq_server.requests) == 2


def test_json_without_segments_is_an_unusable_response(groq_server: GroqServer) -> None:
    groq_server.fail_next(*[Fault.malformed(b'{"text": "hello"}')] * 2)
    with pytest.raises(ProviderResponseError, match="segments"):
        provider(groq_server).transcribe(_clip(), TranscribeOptions())


def test_oversize_clip_for_the_hourly_budget_fails_before_any_request(
    groq_server: GroqServer,
) -> None:
    limiter = RateLimiter(100, audio_seconds_per_hour=1.0)
    with pytest.raises(InvalidRequestError):
        provider(groq_server, limiter=limiter).transcribe(_clip(), TranscribeOptions())
    assert groq_server.requests == []


# --- timeouts, settings, threads --------------------------------------------------------------


def test_timeouts_scale_with_the_upload_size(groq_server: GroqServer) -> None:
    """A provider that answers after 1 s: past a 0.3 s timeout for a tiny upload, but within
    it once the upload's size buys time at ``upload_min_bytes_per_second``."""
    clip = _clip()
    assert clip.flac is not None
    slow = Fault.slow(1.0)
    groq_server.fail_next(slow)
    fixed = provider(groq_server, max_retries=0, request_timeout=0.3, upload_min_bytes_per_second=0)
    with pytest.raises(ProviderUnavailable, match=r"timed out after 0\.3 s"):
        fixed.transcribe(clip, TranscribeOptions())
    groq_server.fail_next(slow)
    # 3 s more for this upload: 0.3 + len(flac) / (len(flac) / 3)
    scaled = provider(
        groq_server,
        max_retries=0,
        request_timeout=0.3,
        upload_min_bytes_per_second=len(clip.flac) / 3,
    )
    assert scaled.transcribe(clip, TranscribeOptions()).text == "tone5 tone3 tone7"


def test_from_settings_picks_url_key_and_model(groq_server: GroqServer) -> None:
    base = Settings(api_key=None, openai_api_key=None, base_url=None)
    groq = OpenAICompatProvider.from_settings(base.model_copy(update={"api_key": "gsk_1"}), "groq")
    openai = OpenAICompatProvider.from_settings(
        base.model_copy(update={"openai_api_key": "sk_2"}), "openai"
    )
    assert (groq.name, groq.base_url, groq.default_model) == (
        "groq",
        "https://api.groq.com/openai/v1",
        "whisper-large-v3-turbo",
    )
    assert (openai.name, openai.base_url, openai.default_model) == (
        "openai",
        "https://api.openai.com/v1",
        "whisper-1",
    )
    assert isinstance(groq.limiter, RateLimiter)
    assert groq.limiter.requests_per_minute == base.requests_per_minute
    # base_url overrides the public URL; the key and the default model reach the server.
    local = OpenAICompatProvider.from_settings(
        base.model_copy(update={"api_key": groq_server.api_key, "base_url": groq_server.url + "/"}),
        "groq",
    )
    _open_providers.extend([groq, openai, local])
    local.transcribe(_clip(), TranscribeOptions())
    (req,) = groq_server.requests
    assert req.path == "/openai/v1/audio/transcriptions"
    assert req.headers["authorization"] == f"Bearer {groq_server.api_key}"
    assert req.fields["model"] == ["whisper-large-v3-turbo"]
    with pytest.raises(ProviderAuthError, match="GROQ_API_KEY"):
        OpenAICompatProvider.from_settings(base, "groq")
    with pytest.raises(ProviderAuthError, match="OPENAI_API_KEY"):
        OpenAICompatProvider.from_settings(base.model_copy(update={"api_key": "k"}), "openai")
    with pytest.raises(ValueError, match="unknown remote provider"):
        OpenAICompatProvider.from_settings(base.model_copy(update={"api_key": "k"}), "local")


def test_chunks_from_several_threads_share_one_client(groq_server: GroqServer) -> None:
    p = provider(groq_server)
    results: list[str] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(2):
                results.append(p.transcribe(_clip(), TranscribeOptions()).text)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert not errors
    assert results == ["tone5 tone3 tone7"] * 8
    assert len(groq_server.requests) == 8


# --- response parsing -------------------------------------------------------------------------


def _parse(body: Any, words_requested: bool = True) -> Any:
    return parse_verbose_json(
        body, task="transcribe", clip=_clip(), words_requested=words_requested
    )


def test_words_go_to_the_segment_holding_their_midpoint_else_the_nearest() -> None:
    body = {
        "language": "English",
        "duration": "9.5",
        "text": " a b h c g d f e",
        "segments": [
            {"id": 0, "seek": 0, "start": 0.0, "end": 2.0, "text": " a b", "tokens": [1]},
            {"id": 1, "seek": 0, "start": 2.0, "end": 4.0, "text": " c", "tokens": [2]},
            {"id": 2, "seek": 0, "start": 5.0, "end": 6.0, "text": "", "tokens": []},
            {"id": 3, "seek": 0, "start": 8.0, "end": 9.0, "text": " e", "tokens": [3]},
        ],
        "words": [
            {"word": " a", "start": 0.1, "end": 0.5},
            {"word": "b ", "start": 1.8, "end": 2.1},  # midpoint 1.95: first segment
            {"word": " c", "start": 2.1, "end": 2.5},
            {"word": "h", "start": 1.75, "end": 2.25},  # midpoint on the boundary: the later
            {"word": "d", "start": 6.3, "end": 6.5},  # in no segment: nearest is the third
            {"word": " ", "start": 7.0, "end": 7.1},  # nothing left after stripping: dropped
            {"word": "f", "start": 7.6, "end": 7.8},  # in the gap, nearer the fourth segment
            {"word": "g", "start": 3.9, "end": 4.1},  # midpoint 4.0: the end of the second
            {"word": "\te\n", "start": 8.8, "end": 9.4},  # midpoint 9.1, just past the end
        ],
    }
    t = _parse(body)
    assert t.language == "en"
    assert t.duration == 9.5
    assert t.text == "a b h c g d f e"
    assert [[w.word for w in s.words] for s in t.segments] == [
        ["a", "b"],
        ["h", "c", "g"],
        ["d"],
        ["f", "e"],
    ]


def test_segments_without_words_get_an_empty_list_only_when_words_were_requested() -> None:
    body = {
        "language": "en",
        "duration": 3,
        "text": "x",
        "segments": [
            {"id": 0, "seek": 0, "start": 0.0, "end": 1.0, "text": " x", "tokens": []},
            {"id": 1, "seek": 0, "start": 2.0, "end": 3.0, "text": " ", "tokens": []},
        ],
        "words": [{"word": " x", "start": 0.2, "end": 0.4}],
    }
    requested = _parse(body)
    assert [[w.word for w in s.words] for s in requested.segments] == [["x"], []]
    not_requested = _parse(body, words_requested=False)
    assert [s.words for s in not_requested.segments] == [None, None]
    no_words_in_body = _parse({**body, "words": None})
    assert [s.words for s in no_words_in_body.segments] == [None, None]


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"segments": []},
        {"text": "hi"},
        {"text": "hi", "segments": [{"start": "soon", "end": 1.0, "text": ""}]},
        {"text": "hi", "segments": [], "words": [{"word": "x"}]},
    ],
)
def test_unusable_bodies_are_response_errors(body: Any) -> None:
    with pytest.raises(ProviderResponseError):
        _parse(body)


def test_unknown_language_falls_back_to_the_requested_one() -> None:
    body = {"language": "Klingon", "duration": 1, "text": "", "segments": []}
    t = parse_verbose_json(
        body, task="transcribe", clip=_clip(), words_requested=False, requested_language="de"
    )
    assert t.language == "de"


# --- speech -----------------------------------------------------------------------------------


def test_speak_streams_the_audio_body(groq_server: GroqServer) -> None:
    p = provider(groq_server)
    options = SpeechOptions(voice="Celeste-PlayAI", response_format="wav", sample_rate=16_000)
    stream = p.speak("hello big world", options)
    assert groq_server.requests == []  # nothing is sent until the stream is read
    chunks = list(stream)

    (req,) = groq_server.requests
    assert req.path == "/openai/v1/audio/speech"
    assert req.json == {
        "model": "playai-tts",
        "input": "hello big world",
        "voice": "Celeste-PlayAI",
        "response_format": "wav",
        "sample_rate": 16_000,
        "speed": 1.0,
    }
    audio = b"".join(chunks)
    assert len(chunks) >= 1 and all(chunks)
    assert audio == encode_audio(speech_pcm("hello big world", 16_000), 16_000, "wav")
    # Real audio: one tone per word, 0.1 s per letter, 0.2 s apart.
    pcm = decode_audio(audio)
    assert len(pcm) / 16_000 == pytest.approx(0.1 * 13 + 0.2 * 2, abs=0.01)
    regions = EnergyResponder().regions(pcm)
    assert [round(end - start, 2) for start, end in regions] == [0.5, 0.3, 0.5]


def test_speak_defaults_and_other_formats(groq_server: GroqServer) -> None:
    audio = b"".join(provider(groq_server).speak("hi", SpeechOptions(response_format="mp3")))
    req = groq_server.requests[0]
    assert req.json["voice"] == "Fritz-PlayAI"
    assert "sample_rate" not in req.json
    assert audio[:3] == b"ID3" or audio[:2] == b"\xff\xfb"


def test_speak_errors_before_streaming_are_mapped_and_retried(groq_server: GroqServer) -> None:
    groq_server.fail_next(Fault.error(503, "busy"))
    audio = b"".join(provider(groq_server).speak("hi", SpeechOptions()))
    assert audio[:4] == b"RIFF"
    assert len(groq_server.requests) == 2

    bad = provider(groq_server, api_key="nope")
    with pytest.raises(ProviderAuthError, match=r"\(401\): Invalid API Key"):
        list(bad.speak("hi", SpeechOptions()))
