"""Shared fixtures: settings with a private data dir, the bundled samples, the local engine."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import jiwer
import pytest

os.environ["HF_HUB_OFFLINE"] = "1"

from audiosvc.media import DecodedAudio, decode
from audiosvc.providers.local import LocalProvider
from audiosvc.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"


def normalize(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split())


def wer(reference: str, hypothesis: str) -> float:
    return float(jiwer.wer(normalize(reference), normalize(hypothesis)))


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings as a user with no configuration gets them, with a private data dir and 2
    threads (the measured best on 2 cores). The environment's keys are cleared so a
    developer's GROQ_API_KEY never leaks into a test."""
    return Settings(
        data_dir=tmp_path_factory.mktemp("data"), cpu_threads=2, api_key=None, provider=None
    )


@pytest.fixture(scope="session")
def local(settings: Settings) -> LocalProvider:
    return LocalProvider(settings)


@pytest.fixture(scope="session")
def short_audio() -> DecodedAudio:
    return decode(SAMPLES / "short.wav")


@pytest.fixture(scope="session")
def short_text() -> str:
    return (SAMPLES / "short.txt").read_text()


@pytest.fixture(scope="session")
def meeting_audio() -> DecodedAudio:
    return decode(SAMPLES / "meeting.m4a")


@pytest.fixture(scope="session")
def meeting_text() -> str:
    return (SAMPLES / "meeting.txt").read_text()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith("AUDIOSVC_") or name in ("GROQ_API_KEY", "OPENAI_API_KEY"):
            monkeypatch.delenv(name)
    yield
