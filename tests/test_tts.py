"""Local TTS with the real Piper voice, and the sentence splitter."""

from __future__ import annotations

import itertools
import math
import subprocess
import sys
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audiosvc import tts
from audiosvc.errors import InvalidRequestError
from audiosvc.tts import (
    DEFAULT_MAX_CHARS,
    DEFAULT_VOICE,
    VOICE_ALIASES,
    VOICES,
    PiperTTS,
    resolve_voice,
    split_sentences,
)

JOE = "en_US-joe-medium"
FOX = "The quick brown fox jumps over the lazy dog."


def seconds(chunks: list[np.ndarray], rate: int) -> float:
    return sum(len(c) for c in chunks) / rate


# --- voices ----------------------------------------------------------------------------------


def test_installed_voice_is_discovered_with_its_alias() -> None:
    assert JOE in VOICES
    assert VOICE_ALIASES["joe"] == JOE
    assert DEFAULT_VOICE == JOE
    info = VOICES[JOE]
    assert info.model_path.is_file() and info.config_path.is_file()
    assert (info.language, info.speaker, info.sample_rate) == ("en_US", "joe", 22_050)


@pytest.mark.parametrize("name", [JOE, "joe", "JOE", " en_us-joe-medium ", None])
def test_voice_names_resolve(name: str | None) -> None:
    assert resolve_voice(name).name == JOE


