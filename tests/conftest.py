"""Shared fixtures: settings with a private data dir, the bundled samples, the local engine."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"

from audiosvc.media import DecodedAudio, decode
from audiosvc.providers.local import LocalProvider
from audiosvc.settings import Settings
from tests.measures import MEASURED, normalize, wer

__all__ = ["SAMPLES", "normalize", "wer"]

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"


# What a developer's shell may set that would change what the tests run against: the
# service's settings, the provider keys, and the base URLs the official SDKs read.
_DEVELOPER_ENV = re.compile(r"AUDIOSVC_.*|(GROQ|OPENAI)_(API_KEY|BASE_URL)|CELERY_.*")


@pytest.fixture(scope="session", autouse=True)
def clean_env() -> Iterator[None]:
    """Every test runs as a user with no configuration: no developer's GROQ_API_KEY (or any
    AUDIOSVC_ setting) reaches a test, a session fixture or a process a test starts. Autouse
    and session-scoped, so it runs before every other session fixture."""
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if _DEVELOPER_ENV.fullmatch(name):
                mp.delenv(name)
        yield


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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests in a module that uses :mod:`tests.measures` are marked ``measured``: the
    model-output tests that ``make test-cpus`` reruns under every instruction set."""
    measured = pytest.mark.measured
    for item in items:
        module = getattr(item, "module", None)
        if module is not None and any(
            getattr(v, "__module__", None) == "tests.measures" for v in vars(module).values()
        ):
            item.add_marker(measured)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The model-output measures this run took, beside which the tests' bounds are set;
    also written as JSON lines to the file ``MEASURES_OUT`` names, for ``make test-cpus``."""
    if not MEASURED:
        return
    terminalreporter.section("model output measured")
    for test, measure, value in MEASURED:
        terminalreporter.write_line(f"{measure:>8} {value:6.3f}  {test}")
    if out := os.environ.get("MEASURES_OUT"):
        with open(out, "a", encoding="utf-8") as f:
            for test, measure, value in MEASURED:
                f.write(json.dumps({"test": test, "measure": measure, "value": value}) + "\n")
