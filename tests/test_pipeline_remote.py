"""The pipeline against a Groq-compatible server: chunk uploads, prompt, offsets, failures."""

from __future__ import annotations

import pytest

from audiosvc.chunking import ChunkParams, plan_chunks
from audiosvc.errors import ProviderAuthError
from audiosvc.media import DecodedAudio
from audiosvc.pipeline import transcribe_audio
from audiosvc.providers.base import TranscribeOptions
from audiosvc.providers.openai_compat import OpenAICompatProvider
from audiosvc.settings import Settings
from audiosvc.transcript import Word
from tests.groq_server import DEFAULT_API_KEY, Fault, GroqServer, groq_server_fixture

__all__ = ["groq_server_fixture"]


def _provider(
    server: GroqServer, settings: Settings, key: str = DEFAULT_API_KEY
) -> OpenAICompatProvider:
    s = settings.model_copy(
        update={"requests_per_minute": 0, "audio_seconds_per_hour": 0, "backoff_base": 0.01}
    )
    return OpenAICompatProvider(server.url, key, settings=s, name="groq")


def test_chunked_remote_transcript_matches_whole_file(
    groq_server: GroqServer, settings: Settings, meeting_audio: DecodedAudio
) -> None:
    """The server 'hears' one word per sound region. Sent whole or in 30 s chunks (some
    overlapped), the stitched words must be the same words at the same file times."""
    provider = _provider(groq_server, settings)
    opts = TranscribeOptions(model="whisper-large-v3-turbo", language="en", prompt="Tom, Anna")
    whole = transcribe_audio(meeting_audio, opts, provider, settings, chunk_seconds=300)
    groq_server.clear()
    chunked = transcribe_audio(meeting_audio, opts, provider, settings, chunk_seconds=30)

    uploads = [r for r in groq_server.requests if r.path.endswith("/audio/transcriptions")]
    assert len(uploads) >= 7
    for r in uploads:
        assert r.field("prompt") == "Tom, Anna"  # the prompt goes with every chunk
        assert r.fields["timestamp_granularities[]"] == ["word", "segment"]
        assert r.file_content_type == "audio/flac"
    # The server's energy detector works on a 20 ms grid that starts at each upload's start,
    # so two close sounds may merge into one "word" in one run and not the other. What must
    # hold: every sound heard in the whole file is heard at the same file time in the chunked
    # run and vice versa (offsets applied, nothing lost), away from the cut points.
    plans = plan_chunks(meeting_audio.pcm, ChunkParams.from_settings(settings, 30))
    assert any(p.overlap for p in plans)  # the pause-free stretch forces an overlap
    cuts = [p.start_seconds for p in plans[1:]] + [p.end_seconds for p in plans[:-1]]

    def far(w: Word) -> bool:
        return all(abs(w.start - c) > 1.0 and abs(w.end - c) > 1.0 for c in cuts)

    def heard(w: Word, others: list[Word]) -> bool:
        return any(min(w.end, o.end) - max(w.start, o.start) > 0.02 for o in others)

    assert all(heard(w, chunked.words) for w in whole.words if far(w))
    assert all(heard(w, whole.words) for w in chunked.words if far(w))
    # Nothing doubled anywhere: words never overlap in time, and the counts agree.
    for a, b in zip(chunked.words, chunked.words[1:], strict=False):
        assert b.start >= a.end - 0.02
    assert abs(len(chunked.words) - len(whole.words)) <= len(plans)
    assert chunked.words[-1].end > 200  # offsets applied: times run to the end of the file


def test_bad_key_fails_fast_with_the_providers_message(
    groq_server: GroqServer, settings: Settings, short_audio: DecodedAudio
) -> None:
    provider = _provider(groq_server, settings, key="gsk_wrong")
    with pytest.raises(ProviderAuthError, match="401"):
        transcribe_audio(short_audio, TranscribeOptions(language="en"), provider, settings)
    assert len(groq_server.requests) == 1


def test_transient_failures_are_retried(
    groq_server: GroqServer, settings: Settings, short_audio: DecodedAudio
) -> None:
    groq_server.fail_next(
        Fault.error(429, "Rate limit reached", retry_after=0.05), Fault.error(500, "oops")
    )
    provider = _provider(groq_server, settings)
    result = transcribe_audio(short_audio, TranscribeOptions(language="en"), provider, settings)
    assert result.words
    assert len(groq_server.requests) == 3
