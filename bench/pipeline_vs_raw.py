"""Pipeline vs the raw engine on the same multi-minute file: wall time and WER.

Raw: faster-whisper called directly on the whole decoded file, with the same model,
threads, beam size and temperatures as the pipeline, with and without its own word timestamps.
The pipeline decodes text without them and aligns words afterwards; it runs with words (as
jobs and subtitles do) and text only. All variants share one
loaded model; a warm-up (model load, then the raw engine and the pipeline on 30 s of the
file) runs before any timing. Each variant then runs --runs times: every round runs all the
variants, starting from a different one each round, and the figures are medians. Besides
wall time, the CPU time of this process (all threads) is reported: less sensitive than wall
time to other work on a shared machine.

Targets: pipeline <= 1.1x raw and no less accurate; chunked WER within 0.5 points of
whole-file WER at every chunk size from 30 s up.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Callable
from pathlib import Path

import jiwer
import numpy as np
from _common import SAMPLES, measured_row, median, normalize, rotated, table, timed, wer

from audiosvc.chunking import SAMPLE_RATE
from audiosvc.media import DecodedAudio, decode
from audiosvc.pipeline import transcribe_audio
from audiosvc.providers.base import TranscribeOptions
from audiosvc.providers.local import _FALLBACK_TEMPERATURES, LocalProvider, load_model
from audiosvc.settings import Settings

MIN_PHRASE = 3  # reference words in a row missing from a transcript


def missing_phrases(reference: str, hypothesis: str) -> list[str]:
    """Runs of at least MIN_PHRASE reference words that the hypothesis drops."""
    ref = normalize(reference)
    out = jiwer.process_words(ref, normalize(hypothesis))
    words = ref.split()
    return [
        " ".join(words[a.ref_start_idx : a.ref_end_idx])
        for a in out.alignments[0]
        if a.type == "delete" and a.ref_end_idx - a.ref_start_idx >= MIN_PHRASE
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--file", type=Path, default=SAMPLES / "meeting.m4a")
    parser.add_argument("--reference", type=Path, default=SAMPLES / "meeting.txt")
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument(
        "--chunks", default="30,120,300", help="chunk sizes besides the default (60 s)"
    )
    parser.add_argument("--runs", type=int, default=3, help="runs of each variant (default 3)")
    parser.add_argument("--quick", action="store_true", help="only the default chunks, 1 run")
    args = parser.parse_args()
    runs = 1 if args.quick else args.runs

    settings = Settings(cpu_threads=2)
    reference = args.reference.read_text()
    audio = decode(args.file)
    model = load_model(args.model, settings)
    language = None if args.model == "base" else "en"
    options = TranscribeOptions(model=args.model, language=language)
    provider = LocalProvider(settings)

    def raw(a: DecodedAudio, words: bool) -> str:
        segments, _ = model.transcribe(
            a.pcm.astype(np.float32) / 32768.0,
            language=language,
            beam_size=settings.beam_size,
            word_timestamps=words,
            temperature=list(_FALLBACK_TEMPERATURES),
        )
        return "".join(s.text for s in segments)

    def pipeline(a: DecodedAudio, chunk: float | None, words: bool = True) -> str:
        opts = dataclasses.replace(options, word_timestamps=words)
        return transcribe_audio(a, opts, provider, settings, chunk_seconds=chunk).text

    # Warm-up, not timed: the first calls load the VAD model and initialise the engine.
    head = DecodedAudio(audio.pcm[: 30 * SAMPLE_RATE])
    raw(head, True)
    pipeline(head, None)

    sizes = [] if args.quick else [float(c) for c in args.chunks.split(",") if c]
    default = settings.local_chunk_seconds
    variants: list[tuple[str, Callable[[], str]]] = [
        ("raw engine, whole file", lambda: raw(audio, True)),
        ("raw engine, no word timestamps", lambda: raw(audio, False)),
        (f"pipeline, default ({default:g} s chunks)", lambda: pipeline(audio, None)),
        ("pipeline, default, text only", lambda: pipeline(audio, None, words=False)),
    ]
    variants += [
        (f"pipeline, {c:g} s chunks", lambda c=c: pipeline(audio, c)) for c in sizes if c != default
    ]
    secs: dict[str, list[float]] = {name: [] for name, _ in variants}
    cpu: dict[str, list[float]] = {name: [] for name, _ in variants}
    texts: dict[str, list[str]] = {name: [] for name, _ in variants}
    for r in range(runs):
        for name, fn in rotated(variants, r):
            c0 = time.process_time()
            text, s = timed(fn)
            cpu[name].append(time.process_time() - c0)
            secs[name].append(s)
            texts[name].append(text)

    raw_name = variants[0][0]
    raw_s, raw_cpu = median(secs[raw_name]), median(cpu[raw_name])
    raw_wer = median([wer(reference, t) for t in texts[raw_name]])
    rows = [
        ["variant", "wall s", "runs s", "x raw", "CPU s", "x raw CPU", "WER %", "WER - raw (pts)"]
    ]
    base = (raw_s, raw_cpu, raw_wer * 100)
    for name, _ in variants:
        row = measured_row(name, secs[name], cpu[name], texts[name], reference, base)
        rows.append(row)
    print(
        f"file: {args.file.name} ({audio.duration:.0f} s), model {args.model}, 2 threads, "
        f"beam {settings.beam_size}, word timestamps unless said; {runs} runs of each variant, "
        "rotating order; medians (WER: median, with the range when runs differ)"
    )
    print(
        "targets: pipeline <= 1.10x raw and no less accurate; chunked WER within 0.5 points "
        "of whole-file WER at every chunk size from 30 s up"
    )
    print(table(rows))
    print(f"phrases of {MIN_PHRASE}+ reference words missing (first run):")
    for name, _ in variants:
        lost = missing_phrases(reference, texts[name][0])
        print(f"  {name}: " + ("; ".join(f'"{p}"' for p in lost) if lost else "none"))


if __name__ == "__main__":
    main()
