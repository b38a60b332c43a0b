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
from audiosvc.quality import compression_ratio
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
        if options.live and not options.word_timestamps and clip.duration <= _FITTED_MAX_SECONDS:
            fitted = _fitted(model, clip, options, task)
            s = self.settings
            if not repeats(fitted.text) and all(
                seg.compression_ratio <= s.compression_ratio_threshold
                and seg.avg_logprob >= s.logprob_threshold
                for seg in fitted.segments
            ):
                return fitted
            # A loop or a doubtful decode: the full window with beam search and Whisper's
            # temperature fallback, as for any chunk (seen once in tests, on 4.4 s).
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


# Measured on these 2 cores (tiny.en, a 5 s turn): the encoder takes 0.55 s over Whisper's
# 30 s window, 0.065 s over a 10 s context, and the text is the same.
_FITTED_MAX_SECONDS = 28.0
# Shorter contexts made greedy decoding loop on 1 s turns ("Great. Thank you all. Great.
# Thank you all...": 1 of the 17 turns of conversation.flac at 6 s, none at 10 s).
_FITTED_MIN_SECONDS = 10
_FRAMES_PER_SECOND = 100


def repeats(text: str, min_words: int = 2) -> bool:
    """Whether ``text`` says a phrase of ``min_words`` or more words twice in a row: how a
    decoding loop shows in a short text, before its compression ratio gives it away."""
    w = text.lower().split()
    return any(
        w[i : i + n] == w[i + n : i + 2 * n]
        for n in range(min_words, len(w) // 2 + 1)
        for i in range(len(w) - 2 * n + 1)
    )


def _fitted(
    model: AligningWhisperModel,
    clip: AudioClip,
    options: TranscribeOptions,
    task: Task,
) -> Transcript:
    """One short clip in one decode, with Whisper's audio context fitted to it: the clip plus
    at least a second of silence, in whole seconds and at least 10 s, instead of the 30 s
    window faster-whisper pads every input to. Greedy decoding at temperature 0 (beam 5
    took 0.49 s on a 5 s turn here, greedy 0.25 s, same text), no timestamps; the segment
    carries Whisper's own reliability figures, so the pipeline's filters apply as to any
    chunk."""
    from faster_whisper.tokenizer import Tokenizer
    from faster_whisper.transcribe import get_suppressed_tokens

    seconds = max(_FITTED_MIN_SECONDS, int(clip.duration) + 2)
    audio = np.zeros(seconds * SAMPLE_RATE, np.float32)
    audio[: len(clip.pcm)] = clip.pcm.astype(np.float32) / 32768.0
    features = model.feature_extractor(audio)[:, : seconds * _FRAMES_PER_SECOND]
    encoded = model.encode(features)
    language = options.language
    if model.model.is_multilingual and language is None:
        found = model.model.detect_language(encoded)[0]
        language = found[0][0].strip("<|>") if found else "en"
    tokenizer = Tokenizer(
        model.hf_tokenizer,
        model.model.is_multilingual,
        task=task,
        language=language if model.model.is_multilingual else "en",
    )
    previous = tokenizer.encode(" " + options.prompt.strip()) if options.prompt else []
    prompt = model.get_prompt(tokenizer, previous, without_timestamps=True)
    result = model.model.generate(
        encoded,
        [prompt],
        beam_size=1,
        # Speech runs at most ~5 tokens a second: a greedy loop stops early, and cheaply.
        max_length=min(model.max_length, len(prompt) + 16 + 8 * seconds),
        return_scores=True,
        return_no_speech_prob=True,
        suppress_blank=True,
        suppress_tokens=list(get_suppressed_tokens(tokenizer, (-1,)) or ()),
    )[0]
    tokens = [t for t in result.sequences_ids[0] if t < tokenizer.eot]
    text = tokenizer.decode(tokens)
    segments = []
    if text.strip():
        segments.append(
            Segment(
                id=0,
                start=0.0,
                end=clip.duration,
                text=text,
                tokens=tokens,
                avg_logprob=result.scores[0] * len(tokens) / (len(tokens) + 1),
                compression_ratio=compression_ratio(text),
                no_speech_prob=result.no_speech_prob,
            )
        )
    metrics.count("audiosvc_provider_requests", provider="local", status="ok")
    out_language = output_language(task, language) or language or "en"
    return Transcript(
        task=task,
        language=out_language,
        duration=clip.duration,
        text=text.strip(),
        segments=segments,
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
