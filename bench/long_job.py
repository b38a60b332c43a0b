"""A long local job through the service, upload to done, against the raw sequential engine
on the same file, in the same run. Target: the service in at most 0.6x the raw engine's wall
time, at a WER no worse than the raw engine's.

The file: the meeting sample, --copies times (4: 14.5 minutes) with 2 s of silence between
copies, encoded as m4a; its reference is the sample's text as often. With --real MINUTES, a
real voice instead: Asterisk's English prompts (see ``build_real``). The model is the
service's default for English (tiny.en), language "en", beam 5, text only (no words).

* raw: faster-whisper's sequential engine (``WhisperModel.transcribe``) on the whole file in
  this process, 2 threads, the project's temperature fallback, model loaded beforehand;
* service, batch -c N: ``audiosvc serve``'s layout (interactive, batch and io workers) with
  N batch processes of cores/N threads each, warm (after a warm-up job). The job's chunks
  (60 s) go to the batch lane.

Each round runs every variant, in rotated order; figures are medians of --runs rounds."""

from __future__ import annotations

import argparse
import os
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
from _common import SAMPLES, median, rotated, spread, table, wer
from _service import service, submit, wait

from audiosvc.chunking import SAMPLE_RATE
from audiosvc.encode import encode_audio
from audiosvc.media import decode
from audiosvc.providers.local import _FALLBACK_TEMPERATURES, load_model
from audiosvc.settings import Settings

MODEL = "tiny.en"


def build(copies: int, directory: Path) -> tuple[Path, str]:
    pcm = decode(SAMPLES / "meeting.m4a").pcm
    gap = np.zeros(2 * SAMPLE_RATE, dtype=pcm.dtype)
    parts = [p for i in range(copies) for p in ((gap,) if i else ()) + (pcm,)]
    path = directory / f"meeting-x{copies}.m4a"
    path.write_bytes(encode_audio(np.concatenate(parts), SAMPLE_RATE, "m4a"))
    reference = " ".join([(SAMPLES / "meeting.txt").read_text()] * copies)
    return path, reference


PROMPTS = Path("/usr/share/asterisk/sounds/en_US_f_Allison")
PROMPT_TEXT = Path("/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz")


def build_real(minutes: float, directory: Path) -> tuple[Path, str]:
    """A real voice: Asterisk's English prompts (Allison Smith, CC-BY-SA-3.0; Debian's
    asterisk-core-sounds-en-wav, 8 kHz), in the order of their text file, 0.6 s apart, to
    ``minutes``, as m4a; the reference is their text. A phone system's prompts say the same
    things over and over ("please enter your ... followed by the pound key"), as people in a
    meeting do, which the samples made by the project never do."""
    import gzip

    if not PROMPTS.is_dir():
        raise SystemExit("apt-get install asterisk-core-sounds-en-wav (the --real recording)")
    gap = np.zeros(int(0.6 * SAMPLE_RATE), dtype=np.int16)
    parts, texts, samples = [], [], 0
    with gzip.open(PROMPT_TEXT, "rt", encoding="utf-8") as f:
        lines = f.readlines()
    for line in lines:
        name, sep, text = line.partition(":")
        wav = PROMPTS / f"{name.strip()}.wav"
        if not sep or line.startswith(";") or not wav.is_file() or not text.strip():
            continue
        pcm = decode(wav).pcm
        parts += [pcm, gap]
        # "[this is a simple beep tone]", "<beep ascending>": sounds described, not said.
        texts.append(re.sub(r"\[[^]]*\]|<[^>]*>", " ", text).strip())
        samples += len(pcm) + len(gap)
        if samples >= minutes * 60 * SAMPLE_RATE:
            break
    path = directory / f"prompts-{minutes:g}min.m4a"
    path.write_bytes(encode_audio(np.concatenate(parts), SAMPLE_RATE, "m4a"))
    return path, " ".join(texts)


Run = Callable[[], tuple[str, float]]


def raw(path: Path) -> Run:
    model = load_model(MODEL, Settings(cpu_threads=2))
    audio = decode(path).pcm.astype(np.float32) / 32768.0

    def run() -> tuple[str, float]:
        t0 = time.perf_counter()
        segments, _ = model.transcribe(
            audio, language="en", beam_size=5, temperature=list(_FALLBACK_TEMPERATURES)
        )
        text = " ".join(s.text.strip() for s in segments)
        return text, time.perf_counter() - t0

    return run


def transcribe(client: httpx.Client, path: Path) -> str:
    job_id = submit(client, path, language="en")
    job = wait(client, job_id)
    assert job["status"] == "succeeded", job
    return client.get(f"/v1/jobs/{job_id}/transcript", params={"format": "text"}).text


def through_service(processes: int, path: Path, warmup: Path) -> Run:
    """A fresh service each round; a warm-up job long enough for the batch lane loads the
    batch processes' model before the timed job."""

    def run() -> tuple[str, float]:
        with service(workers=processes) as svc, httpx.Client(base_url=svc.url) as client:
            transcribe(client, warmup)
            t0 = time.perf_counter()
            text = transcribe(client, path)
            return text, time.perf_counter() - t0

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--copies", type=int, default=4)
    parser.add_argument("--runs", type=int, default=2, help="rounds (default 2)")
    parser.add_argument("--batch", default="1,2", help="batch worker processes to try")
    parser.add_argument("--quick", action="store_true", help="one copy, one round")
    parser.add_argument(
        "--real", type=float, metavar="MINUTES", help="a real voice instead (see build_real)"
    )
    args = parser.parse_args()
    copies, runs = (1, 1) if args.quick else (args.copies, args.runs)
    cores = os.cpu_count() or 1
    wall: dict[str, list[float]] = {}
    errors: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        if args.real:
            path, reference = build_real(args.real, Path(tmp))
        else:
            path, reference = build(copies, Path(tmp))
        warmup = Path(tmp) / "warmup.m4a"  # 130 s: three batch chunks
        pcm = decode(SAMPLES / "meeting.m4a").pcm[: 130 * SAMPLE_RATE]
        warmup.write_bytes(encode_audio(pcm, SAMPLE_RATE, "m4a"))
        variants: dict[str, Run] = {"raw sequential engine": raw(path)}
        for n in (int(x) for x in args.batch.split(",")):
            name = f"service, batch -c {n} x {max(1, cores // n)} threads"
            variants[name] = through_service(n, path, warmup)
        for round_ in range(runs):
            for name in rotated(list(variants), round_):
                text, seconds = variants[name]()
                wall.setdefault(name, []).append(seconds)
                errors.setdefault(name, []).append(wer(reference, text) * 100)
    base = median(wall["raw sequential engine"])
    rows = [["variant", "wall s", "runs s", "x raw", "WER %"]]
    for name in variants:
        rows.append(
            [
                name,
                f"{median(wall[name]):.1f}",
                spread(wall[name]),
                f"{median(wall[name]) / base:.2f}",
                f"{median(errors[name]):.2f}",
            ]
        )
    what = f"Asterisk's prompts, {args.real:g} min" if args.real else f"meeting sample x {copies}"
    print(f"{what}, model {MODEL}, {cores} cores, {runs} rounds, medians")
    print(table(rows))
    print("target: the service at most 0.60x raw, WER no worse than raw")


if __name__ == "__main__":
    main()
