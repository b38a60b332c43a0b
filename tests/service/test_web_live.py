"""The web app's live page in headless Chromium, its microphone a fake device fed from a
sample file: live captions, and a conversation with the voice bot, against the real service
(the session's API over uvicorn, the local engine, Piper)."""

from __future__ import annotations

import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from audiosvc.media import decode
from tests.browser import CHROMIUM_ARGS, Watched, chromium_path, watched_page
from tests.measures import wer
from tests.service.harness import Api

pytestmark = pytest.mark.engine

SAMPLES = Path(__file__).resolve().parent.parent.parent / "samples"


def _microphone(path: Path) -> Path:
    """short.wav, then 3 s of silence (so its last turn ends), as the fake microphone."""
    pcm = np.concatenate([decode(SAMPLES / "short.wav").pcm, np.zeros(48000, np.int16)])
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(16000)
        f.writeframes(pcm.tobytes())
    return path


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    mic = _microphone(tmp_path_factory.mktemp("mic") / "speech.wav")
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=chromium_path(),
            args=[
                *CHROMIUM_ARGS,
                "--use-fake-ui-for-media-stream",  # allow the microphone without asking
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={mic}%noloop",
            ],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser, api: Api) -> Iterator[Watched]:
    with watched_page(browser, api.url) as w:
        yield w
        assert not w.problems(), w.problems()


def _said(p: Page, who: str) -> str:
    return " ".join(p.locator(f"#live-turns .turn.{who}.final .said").all_inner_texts())


def test_live_captions_from_the_microphone(page: Watched, api: Api) -> None:
    p = page.page
    p.goto(api.url + "/#/live")
    p.select_option("#live-language", "en")  # English's own model: the fast one
    p.click("#live-captions")
    p.wait_for_selector("body[data-live-state='listening']")
    # Words appear while the sentence is still being spoken, then the turn's final text.
    p.wait_for_selector("#live-turns .turn.user.partial .said:not(:empty)", timeout=30_000)
    expect(p.locator("#live-turns .turn.user.final")).to_have_count(2, timeout=60_000)
    text = _said(p, "user")
    assert wer((SAMPLES / "short.txt").read_text(), text) <= 0.15  # measured 0.0
    page.screenshot("live-captions")
    p.click("#live-stop")
    p.wait_for_selector("body[data-live-state='stopped']")


def test_talking_to_the_bot(page: Watched, api: Api) -> None:
    p = page.page
    p.goto(api.url + "/#/live")
    p.select_option("#live-language", "en")
    p.click("#live-talk")
    p.wait_for_selector("body[data-live-state='listening']")
    # (An answer begun after the first sentence is cut short when the second one starts.)
    bot = p.locator("#live-turns .turn.bot", has_text="You said").first
    expect(bot).to_be_visible(timeout=60_000)
    p.wait_for_function(
        "() => Number(document.querySelector('#live-turns').dataset.botAudioMs || 0) > 500"
    )
    page.screenshot("live-bot")
    p.click("#live-stop")
