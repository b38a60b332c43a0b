"""End-to-end wall time of the service (upload -> events -> done) vs the CLI on the same
10-minute file, same engine and settings. Target: ratio under 1.15."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from _common import table
from _service import service, submit, wait
from chunk_throughput import build_file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--quick", action="store_true", help="2 minutes")
    args = parser.parse_args()
    minutes = 2.0 if args.quick else args.minutes
    with tempfile.TemporaryDirectory() as tmp:
        path = build_file(minutes, Path(tmp))
        env = {k: v for k, v in os.environ.items() if not k.startswith("AUDIOSVC_")}
        env.update(AUDIOSVC_DATA_DIR=str(Path(tmp) / "cli-data"), AUDIOSVC_CPU_THREADS="2")
        t0 = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "audiosvc.cli",
                "transcribe",
                str(path),
                "--language",
                "en",
                "-q",
                "-o",
                str(Path(tmp) / "out.txt"),
            ],
            env=env,
            check=True,
        )
        cli_s = time.perf_counter() - t0
        with (
            service({"AUDIOSVC_CPU_THREADS": "2"}) as svc,
            httpx.Client(base_url=svc.url, timeout=120) as client,
        ):
            t0 = time.perf_counter()
            job = wait(client, submit(client, path, language="en"))
            svc_s = time.perf_counter() - t0
            assert job["status"] == "succeeded", job
    print(f"{minutes:g} min file, tiny.en, 60 s chunks, worker -c 1 with 2 threads")
    print(
        table(
            [
                ["path", "wall s", "x CLI"],
                ["CLI (process start to exit)", f"{cli_s:.1f}", "1.00"],
                ["service (upload to done)", f"{svc_s:.1f}", f"{svc_s / cli_s:.2f}"],
            ]
        )
    )


if __name__ == "__main__":
    main()
