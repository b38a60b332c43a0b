"""The local engine: faster-whisper (int8 on CPU) for speech to text, Piper for speech.

Models load lazily, once per process, on first use, never at import: a CTranslate2 model
created before ``fork()`` hangs in the child, so Celery workers must load after forking.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from audiosvc import metrics
from audiosvc.models import model_path, resolve_model
from audiosvc.providers.base import SAMPLE_RATE, AudioClip, SpeechOptions, TranscribeOptions
from audiosvc.settings import Settings
from audiosvc.transcript import Segment, Task, Transcript, Word, join_words, output_language

if TYPE_CHECKING:
    from audiosvc.providers.whisper_words import AligningWhisperModel

_models: dict[tuple[str, int], AligningWhisperModel] = {}
_models_lock = threading.Lock()

# Whisper's temperature fallback, used when the request's temperature is 0 (as Groq does).
_FALLBACK_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


def load_model(name: str, settings: Settings) -> AligningWhisperModel:
    """The process-wide instance of a local model, loaded on first use."""
    key = (name, settings.cpu_threads)
    with _models_lock:
        model = _models.get(key)
        if model is None:
            from audiosvc.providers.whisper_words import AligningWhisperModel

            model = AligningWhisperModel(
                str(model_path(name, settings.model_cache_dir)),
                device="cpu",
                compute_type="int8",
                cpu_threads=settings.cpu_threads,
                local_files_only=True,
            )
            _models[key] = model
        return model


def loaded_models() -> list[str]:
    with _models_lock:
        return sorted({name for name, _ in _models})


class LocalProvider:
    name = "local"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def needs_flac(self) -> bool:
        return False

    def transcribe(self, clip: AudioClip, options: TranscribeOptions) -> Transcript:
        return self._run(clip, options, "transcribe")

    def translate(self, clip: AudioClip, options: TranscribeOptions) -> Transcript:
        return self._run(clip, options, "translate")

    def _run(self, clip: AudioClip, options: TranscribeOptions, task: Task) -> Transcript:
        name = resolve_model(options.model, task, options.language)
        model = load_model(name, self.settings)
        audio = clip.pcm.astype(np.float32) / 32768.0
        temperature = (
            list(_FALLBACK_TEMPERATURES) if options.temperature == 0 else [options.temperature]
        )
        # The text is decoded without word timestamps (they change what faster-whisper
        # hears); words, when asked for, are aligned to the decoded tokens afterwards.
        decoded, info = model.decode(
            audio,
            words=options.word_timestamps,
            task=task,
            language=None if name.endswith(".en") else options.language,
            initial_prompt=options.prompt or None,
            temperature=temperature,
            beam_size=self.settings.beam_size,
            vad_filter=False,
        )
        segments = [_segment(s, options.word_timestamps) for s in decoded]
        metrics.count("audiosvc_provider_requests", provider=self.name, status="ok")
        language = output_language(task, info.language) or info.language
        text = join_words([s.text.strip() for s in segments], language)
        return Transcript(
            task=task,
            language=language,
            duration=len(clip.pcm) / SAMPLE_RATE,
            text=text,
            segments=segments,
        )

    def speak(self, text: str, options: SpeechOptions) -> Iterator[bytes]:
        from audiosvc.encode import iter_encode_audio
        from audiosvc.tts import PiperTTS

        tts = PiperTTS(voice=options.voice)  # its rate is this voice's, not the default's
        pcm = tts.synthesize(text, voice=options.voice, speed=options.speed)
        yield from iter_encode_audio(
            pcm, tts.sample_rate, options.response_format, out_rate=options.sample_rate
        )


def _segment(s: object, with_words: bool) -> Segment:
    from faster_whisper.transcribe import Segment as FwSegment

    assert isinstance(s, FwSegment)
    words = None
    if with_words:
        words = [
            Word(word=w.word.strip(), start=w.start, end=w.end)
            for w in (s.words or [])
            if w.word.strip()
        ]
    return Segment(
        id=s.id,
        seek=s.seek,
        start=s.start,
        end=s.end,
        text=s.text,
        tokens=list(s.tokens),
        temperature=s.temperature or 0.0,
        avg_logprob=s.avg_logprob,
        compression_ratio=s.compression_ratio,
        no_speech_prob=s.no_speech_prob,
        words=words,
    )
