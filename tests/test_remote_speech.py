"""Remote text-to-speech through the provider protocol: Orpheus's limits are met by splitting
the text and joining the audio; other models pass through in one request."""

from __future__ import annotations

import io
from collections.abc import Iterator

import av
import pytest

from audiosvc.providers.base import SpeechOptions
from audiosvc.providers.openai_compat import ORPHEUS_MAX_CHARS, OpenAICompatProvider
from audiosvc.settings import Settings
from tests.groq_server import DEFAULT_API_KEY, GroqServer

LONG = " ".join(
    f"Item {name} is ready for review, and the notes are in the shared folder."
    for name in ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
)


@pytest.fixture
def server() -> Iterator[GroqServer]:
    with GroqServer() as s:
        yield s


@pytest.fixture
def provider(server: GroqServer) -> OpenAICompatProvider:
    settings = Settings().model_copy(update={"backoff_base": 0.01})
    return OpenAICompatProvider(server.url, DEFAULT_API_KEY, settings=settings, name="groq")


def _seconds(data: bytes) -> tuple[str, float]:
    with av.open(io.BytesIO(data)) as c:
        stream = c.streams.audio[0]
        samples = sum(f.samples for f in c.decode(stream))
        return c.format.name, samples / stream.rate


def test_orpheus_text_is_split_and_the_audio_joined(
    provider: OpenAICompatProvider, server: GroqServer
) -> None:
    assert len(LONG) > 3 * ORPHEUS_MAX_CHARS
    options = SpeechOptions(
        model="canopylabs/orpheus-v1-english", voice="tara", response_format="mp3"
    )
    audio = b"".join(provider.speak(LONG, options))
    sent = [r.json for r in server.requests]
    assert len(sent) >= 4
    assert all(len(body["input"]) <= ORPHEUS_MAX_CHARS for body in sent)
    assert all(body["response_format"] == "wav" for body in sent)
    assert " ".join(body["input"] for body in sent) == LONG  # every word, once, in order
    fmt, seconds = _seconds(audio)
    assert fmt == "mp3"
    # The test server speaks one tone per word: the joined audio holds all the pieces.
    one_piece = b"".join(provider.speak(sent[0]["input"], options))
    assert seconds > (len(sent) - 0.5) * _seconds(one_piece)[1] * 0.8


def test_other_models_pass_through_in_one_request(
    provider: OpenAICompatProvider, server: GroqServer
) -> None:
    options = SpeechOptions(model="playai-tts", voice="Fritz-PlayAI", response_format="flac")
    audio = b"".join(provider.speak("Hello there. Nice to meet you.", options))
    assert len(server.requests) == 1 and server.requests[0].json["response_format"] == "flac"
    assert _seconds(audio)[0] == "flac"
