"""Speaker diarization (audiosvc.speakers): accuracy, speed, memory and what it adds to a job.

1. DER of ``Diarizer.diarize`` on samples/conversation.flac (3 speakers), samples/panel.flac
   (4) and a 9.7-minute conversation (conversation.flac 8 times over, its RTTM shifted, labels
   kept: the same 3 speakers recur, so speaker identity must hold across the file), with
   pyannote.metrics: a 0.25 s collar either side of each reference boundary
   (``DiarizationErrorRate(collar=0.5)``: pyannote's collar is the total width), overlapped
   speech scored (``skip_overlap=False``), the whole file as UEM. Speakers found vs true.
2. Speed on the 9.7-minute file, models loaded beforehand: ``diarize`` against the segmentation
   model alone over the same windows (one ``Segmenter`` call per batch, as diarize makes them),
   and diarize with BLAS held to one thread (threadpoolctl), rotated each round; wall and CPU
   time of this process. Then one instrumented run: the time spent in each model.
3. Speaker-attributed word accuracy through ``transcribe_file(..., speakers=SpeakerCount())``
   (local engine, tiny.en, language en, word times): hypothesis speakers are mapped one to one
   onto reference speakers (Hungarian, on the time their words overlap the reference RTTM
   turns), then the words (normalised as bench/_common.normalize does) are aligned to the
   reference (a line per turn in samples/*.txt) by jiwer's edit-distance alignment. SA-WA:
   share of reference words recognised right AND given to the right speaker. Plain WER beside.
4. Peak memory on a 3-hour file: a child process diarizes an int16 memory map (conversation.flac
   tiled into a temp file, written in pieces) and reads VmHWM; baseline: the same child after
   importing audiosvc and loading the diarizer's models, and one that diarizes the first 2
   minutes (the models' working memory). The 3-hour child runs once (--long-runs), the others
   --runs times. Also x realtime and DER over the 3 hours.
5. A diarized job against the same job without speakers, on the 9.7-minute file (as FLAC):
   ``transcribe_file`` (the CLI's path, in this process, warm) without speakers (as
   ``audiosvc transcribe`` runs by default: no word times), without speakers but with word
   times (what diarization turns on), and with ``speakers=SpeakerCount()``, the last two also
   with BLAS held to one thread (threadpoolctl, a diagnostic); then the service end
   to end (upload to done, ``audiosvc serve``'s layout with two batch processes, warm), a job
   with and without ``diarize=true``. Rotated each round. Target: diarized at most 1.25x.

Figures are medians of --runs rounds with their range. --quick: a 2-copy conversation (2.4
min) instead of 8 copies, and no 3-hour run."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jiwer
import numpy as np
from _common import SAMPLES, median, normalize, rotated, spread, table
from pyannote.core import Annotation, Segment, Timeline
from pyannote.metrics.diarization import DiarizationErrorRate
from scipy.optimize import linear_sum_assignment
from threadpoolctl import threadpool_limits

from audiosvc.chunking import SAMPLE_RATE
from audiosvc.encode import encode_audio
from audiosvc.media import decode
from audiosvc.pipeline import transcribe_file
from audiosvc.providers import make_provider
from audiosvc.providers.base import SpeechProvider, TranscribeOptions
from audiosvc.settings import Settings
from audiosvc.speakers import features, segmentation
from audiosvc.speakers.clustering import SpeakerCount
from audiosvc.speakers.diarize import Diarization, DiarizeParams, Diarizer
from audiosvc.transcript import Transcript

RefTurn = tuple[float, float, str]  # (start, end, speaker)
COPIES = 8  # conversation.flac (72.5 s) 8 times: 9.7 minutes
LONG_MINUTES = 180.0


@dataclass
class Sample:
    name: str
    pcm: np.ndarray
    turns: list[RefTurn]
    words: list[tuple[str, str]]  # (normalised word, speaker) in order

    @property
    def duration(self) -> float:
        return len(self.pcm) / SAMPLE_RATE

    @property
    def speakers(self) -> int:
        return len({s for _, _, s in self.turns})


def read_rttm(path: Path) -> list[RefTurn]:
    turns = []
    for line in path.read_text().splitlines():
        f = line.split()
        if f and f[0] == "SPEAKER":
            start, length = float(f[3]), float(f[4])
            turns.append((start, start + length, f[7]))
    return turns


def read_words(path: Path) -> list[tuple[str, str]]:
    """The reference words of a ``speaker: words`` line per turn, each with its speaker."""
    out = []
    for line in path.read_text().splitlines():
        if line.strip():
            speaker, text = line.split(":", 1)
            out += [(w, speaker.strip()) for w in normalize(text).split()]
    return out


def load(name: str) -> Sample:
    return Sample(
        name,
        decode(SAMPLES / f"{name}.flac").pcm,
        read_rttm(SAMPLES / f"{name}.rttm"),
        read_words(SAMPLES / f"{name}.txt"),
    )


def tile_turns(turns: list[RefTurn], period: float, duration: float) -> list[RefTurn]:
    """``turns`` repeated every ``period`` seconds up to ``duration``, labels kept."""
    out = []
    for k in range(int(np.ceil(duration / period))):
        for s, e, who in turns:
            if s + k * period < duration:
                out.append((s + k * period, min(e + k * period, duration), who))
    return out


def tiled(sample: Sample, copies: int) -> Sample:
    return Sample(
        f"{sample.name} x{copies}",
        np.tile(sample.pcm, copies),
        tile_turns(sample.turns, sample.duration, sample.duration * copies),
        sample.words * copies,
    )


def annotation(turns: list[tuple[float, float, Any]]) -> Annotation:
    out = Annotation()
    for i, (start, end, who) in enumerate(turns):
        out[Segment(start, end), i] = who
    return out


def der(
    reference: list[RefTurn], turns: list[tuple[float, float, Any]], duration: float
) -> dict[str, float]:
    """pyannote's DER components, 0.25 s either side of each reference boundary not scored."""
    metric = DiarizationErrorRate(collar=0.5, skip_overlap=False)
    uem = Timeline([Segment(0, duration)])
    detail = metric(annotation(reference), annotation(turns), uem=uem, detailed=True)
    return {k: float(v) for k, v in detail.items()}


