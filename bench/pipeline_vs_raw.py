"""Pipeline vs the raw engine on the same multi-minute file: wall time and WER.

Raw: faster-whisper called directly on the whole decoded file, with the same model,
threads, beam size, temperatures and word timestamps as the pipeline. Both use the same
loaded model (loaded before timing). Targets: pipeline <= 1.1x raw and no less accurate;
chunked WER within 0.5 points of whole-file WER at every chunk size from 30 s up.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from _common import SAMPLES, table, timed, wer

from audiosvc.media import decode
from audiosvc.pipeline import transcribe_audio
from audiosvc.providers.base import TranscribeOptions
from audiosvc.providers.local import _FALLBACK_TEMPERATURES, LocalProvider, load_model
from audiosvc.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--file", type=Path, default=SAMPLES / "meeting.m4a")
    parser.add_argument("--reference", type=Path, default=SAMPLES / "meeting.txt")
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--chunks", default="30,60,120,300")
    parser.add_argument("--quick", action="store_true", help="only 60 s chunks")
    args = parser.parse_args()

    settings = Settings(cpu_threads=2)
    reference = args.reference.read_text()
    audio = decode(args.file)
    model = load_model(args.model, settings)  # warm: loading is not timed
    language = None if args.model == "base" else "en"
    options = TranscribeOptions(model=args.model, language=language)
    provider = LocalProvider(settings)
    samples = audio.pcm.astype(np.float32) / 32768.0

    def raw(words: bool) -> str:
        segments, _ = model.transcribe(
            samples,
            language=language,
            beam_size=settings.beam_size,
            word_timestamps=words,
            temperature=list(_FALLBACK_TEMPERATURES),
        )
        return "".join(s.text for s in segments)

    raw_text, raw_s = timed(lambda: raw(True))
    raw_wer = wer(reference, raw_text)
    rows = [["variant", "wall s", "x raw", "WER %", "WER - raw (points)"]]
    rows.append(["raw engine, whole file", f"{raw_s:.1f}", "1.00", f"{raw_wer * 100:.2f}", "0.00"])
    nowords_text, nowords_s = timed(lambda: raw(False))
    rows.append(
        [
            "raw engine, no word timestamps",
            f"{nowords_s:.1f}",
            f"{nowords_s / raw_s:.2f}",
            f"{wer(reference, nowords_text) * 100:.2f}",
            f"{(wer(reference, nowords_text) - raw_wer) * 100:+.2f}",
        ]
    )
    sizes = [60.0] if args.quick else [float(c) for c in args.chunks.split(",")]
    variants: list[tuple[str, float | None]] = [("pipeline, default chunks", None)]
    variants += [(f"pipeline, {c:g} s chunks", c) for c in sizes]
    for name, chunk in variants:
        result, secs = timed(
            lambda c=chunk: transcribe_audio(audio, options, provider, settings, chunk_seconds=c)
        )
        w = wer(reference, result.text)
        rows.append(
            [
                name,
                f"{secs:.1f}",
                f"{secs / raw_s:.2f}",
                f"{w * 100:.2f}",
                f"{(w - raw_wer) * 100:+.2f}",
            ]
        )
    print(f"file: {args.file.name} ({audio.duration:.0f} s), model {args.model}, 2 threads")
    print(table(rows))


if __name__ == "__main__":
    main()
