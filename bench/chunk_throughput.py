"""Decode + chunk + FLAC-encode throughput on a long file (what a remote job needs before
its first upload). Target: under 10 s for 60 minutes on 2 cores. The whole sequence runs
--runs times; each stage's figure is the median of its runs, and the ratio column compares
it with the median bare decode. CPU time (this process, all threads) is reported beside wall
time: other work on a shared machine disturbs it less."""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from _common import SAMPLES, T, median, spread, table

from audiosvc.chunking import SAMPLE_RATE, ChunkParams, plan_chunks
from audiosvc.encode import encode_audio
from audiosvc.media import decode


def build_file(minutes: float, directory: Path, fmt: str = "m4a") -> Path:
    """Tile the meeting sample to ``minutes`` and encode it (not timed)."""
    base = decode(SAMPLES / "meeting.m4a").pcm
    reps = int(np.ceil(minutes * 60 * SAMPLE_RATE / len(base)))
    pcm = np.tile(base, reps)[: int(minutes * 60 * SAMPLE_RATE)]
    path = directory / f"long-{minutes:g}min.{fmt}"
    path.write_bytes(encode_audio(pcm, SAMPLE_RATE, fmt))
    return path


def timed_cpu(fn: Callable[[], T]) -> tuple[T, float, float]:
    """The result, wall seconds and CPU seconds of ``fn()``."""
    c0, t0 = time.process_time(), time.perf_counter()
    result = fn()
    return result, time.perf_counter() - t0, time.process_time() - c0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--runs", type=int, default=3, help="runs of the sequence (default 3)")
    parser.add_argument("--quick", action="store_true", help="10 minutes")
    args = parser.parse_args()
    minutes = 10.0 if args.quick else args.minutes
    wall: dict[str, list[float]] = {"decode": [], "plan": [], "encode": [], "total": []}
    cpu: dict[str, list[float]] = {name: [] for name in wall}
    with tempfile.TemporaryDirectory() as tmp:
        path = build_file(minutes, Path(tmp))
        for _ in range(args.runs):
            audio, w_decode, c_decode = timed_cpu(lambda: decode(path))
            plans, w_plan, c_plan = timed_cpu(
                lambda a=audio: plan_chunks(a.pcm, ChunkParams(max_seconds=600))
            )
            blobs, w_encode, c_encode = timed_cpu(
                lambda a=audio, ps=plans: [
                    encode_audio(a.pcm[p.start : p.end], SAMPLE_RATE, "flac") for p in ps
                ]
            )
            for name, w, c in [
                ("decode", w_decode, c_decode),
                ("plan", w_plan, c_plan),
                ("encode", w_encode, c_encode),
                ("total", w_decode + w_plan + w_encode, c_decode + c_plan + c_encode),
            ]:
                wall[name].append(w)
                cpu[name].append(c)
            del audio
    decode_s, decode_cpu = median(wall["decode"]), median(cpu["decode"])
    rows = [["stage", "wall s", "runs s", "x decode", "CPU s", "x decode CPU"]]
    for name, label in [
        ("decode", "decode (m4a -> 16 kHz PCM)"),
        ("plan", "plan chunks (pydub)"),
        ("encode", "encode chunks (FLAC)"),
        ("total", "total"),
    ]:
        w, c = median(wall[name]), median(cpu[name])
        rows.append(
            [
                label,
                f"{w:.2f}",
                spread(wall[name], 2),
                f"{w / decode_s:.2f}",
                f"{c:.2f}",
                f"{c / decode_cpu:.2f}",
            ]
        )
    print(
        f"{minutes:g} min of audio, {len(plans)} chunks of <= 600 s, "
        f"{sum(len(b) for b in blobs) / 1e6:.0f} MB of FLAC; {args.runs} runs, medians; "
        f"{minutes * 60 / median(wall['total']):.0f}x realtime (median wall total), "
        f"{minutes * 60 / median(cpu['total']):.0f}x per CPU second; "
        "target: total under 10 s for 60 min"
    )
    print(table(rows))


if __name__ == "__main__":
    main()