def hyp_turns(result: Diarization) -> list[tuple[float, float, int]]:
    return [(t.start, t.end, t.speaker) for t in result.turns]


def timed_cpu(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    c0, t0 = time.process_time(), time.perf_counter()
    result = fn()
    return result, time.perf_counter() - t0, time.process_time() - c0


def loadavg() -> str:
    """The machine's load averages: other work running beside the bench shows here."""
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def ranged(values: list[float], digits: int = 1, scale: float = 1.0) -> str:
    """The median, with the range when the runs differ."""
    v = [x * scale for x in values]
    m = f"{median(v):.{digits}f}"
    return m if max(v) - min(v) < 0.5 * 10**-digits else f"{m} ({spread(v, digits)})"


# --- 1 and 2: DER and speed -------------------------------------------------------------------


def segmentation_only(diarizer: Diarizer, pcm: np.ndarray) -> int:
    """The baseline: the segmentation model over diarize's windows, a call per batch."""
    segmenter, _ = diarizer._models()
    params = DiarizeParams()
    starts = segmentation.window_starts(len(pcm), int(params.step_seconds * SAMPLE_RATE))
    for b in range(0, len(starts), params.batch):
        segmenter(segmentation.windows(pcm, starts[b : b + params.batch]))
    return len(starts)


def diarize_blas1(diarizer: Diarizer, pcm: np.ndarray) -> Diarization:
    with threadpool_limits(limits=1):
        return diarizer.diarize(pcm, SpeakerCount())


@contextlib.contextmanager
def instrumented(diarizer: Diarizer) -> Iterator[dict[str, float]]:
    """Wall and calling-thread CPU seconds inside each model's ``session.run`` and the mel
    front end, for one run (the models' sessions and ``features.log_mel`` wrapped meanwhile)."""
    acc: dict[str, float] = defaultdict(float)
    segmenter, embedder = diarizer._models()

    def wrap(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            t0, c0 = time.perf_counter(), time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                acc[f"{name} wall"] += time.perf_counter() - t0
                acc[f"{name} cpu"] += time.thread_time() - c0
                acc[f"{name} calls"] += 1

        return run

    sessions = [(segmenter.session, "segmentation"), (embedder.session, "embedder")]
    originals = [s.run for s, _ in sessions]
    log_mel = features.log_mel
    for session, name in sessions:
        session.run = wrap(name, session.run)  # type: ignore[method-assign]
    features.log_mel = wrap("mel", log_mel)
    try:
        yield acc
    finally:
        for (session, _), run in zip(sessions, originals, strict=True):
            session.run = run  # type: ignore[method-assign]
        features.log_mel = log_mel


def accuracy_and_speed(
    diarizer: Diarizer, clips: list[Sample], long: Sample, runs: int
) -> tuple[list[list[str]], list[list[str]], str]:
    rows = [
        [
            "sample",
            "min",
            "speakers true",
            "found",
            "DER %",
            "missed %",
            "false alarm %",
            "confusion %",
            "diarize s",
            "runs s",
            "x realtime",
        ]
    ]
    for sample in clips:
        results, secs = [], []
        for _ in range(runs):
            result, wall, _ = timed_cpu(lambda s=sample: diarizer.diarize(s.pcm, SpeakerCount()))
            results.append(result)
            secs.append(wall)
        rows.append(der_row(sample, results, secs))

    variants: list[tuple[str, Callable[[], Any]]] = [
        ("segmentation alone", lambda: segmentation_only(diarizer, long.pcm)),
        ("diarize", lambda: diarizer.diarize(long.pcm, SpeakerCount())),
        ("diarize, BLAS 1 thread", lambda: diarize_blas1(diarizer, long.pcm)),
    ]
    wall: dict[str, list[float]] = defaultdict(list)
    cpu: dict[str, list[float]] = defaultdict(list)
    results = []
    for r in range(runs):
        for name, fn in rotated(variants, r):
            result, w, c = timed_cpu(fn)
            wall[name].append(w)
            cpu[name].append(c)
            if name == "diarize":
                results.append(result)
    rows.append(der_row(long, results, wall["diarize"]))

    base_w, base_c = median(wall["segmentation alone"]), median(cpu["segmentation alone"])
    speed = [
        ["variant", "wall s", "runs s", "x realtime", "x base", "CPU s", "runs s", "x base CPU"]
    ]
    for name, _ in variants:
        w, c = median(wall[name]), median(cpu[name])
        speed.append(
            [
                name + (" (baseline)" if name == "segmentation alone" else ""),
                f"{w:.2f}",
                spread(wall[name], 2),
                f"{long.duration / w:.0f}",
                f"{w / base_w:.2f}",
                f"{c:.2f}",
                spread(cpu[name], 2),
                f"{c / base_c:.2f}",
            ]
        )

    with instrumented(diarizer) as acc:
        result, w, c = timed_cpu(lambda: diarizer.diarize(long.pcm, SpeakerCount()))
    components = (
        f"components ({long.name}): {result.windows} segmentation windows, "
        f"{result.embeddings} local-speaker embeddings, "
        f"{result.stats.get('embedder_windows', 0):.0f} embedder windows (0.8 s blocks) "
        f"computed. One instrumented run, {w:.2f} s wall, {c:.2f} s CPU: "
        + "; ".join(
            f"{name} {acc[f'{name} calls']:.0f} calls, {acc[f'{name} wall']:.2f} s wall, "
            f"{acc[f'{name} cpu']:.2f} s CPU of its thread"
            for name in ("segmentation", "embedder", "mel")
        )
        + " (the two model threads overlap; CPU beyond the threads' own is other threads')"
    )
    return rows, speed, components


def der_row(sample: Sample, results: list[Diarization], secs: list[float]) -> list[str]:
    ders = [der(sample.turns, hyp_turns(r), sample.duration) for r in results]
    total = [d["total"] for d in ders]

    def share(key: str) -> list[float]:
        return [d[key] / t for d, t in zip(ders, total, strict=True)]

    found = sorted({r.speakers for r in results})
    return [
        sample.name,
        f"{sample.duration / 60:.1f}",
        str(sample.speakers),
        "/".join(map(str, found)),
        ranged([d["diarization error rate"] for d in ders], 1, 100),
        ranged(share("missed detection"), 1, 100),
        ranged(share("false alarm"), 1, 100),
        ranged(share("confusion"), 1, 100),
        f"{median(secs):.2f}",
        spread(secs, 2),
        f"{sample.duration / median(secs):.0f}",
    ]


# --- 3: speaker-attributed word accuracy ------------------------------------------------------


@dataclass
class WordScore:
    words: int  # reference words
    wer: float
    right: int  # words recognised right
    right_speaker: int  # ... and given to the right speaker
    found: int  # speakers in the transcript
    mapping: dict[str, str]


def hyp_words(transcript: Transcript) -> list[tuple[str, str | None, float, float]]:
    out = []
    for segment in transcript.segments:
        for w in segment.words or []:
            out += [(piece, w.speaker, w.start, w.end) for piece in normalize(w.word).split()]
    return out


def speaker_mapping(
    words: list[tuple[str, str | None, float, float]], reference: list[RefTurn]
) -> dict[str, str]:
    """Hypothesis label -> reference label, one to one, for the most time their words spend
    inside the reference speaker's turns."""
    hyp = sorted({w[1] for w in words if w[1] is not None})
    ref = sorted({t[2] for t in reference})
    overlap = np.zeros((len(hyp), len(ref)))
    for _, who, start, end in words:
        if who is None:
            continue
        for s, e, r in reference:
            overlap[hyp.index(who), ref.index(r)] += max(0.0, min(end, e) - max(start, s))
    rows, cols = linear_sum_assignment(-overlap)
    return {hyp[i]: ref[j] for i, j in zip(rows, cols, strict=True)}


def score_words(sample: Sample, transcript: Transcript) -> WordScore:
    words = hyp_words(transcript)
    mapping = speaker_mapping(words, sample.turns)
    out = jiwer.process_words(" ".join(w for w, _ in sample.words), " ".join(w[0] for w in words))
    right = right_speaker = 0
    for chunk in out.alignments[0]:
        if chunk.type != "equal":
            continue
        for i, j in zip(
            range(chunk.ref_start_idx, chunk.ref_end_idx),
            range(chunk.hyp_start_idx, chunk.hyp_end_idx),
            strict=True,
        ):
            right += 1
            who = words[j][1]
            right_speaker += who is not None and mapping.get(who) == sample.words[i][1]
    return WordScore(
        len(sample.words),
        float(out.wer),
        right,
        right_speaker,
        len({w[1] for w in words if w[1] is not None}),
        mapping,
    )


def word_row(sample: Sample, score: WordScore) -> list[str]:
    n = score.words
    return [
        sample.name,
        str(n),
        f"{100 * score.wer:.1f}",
        f"{100 * score.right / n:.1f}",
        f"{100 * score.right_speaker / n:.1f}",
        str(score.right - score.right_speaker),
        f"{score.found} / {sample.speakers}",
        " ".join(f"{h}->{r}" for h, r in sorted(score.mapping.items())),
    ]


WORD_HEADER = [
    "sample",
    "ref words",
    "WER %",
    "words right %",
    "SA-WA %",
    "right word, wrong speaker",
    "speakers found / true",
    "mapping",
]


def transcribe(
    path: Path,
    provider: SpeechProvider,
    settings: Settings,
    *,
    words: bool,
    speakers: bool,
) -> Transcript:
    return transcribe_file(
        path,
        TranscribeOptions(language="en", word_timestamps=words),
        provider,
        settings,
        speakers=SpeakerCount() if speakers else None,
    )


# --- 4: peak memory on 3 hours ----------------------------------------------------------------

# VmHWM, not ru_maxrss (which survives fork+exec). A thread samples RssAnon and RssFile, since
# VmHWM counts the memory map's pages that have been read (file-backed, reclaimable) with the
# rest.
CHILD = """
import json, sys, threading, time
import numpy as np
import audiosvc
from audiosvc.speakers.diarize import Diarizer

def status():
    fields = {}
    for line in open("/proc/self/status"):
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
            fields[key] = int(value.split()[0]) / 1024
    return fields

peaks = {"RssAnon": 0.0, "RssFile": 0.0}
done = threading.Event()

def sample():
    while not done.is_set():
        now = status()
        for key in peaks:
            peaks[key] = max(peaks[key], now[key])
        time.sleep(0.05)

diarizer = Diarizer()
diarizer._models()
sampler = threading.Thread(target=sample, daemon=True)
sampler.start()
out = {}
if sys.argv[1] != "baseline":
    pcm = np.memmap(sys.argv[2], dtype=np.int16, mode="r")
    if sys.argv[1] == "short":
        pcm = pcm[: 120 * 16000]
    c0, t0 = time.process_time(), time.perf_counter()
    result = diarizer.diarize(pcm)
    out = {
        "wall": time.perf_counter() - t0,
        "cpu": time.process_time() - c0,
        "speakers": result.speakers,
        "windows": result.windows,
        "embeddings": result.embeddings,
        "embedder_windows": result.stats.get("embedder_windows", 0),
        "turns": [(t.start, t.end, t.speaker) for t in result.turns],
    }
done.set()
sampler.join()
end = status()
for key in peaks:
    peaks[key] = max(peaks[key], end[key])
out |= {"VmHWM": end["VmHWM"], "peak_anon": peaks["RssAnon"], "peak_file": peaks["RssFile"]}
print(json.dumps(out))
"""


def child(mode: str, path: Path) -> dict[str, Any]:
    """``mode``: baseline (models loaded, nothing run), short (diarize the first 2 minutes of
    the memory map: the models' working memory, whatever the length) or long (all of it)."""
    out = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(path)], capture_output=True, text=True, check=True
    )
    result: dict[str, Any] = json.loads(out.stdout.splitlines()[-1])
    return result


