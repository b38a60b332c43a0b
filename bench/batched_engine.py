"""faster-whisper's BatchedInferencePipeline vs the sequential engine on a long file.

The long file is built in memory: the meeting sample's PCM (decoded by audiosvc.media)
repeated --copies times (4: about 14.5 minutes) with --gap seconds of silence between
copies; its reference is the sample's text repeated as often.

Sequential: ``WhisperModel.transcribe`` on the whole array, as ``pipeline_vs_raw.py``'s raw
engine (beam from the settings, the project's temperature fallback, language "en", no word
timestamps), with and without ``vad_filter=True`` (faster-whisper's default VadOptions).
Batched: ``BatchedInferencePipeline(model).transcribe`` on the same array with the same
arguments and ``batch_size`` 4, 8 and 16. It always cuts the audio with Silero VAD (required
for input over 30 s), merges speech up to 30 s windows, never conditions on previous text and
uses only the first temperature (no fallback); its own defaults are kept otherwise
(``without_timestamps=True``: one segment per window).

The model is the service's default for English transcription (resolve_model("auto",
"transcribe", "en")); further --models (base by default) run only the sequential engine and
--extra-batches. Models load as the service loads them (int8 on CPU, 2 threads). Each model
gets a warm-up on 30 s of the file (every variant once, not timed), then --runs rounds of
all its variants, starting from a different one each round; figures are medians with their
range. CPU time is this process's (all threads).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from _common import SAMPLES, measured_row, median, rotated, table, timed, wer
from faster_whisper import BatchedInferencePipeline
from pipeline_vs_raw import missing_phrases

from audiosvc.chunking import SAMPLE_RATE
from audiosvc.media import decode
from audiosvc.models import resolve_model
from audiosvc.providers.local import _FALLBACK_TEMPERATURES, load_model
from audiosvc.settings import Settings

LANGUAGE = "en"


def long_audio(pcm: np.ndarray, copies: int, gap: float) -> np.ndarray:
    """``copies`` copies of ``pcm`` with ``gap`` seconds of silence between them, as float32."""
    silence = np.zeros(int(gap * SAMPLE_RATE), dtype=pcm.dtype)
    parts: list[np.ndarray] = []
    for i in range(copies):
        if i:
            parts.append(silence)
        parts.append(pcm)
    return np.concatenate(parts).astype(np.float32) / 32768.0


def measure(
    name: str,
    audio: np.ndarray,
    reference: str,
    batches: list[int],
    settings: Settings,
    runs: int,
    with_vad: bool,
) -> None:
    model = load_model(name, settings)
    pipeline = BatchedInferencePipeline(model)
    common = {
        "language": LANGUAGE,
        "beam_size": settings.beam_size,
        "temperature": list(_FALLBACK_TEMPERATURES),
        "word_timestamps": False,
    }

    def sequential(a: np.ndarray, vad: bool) -> tuple[str, int]:
        segments, _ = model.transcribe(a, vad_filter=vad, **common)
        out = list(segments)
        return "".join(s.text for s in out), len(out)

    def batched(a: np.ndarray, size: int) -> tuple[str, int]:
        segments, _ = pipeline.transcribe(a, vad_filter=True, batch_size=size, **common)
        out = list(segments)
        return "".join(s.text for s in out), len(out)

    def variants(a: np.ndarray) -> list[tuple[str, Callable[[], tuple[str, int]]]]:
        out: list[tuple[str, Callable[[], tuple[str, int]]]] = [
            ("sequential", lambda: sequential(a, False))
        ]
        if with_vad:
            out.append(("sequential, vad_filter", lambda: sequential(a, True)))
        out += [(f"batched, batch {b}", lambda b=b: batched(a, b)) for b in batches]
        return out

    # Warm-up, not timed: the first calls initialise the engine and load the VAD model.
    for _, fn in variants(audio[: 30 * SAMPLE_RATE]):
        fn()

    todo = variants(audio)
    secs: dict[str, list[float]] = {v: [] for v, _ in todo}
    cpu: dict[str, list[float]] = {v: [] for v, _ in todo}
    texts: dict[str, list[str]] = {v: [] for v, _ in todo}
    counts: dict[str, list[int]] = {v: [] for v, _ in todo}
    for r in range(runs):
        for variant, fn in rotated(todo, r):
            c0 = time.process_time()
            (text, count), s = timed(fn)
            cpu[variant].append(time.process_time() - c0)
            secs[variant].append(s)
            texts[variant].append(text)
            counts[variant].append(count)

    base = todo[0][0]
    base_s, base_cpu = median(secs[base]), median(cpu[base])
    base_wer = median([wer(reference, t) * 100 for t in texts[base]])
    base_figures = (base_s, base_cpu, base_wer)
    rows = [
        [
            "variant",
            "wall s",
            "runs s",
            "x seq",
            "CPU s",
            "x seq CPU",
            "WER %",
            "WER - seq (pts)",
            "segments",
        ]
    ]
    for variant, _ in todo:
        row = measured_row(
            variant, secs[variant], cpu[variant], texts[variant], reference, base_figures
        )
        rows.append([*row, str(counts[variant][0])])
    print(
        f"\nmodel {name}: {len(audio) / SAMPLE_RATE:.0f} s of audio, {settings.cpu_threads} "
        f"threads, int8, beam {settings.beam_size}, language {LANGUAGE}, no word timestamps; "
        f"{runs} runs of each variant, rotating order; medians (WER: median, with the range "
        "when runs differ)"
    )
    print(table(rows))
    print("phrases of 3+ reference words missing (first run):")
    for variant, _ in todo:
        lost = missing_phrases(reference, texts[variant][0])
        shown = "; ".join(f'"{p}"' for p in lost[:4]) + (" ..." if len(lost) > 4 else "")
        print(f"  {variant}: {len(lost)}" + (f": {shown}" if lost else ""))


def main() -> None:
    start = time.perf_counter()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--file", type=Path, default=SAMPLES / "meeting.m4a")
    parser.add_argument("--reference", type=Path, default=SAMPLES / "meeting.txt")
    parser.add_argument("--copies", type=int, default=4, help="copies of the file (default 4)")
    parser.add_argument("--gap", type=float, default=2.0, help="silence between copies, s")
    parser.add_argument(
        "--models",
        default="auto,base",
        help="models (API names, resolved as for English transcription); the first gets "
        "--batches and the sequential engine with vad_filter, the others --extra-batches",
    )
    parser.add_argument("--batches", default="4,8,16", help="batch sizes, first model")
    parser.add_argument("--extra-batches", default="8", help="batch sizes, other models")
    parser.add_argument("--runs", type=int, default=3, help="runs of each variant (default 3)")
    parser.add_argument(
        "--quick", action="store_true", help="1 run, 1 copy of the file, first model only"
    )
    args = parser.parse_args()
    runs = 1 if args.quick else args.runs
    copies = 1 if args.quick else args.copies

    settings = Settings(cpu_threads=2)
    decoded = decode(args.file)
    audio = long_audio(decoded.pcm, copies, args.gap)
    sample_text = args.reference.read_text().strip()
    reference = " ".join([sample_text] * copies)
    names = [resolve_model(m, "transcribe", LANGUAGE) for m in args.models.split(",") if m]
    if args.quick:
        names = names[:1]
    print(
        f"file: {args.file.name} ({decoded.duration:.0f} s) x {copies}, {args.gap:g} s of "
        f"silence between copies: {len(audio) / SAMPLE_RATE:.0f} s; models {', '.join(names)}"
    )
    for i, name in enumerate(names):
        spec = args.batches if i == 0 else args.extra_batches
        batches = [int(b) for b in spec.split(",") if b]
        measure(name, audio, reference, batches, settings, runs, with_vad=i == 0)
    print(f"\ntotal time of this script: {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