def test_import_loads_no_model() -> None:
    """Importing the module (what every API worker does) must not load onnxruntime or a voice."""
    code = (
        "import sys, audiosvc.tts as t\n"
        "assert 'onnxruntime' not in sys.modules and 'piper' not in sys.modules\n"
        "assert t.loaded_voices() == []\n"
        "p = t.PiperTTS()\n"
        "assert p.sample_rate == 22050 and t.loaded_voices() == []\n"
        "g = p.synthesize('Hello.')\n"  # checked, but not started: still nothing loaded
        "assert t.loaded_voices() == []\n"
        "next(g)\n"
        "assert t.loaded_voices() == ['en_US-joe-medium']\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- speech ----------------------------------------------------------------------------------


@pytest.mark.engine
def test_speaks_plausible_audio_one_array_per_sentence() -> None:
    piper = PiperTTS()
    chunks = list(piper.synthesize(f"{FOX} Then it runs away! Does it come back?"))
    assert len(chunks) == 3
    assert all(c.dtype == np.int16 and c.ndim == 1 and c.size for c in chunks)
    assert all(np.abs(c.astype(np.int32)).max() > 8_000 for c in chunks)  # sound, not silence
    # about 15 words: at 2 to 4 words a second, 3.5 to 8 seconds
    assert 3.5 < seconds(chunks, piper.sample_rate) < 8.0
    fox = list(piper.synthesize(FOX))
    assert 1.5 < seconds(fox, piper.sample_rate) < 4.5


@pytest.mark.engine
def test_speed_changes_duration() -> None:
    piper = PiperTTS(noise_scale=0.0, noise_w_scale=0.0)
    text = f"{FOX} It was a sunny afternoon in the middle of the summer."
    normal = seconds(list(piper.synthesize(text)), piper.sample_rate)
    fast = seconds(list(piper.synthesize(text, speed=2.0)), piper.sample_rate)
    slow = seconds(list(piper.synthesize(text, speed=0.5)), piper.sample_rate)
    assert fast / normal < 0.75
    assert slow / normal > 1.5


@pytest.mark.engine
def test_long_text_is_split_and_spoken_whole() -> None:
    piper = PiperTTS(max_chars=60)
    text = " ".join(["the red bus stops near the old bridge and"] * 4) + " then it leaves."
    chunks = list(piper.synthesize(text))
    assert len(chunks) == len(split_sentences(text, 60)) >= 3
    assert seconds(chunks, piper.sample_rate) > 6.0


@pytest.mark.engine
def test_without_noise_speech_is_identical_across_threads() -> None:
    """One shared model, many threads: same input, same samples (noise off makes it exact)."""
    piper = PiperTTS(noise_scale=0.0, noise_w_scale=0.0)
    results: list[bytes] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            results.append(b"".join(c.tobytes() for c in piper.synthesize(FOX, voice="joe")))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 4 and len(set(results)) == 1
    assert tts.loaded_voices() == [JOE]


# --- errors ----------------------------------------------------------------------------------


def test_unknown_voice_names_the_valid_ones() -> None:
    with pytest.raises(InvalidRequestError) as err:
        PiperTTS().synthesize("Hello.", voice="alloy")
    assert err.value.param == "voice"
    assert JOE in err.value.message and "joe" in err.value.message
    with pytest.raises(InvalidRequestError):
        PiperTTS("nobody")


@pytest.mark.parametrize("speed", [0.49, 5.01, 0.0, -1.0, math.nan, math.inf])
def test_speed_out_of_range(speed: float) -> None:
    with pytest.raises(InvalidRequestError) as err:
        PiperTTS().synthesize("Hello.", speed=speed)
    assert err.value.param == "speed"


@pytest.mark.parametrize("speed", [0.5, 5.0])
def test_speed_bounds_are_allowed(speed: float) -> None:
    PiperTTS().synthesize("Hello.", speed=speed)  # checked eagerly, not spoken


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_input(text: str) -> None:
    with pytest.raises(InvalidRequestError) as err:
        PiperTTS().synthesize(text)  # raises at the call, before any iteration
    assert err.value.param == "input"


# --- split_sentences -------------------------------------------------------------------------


def test_splits_at_sentence_ends() -> None:
    text = 'Hello there.  How are you?\nFine, thanks! "Really?" she asked. Pi is 3.14 today.'
    assert split_sentences(text) == [
        "Hello there.",
        "How are you?",
        "Fine, thanks!",
        '"Really?"',
        "she asked.",
        "Pi is 3.14 today.",
    ]


def test_blank_lines_end_a_sentence() -> None:
    assert split_sentences("A heading\n\nThe body text\ngoes on") == [
        "A heading",
        "The body text goes on",
    ]


def test_long_sentence_is_cut_at_a_comma_then_between_words() -> None:
    text = "When the rain stopped, the children ran outside and played in the puddles all day"
    assert split_sentences(text, 40) == [
        "When the rain stopped,",
        "the children ran outside and played in",
        "the puddles all day",
    ]


def test_the_limit_is_exact() -> None:
    assert split_sentences("aaaa bbbb", 9) == ["aaaa bbbb"]
    assert split_sentences("aaaa bbbb", 8) == ["aaaa", "bbbb"]


def test_a_word_longer_than_the_limit_is_cut() -> None:
    """No piece passes the limit: a synthesizer's memory grows with its input."""
    assert split_sentences("a supercalifragilistic b", 10) == ["a", "supercalif", "ragilistic", "b"]
    assert max(map(len, split_sentences("x" * 100_000))) == DEFAULT_MAX_CHARS


def test_pack_joins_sentences_up_to_the_limit() -> None:
    text = "Yes. No. Maybe so. I think that it will rain later today."
    assert split_sentences(text, 20, pack=True) == [
        "Yes. No. Maybe so.",
        "I think that it will",
        "rain later today.",
    ]


def test_nothing_to_say() -> None:
    assert split_sentences("") == split_sentences(" \n ") == []
    with pytest.raises(ValueError):
        split_sentences("x", 0)


_ALPHABET = "abcdefghij   .,!?;:'\"\n\n\t\u2014\u201d"  # letters, spaces, newlines, punctuation


@settings(max_examples=400, deadline=None)
@given(text=st.text(_ALPHABET, max_size=400), max_chars=st.integers(1, 80), pack=st.booleans())
def test_split_keeps_every_character_and_the_limit(text: str, max_chars: int, pack: bool) -> None:
    pieces = split_sentences(text, max_chars, pack=pack)
    # nothing lost or added but whitespace; cut between words, or inside a word too long
    assert "".join(" ".join(pieces).split()) == "".join(text.split())
    if all(len(word) <= max_chars for word in text.split()):
        assert " ".join(pieces) == " ".join(text.split())
    for piece in pieces:
        assert piece and piece == piece.strip()
        assert len(piece) <= max_chars
    if pack:
        assert len(pieces) <= len(split_sentences(text, max_chars))


@settings(max_examples=200, deadline=None)
@given(
    words=st.lists(st.text("abcdefg", min_size=1, max_size=12), min_size=1, max_size=60),
    max_chars=st.integers(12, 60),
)
def test_split_without_punctuation_fills_pieces(words: list[str], max_chars: int) -> None:
    """With no sentence ends, cuts are only forced by the limit: no piece could have taken
    the next word."""
    pieces = split_sentences(" ".join(words), max_chars)
    assert " ".join(pieces) == " ".join(words)
    assert all(len(piece) <= max_chars for piece in pieces)  # no word is longer than the limit
    for piece, after in itertools.pairwise(pieces):
        assert len(piece) + 1 + len(after.split()[0]) > max_chars