def write_long(sample: Sample, minutes: float, path: Path) -> int:
    """``sample``'s PCM tiled to ``minutes`` into ``path`` as raw int16, a copy at a time
    (the 3 hours are never in memory); returns the samples written."""
    total = int(minutes * 60 * SAMPLE_RATE)
    written = 0
    with path.open("wb") as f:
        while written < total:
            piece = sample.pcm[: total - written].astype(np.int16)
            f.write(piece.tobytes())
            written += len(piece)
    return written


def memory(sample: Sample, runs: int, long_runs: int, directory: Path) -> list[str]:
    path = directory / "long.pcm"
    samples = write_long(sample, LONG_MINUTES, path)
    duration = samples / SAMPLE_RATE
    runs_of = {"baseline": runs, "short": runs, "long": long_runs}
    done: dict[str, list[dict[str, Any]]] = {mode: [] for mode in runs_of}
    for r in range(max(runs_of.values())):
        for mode in rotated([m for m, n in runs_of.items() if r < n], r):
            done[mode].append(child(mode, path))
    path.unlink()
    base, work = done["baseline"], done["long"]
    pcm_mb = samples * 2 / 2**20
    b_hwm = median([c["VmHWM"] for c in base])
    reference = tile_turns(sample.turns, sample.duration, duration)
    ders = [der(reference, [tuple(t) for t in c["turns"]], duration) for c in work]
    rows = [["child", "VmHWM MB", "runs MB", "x baseline", "peak RssAnon MB", "peak RssFile MB"]]
    for mode, name in [
        ("baseline", "import audiosvc + load models (baseline)"),
        ("short", "diarize the first 2 min of the memmap"),
        ("long", f"diarize all {LONG_MINUTES / 60:g} h of the memmap"),
    ]:
        hwm = [c["VmHWM"] for c in done[mode]]
        rows.append(
            [
                name,
                f"{median(hwm):.0f}",
                spread(hwm, 0),
                f"{median(hwm) / b_hwm:.2f}",
                ranged([c["peak_anon"] for c in done[mode]], 0),
                ranged([c["peak_file"] for c in done[mode]], 0),
            ]
        )
    walls = [c["wall"] for c in work]
    cpus = [c["cpu"] for c in work]

    def med(mode: str, key: str) -> float:
        return median([c[key] for c in done[mode]])

    long_name = f"{LONG_MINUTES / 60:g} h"
    lines = [
        f"4. Peak memory, {LONG_MINUTES:g} min ({pcm_mb:.0f} MB of int16 PCM, conversation.flac "
        f"tiled, np.memmap); baseline and 2-min children {runs} runs, {long_name} "
        f"{long_runs} run(s), rotated; medians. RssAnon and RssFile peaks sampled every 50 ms "
        "(RssFile: pages of the memory map read so far, file-backed, counted in VmHWM)",
        table(rows),
        f"{long_name} - baseline: {med('long', 'VmHWM') - b_hwm:.0f} MB VmHWM, "
        f"{med('long', 'peak_anon') - med('baseline', 'peak_anon'):.0f} MB anonymous; "
        f"{long_name} - 2 min: {med('long', 'VmHWM') - med('short', 'VmHWM'):.0f} MB VmHWM, "
        f"{med('long', 'peak_anon') - med('short', 'peak_anon'):.0f} MB anonymous. "
        f"{long_name}: diarize {median(walls):.1f} s wall ({spread(walls)}), "
        f"{duration / median(walls):.0f}x realtime, {median(cpus):.1f} s CPU; speakers found "
        f"{'/'.join(str(c['speakers']) for c in work)} of {sample.speakers}; "
        f"DER {ranged([d['diarization error rate'] for d in ders], 1, 100)} % "
        f"(confusion {ranged([d['confusion'] / d['total'] for d in ders], 1, 100)} %); "
        f"{work[0]['windows']} windows, {work[0]['embeddings']} embeddings, "
        f"{work[0]['embedder_windows']:.0f} embedder windows",
    ]
    return lines


