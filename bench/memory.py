"""Peak memory (max RSS of a child process) of decode + plan + encode-all-chunks on a
3-hour file, against the same child that only imports audiosvc. Both children run --runs
times, alternating (the one that goes first swaps every round); figures are medians.
Target: under 500 MB."""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import median, rotated, spread
from chunk_throughput import build_file

# VmHWM, not ru_maxrss: ru_maxrss survives fork+exec and would report this parent's peak.
CHILD = """
import sys
from audiosvc.chunking import SAMPLE_RATE, ChunkParams, plan_chunks
from audiosvc.encode import encode_audio
from audiosvc.media import decode
if sys.argv[1] != "baseline":
    audio = decode(sys.argv[1])
    for p in plan_chunks(audio.pcm, ChunkParams(max_seconds=600)):
        encode_audio(audio.pcm[p.start : p.end], SAMPLE_RATE, "flac")
status = open("/proc/self/status").read()
print(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))
"""


def peak_mb(arg: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, arg], capture_output=True, text=True, check=True
    )
    return int(out.stdout.split()[-1]) / 1024  # VmHWM is in kB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=180.0)
    parser.add_argument("--runs", type=int, default=3, help="runs of each child (default 3)")
    parser.add_argument("--quick", action="store_true", help="30 minutes")
    args = parser.parse_args()
    minutes = 30.0 if args.quick else args.minutes
    peaks: dict[str, list[float]] = {"baseline": [], "work": []}
    with tempfile.TemporaryDirectory() as tmp:
        path = build_file(minutes, Path(tmp))
        for r in range(args.runs):
            for name, arg in rotated([("baseline", "baseline"), ("work", str(path))], r):
                peaks[name].append(peak_mb(arg))
    pcm_mb = minutes * 60 * 16_000 * 2 / 2**20
    baseline, peak = median(peaks["baseline"]), median(peaks["work"])
    print(
        f"{minutes:g} min of audio ({pcm_mb:.0f} MB as 16 kHz int16 PCM); "
        f"{args.runs} runs of each child, alternating; medians; target: peak under 500 MB"
    )
    print(
        f"| child | peak RSS MB | runs MB |\n|---|---|---|\n"
        f"| import only (baseline) | {baseline:.0f} | {spread(peaks['baseline'], 0)} |\n"
        f"| decode + plan + encode all chunks | {peak:.0f} | {spread(peaks['work'], 0)} |\n"
        f"| difference | {peak - baseline:.0f} ({(peak - baseline) / pcm_mb:.2f}x the PCM) | |"
    )


if __name__ == "__main__":
    main()
