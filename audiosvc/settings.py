"""Configuration from the environment (``AUDIOSVC_*``), with the embedded defaults.

With nothing set, everything runs locally and offline: the local engine, an embedded Redis
(next issue) and a data dir under the user's cache.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ProviderName = Literal["local", "groq", "openai"]

DEFAULT_BASE_URLS: dict[str, str] = {
    "groq": "https://api.groq.com/openai/v1",
    "openai": "https://api.openai.com/v1",
}


def reveal(secret: SecretStr | str | None) -> str | None:
    """A key's value, where it is used. Keys are ``SecretStr`` so that no repr, log line or
    error message of the settings shows them."""
    return secret.get_secret_value() if isinstance(secret, SecretStr) else secret


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "audiosvc"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AUDIOSVC_", extra="ignore", populate_by_name=True)

    # --- where things live
    data_dir: Path = Field(default_factory=_default_data_dir)

    # --- service
    redis_url: str | None = None  # None: start an embedded redis-server under data_dir
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = ""  # base of links in job views and webhooks (unset: paths)
    api_keys: SecretStr | None = None  # comma-separated; when set, a Bearer key is required
    max_upload_bytes: int = 1024**3  # 1 GB
    # Below this much free space on the data dir's disk, uploads and downloads are refused
    # (507): the room left is for the chunks and transcripts of jobs already accepted.
    min_free_bytes: int = Field(default=1024**3, ge=0)
    # Per API key (a service without keys has none): 0 lifts a limit.
    key_requests_per_minute: int = Field(default=600, ge=0)
    key_jobs_in_flight: int = Field(default=20, ge=0)
    allow_private_urls: bool = False  # let `url` jobs fetch loopback/private addresses
    url_fetch_timeout: float = 60.0  # the longest silence of a URL's server
    url_fetch_max_seconds: float = 1800.0  # the longest a URL's whole download may take
    result_ttl_seconds: float = 7 * 24 * 3600
    cleanup_interval_seconds: float = 600.0
    visibility_timeout: float = 3600.0  # above the worst chunk time
    # How often workers look for tasks a dead worker left unacknowledged (kombu's sweep).
    unacked_restore_interval: int = 30
    # How long a worker waits for Redis to come back (reconnecting with backoff) before a
    # task gives up; the API never waits: it answers 503 at once.
    redis_outage_seconds: float = Field(default=300.0, ge=0)
    worker_concurrency: int = 1
    io_threads: int = 8  # threads of an io-lane worker (downloads, decoding, webhooks)
    webhook_secret: SecretStr | None = None
    webhook_timeout: float = 10.0
    webhook_max_retries: int = 6

    # --- provider
    provider: ProviderName | None = None  # None: groq when GROQ_API_KEY is set, else local
    api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("AUDIOSVC_API_KEY", "GROQ_API_KEY")
    )
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("AUDIOSVC_OPENAI_API_KEY", "OPENAI_API_KEY")
    )
    base_url: str | None = None
    request_timeout: float = 60.0  # seconds, for the response after the upload
    upload_min_bytes_per_second: float = 256_000  # upload timeout grows with the chunk size
    max_retries: int = 5
    backoff_base: float = 1.0
    backoff_max: float = 60.0
    requests_per_minute: int = 20  # Groq free tier
    audio_seconds_per_hour: float = 7200.0  # Groq free tier
    max_parallel_requests: int = 4
    # Uploads up to this long skip the queue on /openai/v1/audio/* with a remote provider.
    quick_max_seconds: float = 60.0
    # How long a synchronous /openai/v1/audio/* request waits for its job before a 504 that
    # names the job (which goes on, at /v1/jobs/{id}).
    sync_wait_seconds: float = 600.0

    # --- chunking
    chunk_seconds: float | None = None  # None: provider default (remote 600, local below)
    remote_chunk_seconds: float = 600.0
    # Measured (bench/pipeline_vs_raw.py): faster-whisper with word timestamps drops phrases
    # on long inputs; 60 s chunks were as fast as the raw engine and the most accurate.
    local_chunk_seconds: float = 60.0
    min_chunk_seconds: float = 10.0  # Groq bills at least 10 s per request
    overlap_seconds: float = 5.0
    silence_search_seconds: float = 60.0
    min_silence_ms: int = 300
    silence_thresh_db: float = -16.0  # relative to the window's loudness (dBFS)
    max_chunk_bytes: int = 25 * 1024 * 1024  # Groq free tier upload limit

    # --- local engine
    local_model: str = "auto"
    cpu_threads: int = 0  # 0: one per core
    beam_size: int = 5

    # --- hallucination control: a VAD speech gate, and Groq's documented thresholds
    speech_gate: bool = True
    no_speech_threshold: float = 0.6
    logprob_threshold: float = -1.0
    compression_ratio_threshold: float = 2.4

    # --- spoken replies (jobs with reply=chat)
    chat_base_url: str | None = None  # e.g. https://api.groq.com/openai/v1
    chat_model: str | None = None
    chat_api_key: SecretStr | None = None  # default: the provider key
    chat_system_prompt: str = (
        "You are a helpful voice assistant. Answer the user's words briefly, in plain "
        "sentences that read well aloud."
    )
    speech_voice: str | None = None  # default voice of spoken replies
    # The longest text one speech request or spoken reply may say (OpenAI's limit too).
    speech_max_chars: int = Field(default=4096, ge=1)

    # --- live sessions (WebSocket, /openai/v1/realtime)
    realtime_max_sessions: int = Field(default=8, ge=1)  # per API process
    realtime_idle_seconds: float = Field(default=120.0, gt=0)  # closed after no event this long
    realtime_max_event_bytes: int = Field(default=1024 * 1024, ge=1024)  # one client frame
    realtime_max_turn_seconds: float = Field(default=60.0, gt=0)  # a longer turn is committed
    realtime_partial_seconds: float = Field(default=0.5, gt=0)  # partials' cadence

    # --- subtitles
    subtitle_max_line_chars: int = 42
    subtitle_max_lines: int = 2
    subtitle_max_cue_seconds: float = 7.0
    subtitle_min_cue_seconds: float = 0.5
    subtitle_pause_seconds: float = 0.6

    @model_validator(mode="after")
    def _keys_are_keys(self) -> Settings:
        """``AUDIOSVC_API_KEYS`` set but naming no key (``","``, spaces) would run the service
        with no auth at all: a start-up error, not an open service."""
        if self.api_keys is not None and reveal(self.api_keys) and not self.api_key_list():
            raise ValueError("AUDIOSVC_API_KEYS: set but names no key (comma-separated keys)")
        return self

    @model_validator(mode="after")
    def _chunking_is_possible(self) -> Settings:
        """A bad chunking setting fails when the settings load (the start of a service or a
        CLI run), not in a user's request."""
        from audiosvc.chunking import ChunkParams
        from audiosvc.errors import InvalidRequestError

        try:
            ChunkParams.from_settings(self).validate()
        except InvalidRequestError as exc:
            raise ValueError(f"AUDIOSVC_{(exc.param or '').upper()}: {exc.message}") from None
        return self

    def resolved_provider(self) -> ProviderName:
        if self.provider is not None:
            return self.provider
        return "groq" if reveal(self.api_key) else "local"

    def resolved_chunk_seconds(self) -> float:
        if self.chunk_seconds is not None:
            return self.chunk_seconds
        if self.resolved_provider() == "local":
            return self.local_chunk_seconds
        return self.remote_chunk_seconds

    @property
    def model_cache_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def jobs_dir(self) -> Path:
        return self.data_dir / "jobs"

    def api_key_list(self) -> list[str]:
        return [k.strip() for k in (reveal(self.api_keys) or "").split(",") if k.strip()]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