# --- 5: a diarized job against the same job without speakers ----------------------------------


def jobs_cli(
    long: Sample, path: Path, provider: SpeechProvider, settings: Settings, runs: int
) -> tuple[list[str], list[list[str]]]:
    variants = [
        ("plain, no word times (CLI default)", False, False, False),
        ("plain, word times", True, False, False),
        ("diarized (--speakers)", True, True, False),
        ("plain, word times, BLAS 1 thread (threadpoolctl)", True, False, True),
        ("diarized, BLAS 1 thread (threadpoolctl)", True, True, True),
    ]
    wall: dict[str, list[float]] = defaultdict(list)
    cpu: dict[str, list[float]] = defaultdict(list)
    scores: list[WordScore] = []
    for r in range(runs):
        for name, words, speakers, blas1 in rotated(variants, r):
            limits = threadpool_limits(limits=1) if blas1 else contextlib.nullcontext()
            with limits:
                transcript, w, c = timed_cpu(
                    lambda ws=words, sp=speakers: transcribe(
                        path, provider, settings, words=ws, speakers=sp
                    )
                )
            wall[name].append(w)
            cpu[name].append(c)
            if speakers and not blas1:
                scores.append(score_words(long, transcript))
    rows = [
        [
            "variant",
            "wall s",
            "runs s",
            "x plain",
            "x plain+words",
            "CPU s",
            "runs s",
            "x plain CPU",
            "x plain+words CPU",
        ]
    ]
    plain, words_ = variants[0][0], variants[1][0]
    for name, *_ in variants:
        w, c = median(wall[name]), median(cpu[name])
        rows.append(
            [
                name,
                f"{w:.1f}",
                spread(wall[name]),
                f"{w / median(wall[plain]):.2f}",
                f"{w / median(wall[words_]):.2f}",
                f"{c:.1f}",
                spread(cpu[name]),
                f"{c / median(cpu[plain]):.2f}",
                f"{c / median(cpu[words_]):.2f}",
            ]
        )
    sa = [100 * s.right_speaker / s.words for s in scores]
    wers = [100 * s.wer for s in scores]
    blas_w = median(wall[variants[4][0]]) / median(wall[variants[3][0]])
    blas_c = median(cpu[variants[4][0]]) / median(cpu[variants[3][0]])
    note = [
        f"{long.name} through the diarized job: SA-WA {ranged(sa, 1)} %, WER {ranged(wers, 1)} "
        f"%, speakers found {'/'.join(sorted({str(s.found) for s in scores}))} of "
        f"{long.speakers}",
        f"BLAS held to 1 thread in both: diarized / plain with word times = {blas_w:.2f} wall, "
        f"{blas_c:.2f} CPU",
    ]
    return note, rows


