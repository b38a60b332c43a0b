"""Decode + chunk + FLAC-encode throughput on a long file (what a remote job needs before
its first upload). Target: under 10 s for 60 minutes on 2 cores. The ratio column compares
each stage with the bare decode measured in the same run."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from _common import SAMPLES, table, timed

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--quick", action="store_true", help="10 minutes")
    args = parser.parse_args()
    minutes = 10.0 if args.quick else args.minutes
    with tempfile.TemporaryDirectory() as tmp:
        path = build_file(minutes, Path(tmp))
        audio, t_decode = timed(lambda: decode(path))
        plans, t_plan = timed(lambda: plan_chunks(audio.pcm, ChunkParams(max_seconds=600)))
        blobs, t_encode = timed(
            lambda: [encode_audio(audio.pcm[p.start : p.end], SAMPLE_RATE, "flac") for p in plans]
        )
    total = t_decode + t_plan + t_encode
    rows = [["stage", "seconds", "x decode"]]
    for name, t in [
        ("decode (m4a -> 16 kHz PCM)", t_decode),
        ("plan chunks (pydub)", t_plan),
        ("encode chunks (FLAC)", t_encode),
        ("total", total),
    ]:
        rows.append([name, f"{t:.2f}", f"{t / t_decode:.2f}"])
    print(
        f"{minutes:g} min of audio, {len(plans)} chunks of <= 600 s, "
        f"{sum(len(b) for b in blobs) / 1e6:.0f} MB of FLAC; "
        f"{minutes * 60 / total:.0f}x realtime"
    )
    print(table(rows))


if __name__ == "__main__":
    main()
