"""The pipeline: plan chunks, transcribe each (:func:`run_chunk`), assemble them
(:func:`assemble`). The CLI and the synchronous endpoints run it in one process
(:func:`transcribe_audio`); the workers run the same two functions, a chunk per task.

Chunks are independent (each carries the user's prompt), so remote providers get them in
parallel up to ``max_parallel_requests``; the local engine runs them one after another, since
it already uses every core for one chunk.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from audiosvc.chunking import SAMPLE_RATE, ChunkParams, ChunkPlan, plan_chunks
from audiosvc.encode import encode_audio
from audiosvc.errors import AudiosvcError, TooLargeError
from audiosvc.media import DecodedAudio, decode
from audiosvc.providers.base import AudioClip, SpeechProvider, TranscribeOptions
from audiosvc.quality import Thresholds, drop_unreliable, speech_regions
from audiosvc.settings import Settings
from audiosvc.stitching import ChunkTranscript, stitch
from audiosvc.transcript import Transcript, output_language
from audiosvc.word_times import speech_frames, with_placed_words

if TYPE_CHECKING:  # scipy and onnxruntime load only where speakers are found
    from audiosvc.speakers.clustering import SpeakerCount


@dataclass(frozen=True)
class Progress:
    chunks_done: int
    chunks_total: int
    seconds_done: float
    seconds_total: float


ProgressCallback = Callable[[Progress], None]


def make_clip(pcm: np.ndarray, plan: ChunkPlan, *, flac: bool, max_bytes: int | None) -> AudioClip:
    """The audio of one chunk; FLAC-encoded when the provider uploads it."""
    samples = pcm[plan.start : plan.end]
    if not flac:
        return AudioClip(pcm=samples, filename=f"chunk-{plan.index:04d}.pcm")
    data = encode_audio(samples, SAMPLE_RATE, "flac")
    if max_bytes is not None and len(data) > max_bytes:
        # Chunk planning bounds the length so that even raw PCM fits; this is a safety net.
        raise TooLargeError(
            f"chunk {plan.index} encodes to {len(data)} bytes, over the provider's "
            f"{max_bytes}-byte limit; lower chunk_seconds"
        )
    return AudioClip(pcm=samples, flac=data, filename=f"chunk-{plan.index:04d}.flac")


def transcribe_chunk(
    provider: SpeechProvider,
    clip: AudioClip,
    options: TranscribeOptions,
    thresholds: Thresholds,
    *,
    speech_gate: bool = True,
) -> Transcript:
    """One provider call for one chunk, with hallucinated segments dropped and words over
    their own sound. A chunk without speech is not sent at all (no cost, no invented text)."""
    regions = speech_regions(clip.pcm) if speech_gate else None
    if regions == []:
        return Transcript(
            task=options.task,
            language=output_language(options.task, options.language) or "",
            duration=clip.duration,
            text="",
            segments=[],
        )
    if options.task == "translate":
        result = provider.translate(clip, options)
    else:
        result = provider.transcribe(clip, options)
    result = drop_unreliable(result, thresholds, regions)
    if not any(s.words for s in result.segments):
        return result
    # Every provider's words, the local engine's too, are put over their own sound.
    placed = with_placed_words(result.segments, speech_frames(clip.pcm), 0.0, clip.duration)
    return result.model_copy(update={"segments": placed})


def run_chunk(
    samples: np.ndarray,
    plan: ChunkPlan,
    options: TranscribeOptions,
    provider: SpeechProvider,
    settings: Settings,
) -> Transcript:
    """Transcribe one planned chunk, ``samples`` being its audio (the file's
    ``pcm[plan.start:plan.end]``); times in the result are from the chunk's start."""
    clip = make_clip(
        samples,
        ChunkPlan(plan.index, 0, len(samples)),
        flac=provider.needs_flac(),
        max_bytes=settings.max_chunk_bytes,
    )
    return transcribe_chunk(
        provider,
        clip,
        options,
        Thresholds.from_settings(settings),
        speech_gate=settings.speech_gate,
    )


def assemble(
    plans: list[ChunkPlan],
    results: dict[int, Transcript],
    duration: float,
    options: TranscribeOptions,
) -> Transcript:
    """One transcript of the file from every chunk's result."""
    missing = [p.index for p in plans if p.index not in results]
    if missing:
        raise AudiosvcError(f"chunks {missing} have no result; the transcript cannot be made")
    return stitch(
        [ChunkTranscript(p, results[p.index]) for p in plans],
        duration=duration,
        task=options.task,
        language=output_language(options.task, options.language),
    )


def transcribe_audio(
    audio: DecodedAudio,
    options: TranscribeOptions,
    provider: SpeechProvider,
    settings: Settings,
    *,
    chunk_seconds: float | None = None,
    on_progress: ProgressCallback | None = None,
) -> Transcript:
    params = ChunkParams.from_settings(settings, chunk_seconds)
    plans = plan_chunks(audio.pcm, params)
    total = audio.duration
    done: list[ChunkPlan] = []
    lock = threading.Lock()

    def report(plan: ChunkPlan) -> None:
        with lock:
            done.append(plan)
            seconds = sum(p.new_seconds for p in done)
            progress = Progress(len(done), len(plans), seconds, total)
        if on_progress is not None:
            on_progress(progress)

    def run(plan: ChunkPlan) -> Transcript:
        result = run_chunk(audio.pcm[plan.start : plan.end], plan, options, provider, settings)
        report(plan)
        return result

    if on_progress is not None:
        on_progress(Progress(0, len(plans), 0.0, total))
    workers = 1 if not provider.needs_flac() else max(1, settings.max_parallel_requests)
    if workers == 1 or len(plans) == 1:
        results = [run(p) for p in plans]
    else:
        with ThreadPoolExecutor(max_workers=min(workers, len(plans))) as pool:
            results = list(pool.map(run, plans))
    return assemble(
        plans, {p.index: r for p, r in zip(plans, results, strict=True)}, total, options
    )


def transcribe_file(
    path: str | Path,
    options: TranscribeOptions,
    provider: SpeechProvider,
    settings: Settings,
    *,
    chunk_seconds: float | None = None,
    on_progress: ProgressCallback | None = None,
    speakers: SpeakerCount | None = None,
) -> Transcript:
    """Transcribe (or translate) a media file of any length; with ``speakers``, say who
    speaks each word and segment (found by the local models, whatever the provider)."""
    audio = decode(path)
    transcript = transcribe_audio(
        audio, options, provider, settings, chunk_seconds=chunk_seconds, on_progress=on_progress
    )
    if speakers is None:
        return transcript
    from audiosvc.speakers.attribution import attribute
    from audiosvc.speakers.find import find_speakers

    return attribute(transcript, find_speakers(audio.pcm, speakers).labelled_turns())