def jobs_service(path: Path, warmup: Path, runs: int) -> list[list[str]]:
    """``audiosvc serve``'s layout (two single-threaded batch processes on 2 cores), warm: a
    job of each kind on ``warmup`` (over a minute: two chunks, in the batch lane) first."""
    from _service import service, submit, wait
    from service_vs_cli import service_cpu

    wall: dict[str, list[float]] = defaultdict(list)
    cpu: dict[str, list[float]] = defaultdict(list)
    found: list[int] = []
    with service(workers=2) as svc, httpx.Client(base_url=svc.url, timeout=120) as client:

        def job(diarize: bool, file: Path = path) -> tuple[float, float]:
            fields = {"language": "en"} | ({"diarize": "true"} if diarize else {})
            c0, t0 = service_cpu(svc), time.perf_counter()
            done = wait(client, submit(client, file, **fields))
            secs, used = time.perf_counter() - t0, service_cpu(svc) - c0
            assert done["status"] == "succeeded", done
            if diarize:
                speakers = done["speakers"]
                assert isinstance(speakers, list)
                found.append(len(speakers))
            return secs, used

        job(True, warmup)  # not timed: models loaded in the workers
        job(False, warmup)
        found.clear()
        variants = [("plain job (words, as every job)", False), ("diarize=true", True)]
        for r in range(runs):
            for name, diarize in rotated(variants, r):
                w, c = job(diarize)
                wall[name].append(w)
                cpu[name].append(c)
    base_w, base_c = median(wall[variants[0][0]]), median(cpu[variants[0][0]])
    rows = [["service job", "wall s", "runs s", "x plain", "CPU s", "runs s", "x plain CPU"]]
    for name, _ in variants:
        w, c = median(wall[name]), median(cpu[name])
        rows.append(
            [
                name,
                f"{w:.1f}",
                spread(wall[name]),
                f"{w / base_w:.2f}",
                f"{c:.1f}",
                spread(cpu[name]),
                f"{c / base_c:.2f}",
            ]
        )
    rows.append(["speakers found", "/".join(map(str, found)), "", "", "", "", ""])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="runs of each variant (default 3)")
    parser.add_argument(
        "--long-runs", type=int, default=1, help="runs of the 3-hour child (default 1)"
    )
    parser.add_argument("--quick", action="store_true", help="2 copies, no 3-hour run")
    args = parser.parse_args()
    started, load0 = time.perf_counter(), loadavg()
    copies = 2 if args.quick else COPIES
    conversation, panel = load("conversation"), load("panel")
    long = tiled(conversation, copies)
    diarizer = Diarizer()
    diarizer._models()

    der_rows, speed_rows, components = accuracy_and_speed(
        diarizer, [conversation, panel], long, args.runs
    )
    load_speed = loadavg()
    print(
        "1. DER (pyannote.metrics DiarizationErrorRate(collar=0.5, skip_overlap=False): 0.25 s "
        "either side of each reference boundary, overlaps scored, UEM the whole file; shares "
        f"of scored reference speech); Diarizer() defaults, warm; {args.runs} runs, medians "
        "(range when runs differ)",
        flush=True,
    )
    print(table(der_rows))
    print(
        f"\n2. Speed on {long.name} ({long.duration:.0f} s), models loaded; {args.runs} rounds, "
        f"variants rotated; medians; CPU = this process, all threads; load average after: "
        f"{load_speed}"
    )
    print(table(speed_rows))
    print(components, flush=True)

    settings = Settings()
    provider = make_provider(settings, "local")
    rows = [WORD_HEADER]
    for sample in (conversation, panel):
        transcript = transcribe(
            SAMPLES / f"{sample.name}.flac", provider, settings, words=True, speakers=True
        )
        rows.append(word_row(sample, score_words(sample, transcript)))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"conversation-x{copies}.flac"
        path.write_bytes(encode_audio(long.pcm, SAMPLE_RATE, "flac"))
        note, cli_rows = jobs_cli(long, path, provider, settings, args.runs)
        load_cli = loadavg()
        print(
            "\n3. Speaker-attributed word accuracy: transcribe_file(..., speakers=SpeakerCount()),"
            " local tiny.en, language en, word times; one run each (deterministic); SA-WA = "
            "reference words recognised right and given to the right speaker (hypothesis "
            "speakers mapped one to one by word-time overlap with the RTTM)"
        )
        print(table(rows))
        print(note[0], flush=True)
        if not args.quick:
            print()
            print("\n".join(memory(conversation, args.runs, args.long_runs, Path(tmp))), flush=True)
        print(
            f"\n5. A diarized job vs the same job without speakers, {long.name} "
            f"({long.duration:.0f} s) as FLAC; transcribe_file in this process (the CLI's "
            f"path), warm; {args.runs} rounds, rotated; medians; target: diarized at most 1.25x; "
            f"load average after: {load_cli}"
        )
        print(table(cli_rows))
        print(note[1], flush=True)
        # Last: the service's helper sets AUDIOSVC_* in this process's environment.
        service_rows = jobs_service(path, SAMPLES / "conversation.flac", args.runs)
        print(
            f"\n5b. The service end to end (upload to done, events followed), serve's layout with "
            f"2 batch processes of 1 thread, warm; {args.runs} rounds, alternating; medians; CPU "
            f"= the API's and the workers' processes; load average after: {loadavg()}"
        )
        print(table(service_rows))
    print(
        f"\nscript run time: {time.perf_counter() - started:.0f} s; load average (1, 5, 15 min) "
        f"at the start {load0}, at the end {loadavg()}"
    )


if __name__ == "__main__":
    main()
