"""The Groq-compatible endpoints through the official groq and openai SDKs, unchanged."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import av
import groq
import httpx
import openai
import pytest
import srt
import webvtt

from audiosvc.settings import Settings
from tests.groq_server import DEFAULT_API_KEY, GroqServer
from tests.measures import assert_english_translation_of_spanish, wer
from tests.service.conftest import SAMPLES
from tests.service.harness import Api, Worker

pytestmark = pytest.mark.engine
SHORT = (SAMPLES / "short.txt").read_text()


@pytest.fixture(scope="module")
def oai(api: Api, worker: Worker) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{api.url}/openai/v1", api_key="unused", max_retries=0)


@pytest.fixture(scope="module")
def gq(api: Api, worker: Worker) -> groq.Groq:
    return groq.Groq(base_url=api.url, api_key="unused", max_retries=0)


@pytest.mark.parametrize("fmt", ["json", "text", "verbose_json", "srt", "vtt"])
def test_transcription_in_every_format(oai: openai.OpenAI, fmt: str) -> None:
    with (SAMPLES / "short.wav").open("rb") as f:
        result = oai.audio.transcriptions.create(
            file=f,
            model="whisper-1",
            response_format=fmt,
            language="en",  # type: ignore[arg-type]
        )
    if fmt == "json":
        text = result.text  # type: ignore[union-attr]
    elif fmt == "verbose_json":
        assert result.language == "english" and result.duration > 9  # type: ignore[union-attr]
        assert result.segments  # type: ignore[union-attr]
        text = result.text  # type: ignore[union-attr]
    elif fmt == "srt":
        text = " ".join(s.content for s in srt.parse(str(result)))
    elif fmt == "vtt":
        text = " ".join(c.text for c in webvtt.from_buffer(io.StringIO(str(result))))
    else:
        text = str(result)
    assert wer(SHORT, text) <= 0.05  # measured 0.0 in every format (34 words: 1 error allowed)


def test_groq_sdk_word_timestamps(gq: groq.Groq) -> None:
    result = gq.audio.transcriptions.create(
        file=("short.wav", (SAMPLES / "short.wav").read_bytes()),
        model="whisper-large-v3-turbo",
        response_format="verbose_json",
        timestamp_granularities=["word", "segment"],
        language="en",
    )
    body = result.model_dump()
    words = body["words"]
    assert len(words) >= 30 and all(w["start"] <= w["end"] for w in words)
    assert wer(SHORT, " ".join(w["word"] for w in words)) <= 0.05  # measured 0.0


def test_groq_sdk_translates_spanish_speech(gq: groq.Groq) -> None:
    result = gq.audio.translations.create(
        file=("spanish.flac", (SAMPLES / "spanish.flac").read_bytes()),
        model="whisper-large-v3",
        response_format="verbose_json",
    )
    body = result.model_dump()
    assert body["language"] == "english" and body["task"] == "translate"
    assert_english_translation_of_spanish(body["text"])


def test_groq_sdk_translation(gq: groq.Groq) -> None:
    result = gq.audio.translations.create(
        file=("short.wav", (SAMPLES / "short.wav").read_bytes()), model="whisper-large-v3"
    )
    assert wer(SHORT, result.text) <= 0.1  # measured 0.0 (English into English)


def _decode_seconds(data: bytes) -> float:
    with av.open(io.BytesIO(data)) as c:
        frames = sum(f.samples for f in c.decode(c.streams.audio[0]))
        return frames / c.streams.audio[0].rate


@pytest.mark.parametrize("fmt", ["wav", "mp3", "flac", "ogg", "mulaw"])
def test_speech_to_a_file_in_every_format(oai: openai.OpenAI, fmt: str, tmp_path: Path) -> None:
    out = tmp_path / f"reply.{fmt}"
    with oai.audio.speech.with_streaming_response.create(
        model="tts-1",
        voice="joe",
        input="Thank you for calling. How can I help?",
        response_format=fmt,  # type: ignore[arg-type]
    ) as resp:
        resp.stream_to_file(out)
    data = out.read_bytes()
    seconds = len(data) / 8000 if fmt == "mulaw" else _decode_seconds(data)
    assert 1.5 < seconds < 6


def test_text_to_speech_to_text_recovers_the_words(oai: openai.OpenAI) -> None:
    text = "The new schedule starts next week, and every team will share one calendar."
    audio = oai.audio.speech.create(model="tts-1", voice="joe", input=text, response_format="wav")
    heard = oai.audio.transcriptions.create(
        file=("reply.wav", audio.read()), model="whisper-1", language="en"
    )
    assert wer(text, heard.text) <= 0.1  # measured 0.0 (13 words: 1 error allowed)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("x" * 100_000, "100000 characters; at most 4096"),  # took the API to 24 GB, then down
        ("hello\x00world", "control character (U+0000)"),  # was a 200 with a broken stream
        ("hello \ud800 world", "not valid Unicode"),
        (" \n ", "input is empty"),
        ("- . -", "nothing to say"),  # was a 200 with an empty recording
        ("\u200b", "nothing to say"),
    ],
)
def test_speech_input_is_bounded_and_checked_before_any_audio(
    api: Api, text: str, says: str
) -> None:
    resp = httpx.post(
        f"{api.url}/openai/v1/audio/speech",
        content=json.dumps({"model": "tts-1", "voice": "joe", "input": text}),
        headers={"content-type": "application/json"},
        timeout=60,
    )
    assert resp.status_code == 400, resp.text
    assert says in resp.json()["error"]["message"] and resp.json()["error"]["param"] == "input"
    assert httpx.get(f"{api.url}/healthz", timeout=10).status_code == 200  # still up


def test_the_longest_input_and_a_word_without_end_are_spoken(oai: openai.OpenAI) -> None:
    """4096 characters without a space: cut into pieces the synthesizer handles in bounded
    memory (one piece of 100,000 took 24 GB)."""
    audio = oai.audio.speech.create(
        model="tts-1", voice="joe", input="a" * 4096, response_format="wav"
    )
    assert len(audio.content) > 44


def test_models_lists_what_works(oai: openai.OpenAI) -> None:
    ids = {m.id for m in oai.models.list()}
    assert {"whisper-large-v3", "whisper-large-v3-turbo", "tts-1"} <= ids
    assert "gpt-4o" not in ids


def test_sdk_errors_map_to_their_classes(oai: openai.OpenAI, gq: groq.Groq) -> None:
    wav = ("short.wav", (SAMPLES / "short.wav").read_bytes())
    with pytest.raises(openai.BadRequestError) as e400:
        oai.audio.transcriptions.create(file=wav, model="gpt-4o")
    assert e400.value.body["param"] == "model"  # type: ignore[index]
    with pytest.raises(groq.BadRequestError):
        gq.audio.speech.create(model="playai-tts", voice="Fritz-PlayAI", input="hi")
    with pytest.raises(openai.NotFoundError):
        oai.models.retrieve("whisper-large-v3")
    with pytest.raises(openai.BadRequestError, match="response_format"):
        oai.audio.transcriptions.create(file=wav, model="whisper-1", response_format="docx")  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def keyed(service_settings: Settings, worker: Worker) -> Iterator[str]:
    settings = service_settings.model_copy(
        update={"api_keys": "gsk_right", "max_upload_bytes": 100_000}
    )
    server = Api(settings).start()
    yield server.url
    server.stop()


def test_bad_key_and_oversize_through_the_sdks(keyed: str) -> None:
    wav = ("short.wav", (SAMPLES / "short.wav").read_bytes())  # 328 kB: over this app's limit
    with pytest.raises(groq.AuthenticationError):
        groq.Groq(base_url=keyed, api_key="gsk_wrong", max_retries=0).audio.transcriptions.create(
            file=wav, model="whisper-large-v3"
        )
    client = openai.OpenAI(base_url=f"{keyed}/openai/v1", api_key="gsk_right", max_retries=0)
    with pytest.raises(openai.APIStatusError) as e413:
        client.audio.transcriptions.create(file=wav, model="whisper-1")
    assert e413.value.status_code == 413


@pytest.fixture(scope="module")
def remote_tts(service_settings: Settings) -> Iterator[tuple[str, GroqServer]]:
    """The API configured for Groq, against the Groq-compatible test server."""
    with GroqServer() as upstream:
        settings = service_settings.model_copy(
            update={"provider": "groq", "base_url": upstream.url, "api_key": DEFAULT_API_KEY}
        )
        server = Api(settings).start()
        yield server.url, upstream
        server.stop()


def test_speech_through_a_remote_provider(remote_tts: tuple[str, GroqServer]) -> None:
    url, upstream = remote_tts
    client = openai.OpenAI(base_url=f"{url}/openai/v1", api_key="unused", max_retries=0)
    text = " ".join(["The agenda for today has three parts, so let us begin."] * 6)
    audio = client.audio.speech.create(
        model="canopylabs/orpheus-v1-english", voice="tara", input=text, response_format="mp3"
    )
    assert _decode_seconds(audio.read()) > 5
    assert len(upstream.requests) >= 2  # split for Orpheus's 200-character limit
    with pytest.raises(openai.BadRequestError, match="does not exist"):
        client.audio.speech.create(model="no-such-tts", voice="x", input="hi")


def test_a_short_clip_skips_the_queue_with_a_remote_provider(
    remote_tts: tuple[str, GroqServer],
) -> None:
    """The session's worker runs the local engine: had this gone through the queue, the
    upstream would have seen no request at all."""
    url, upstream = remote_tts
    upstream.clear()
    client = openai.OpenAI(base_url=f"{url}/openai/v1", api_key="unused", max_retries=0)
    with (SAMPLES / "short.wav").open("rb") as f:
        result = client.audio.transcriptions.create(
            file=f, model="whisper-large-v3-turbo", response_format="verbose_json", language="en"
        )
    uploads = [r for r in upstream.requests if r.path.endswith("/audio/transcriptions")]
    assert len(uploads) == 1 and uploads[0].file_content_type == "audio/flac"
    assert result.text.startswith("tone")  # what the test server heard
    assert result.duration == pytest.approx(10.26, abs=0.1)  # type: ignore[attr-defined]
