"""The service vs the CLI on the same 10-minute file, with the same engine and settings
(tiny.en, language given, 60 s chunks, 2 threads, word times aligned: the CLI writes
verbose_json with words, and a job keeps its words for any format), compared like with like,
twice:

* warm: the CLI's work in this process (``audiosvc.cli.main``, after a warm-up run that
  loads the model) against the service from upload to done, its worker warm (after a
  warm-up job);
* cold: the CLI from process start to exit (interpreter, imports, model load, work) against
  the service from upload to done on freshly started workers (their interpreters, Celery's
  start, model load, work). Redis and the API stay up, as they do in a running service.

Each comparison runs --runs times, the two paths alternating (the one that goes first swaps
every round); figures are medians. Besides wall time, the CPU time of each path's processes
is reported (the CLI: its process; the service: the API and the workers' processes), which other
work on a shared machine disturbs less. Target: the service under 1.15x the CLI."""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil
from _common import SAMPLES, median, rotated, spread, table
from _service import Running, service, submit, wait
from chunk_throughput import build_file

from audiosvc import cli


def cli_args(path: Path, out: Path) -> list[str]:
    return ["transcribe", str(path), "--language", "en", "-f", "verbose_json", "-q", "-o", str(out)]


def cpu_of(*pids: int) -> float:
    """User + system seconds of these live processes and their live descendants."""
    total = 0.0
    for pid in pids:
        root = psutil.Process(pid)
        for p in [root, *root.children(recursive=True)]:
            t = p.cpu_times()
            total += t.user + t.system
    return total


def service_cpu(svc: Running) -> float:
    assert svc.workers
    return cpu_of(*svc.pids)


def children_cpu() -> float:
    """User + system seconds of this process's children that have ended."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=3, help="runs of each path (default 3)")
    parser.add_argument("--quick", action="store_true", help="2 minutes")
    args = parser.parse_args()
    minutes = 2.0 if args.quick else args.minutes
    threads = {"AUDIOSVC_CPU_THREADS": "2"}
    wall: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = build_file(minutes, Path(tmp))
        out = Path(tmp) / "out.txt"
        with (
            service(threads, start_workers=False) as svc,
            httpx.Client(base_url=svc.url, timeout=120) as client,
        ):
            # The CLI process gets the same settings, and a data dir of its own.
            cli_env = {k: v for k, v in os.environ.items() if not k.startswith("AUDIOSVC_")}
            cli_env |= threads | {"AUDIOSVC_DATA_DIR": str(Path(tmp) / "cli-data")}

            def cold_cli() -> tuple[float, float]:
                c0, t0 = children_cpu(), time.perf_counter()
                subprocess.run(
                    [sys.executable, "-m", "audiosvc.cli", *cli_args(path, out)],
                    env=cli_env,
                    check=True,
                )
                return time.perf_counter() - t0, children_cpu() - c0

            def cold_service() -> tuple[float, float]:
                api0, t0 = cpu_of(svc.api_pid), time.perf_counter()
                job_id = submit(client, path, language="en")  # queued: no worker yet
                svc.start_workers(wait_ready=False)
                job = wait(client, job_id)
                secs = time.perf_counter() - t0
                used = service_cpu(svc) - api0  # new workers: all their CPU is this job's
                assert job["status"] == "succeeded", job
                svc.stop_workers()
                return secs, used

            def warm_cli() -> tuple[float, float]:
                c0, t0 = time.process_time(), time.perf_counter()
                assert cli.main(cli_args(path, out)) == 0
                return time.perf_counter() - t0, time.process_time() - c0

            def warm_service() -> tuple[float, float]:
                c0, t0 = service_cpu(svc), time.perf_counter()
                job = wait(client, submit(client, path, language="en"))
                secs = time.perf_counter() - t0
                used = service_cpu(svc) - c0
                assert job["status"] == "succeeded", job
                return secs, used

            def record(name: str, result: tuple[float, float]) -> None:
                wall.setdefault(name, []).append(result[0])
                cpu.setdefault(name, []).append(result[1])

            for r in range(args.runs):
                for name, fn in rotated([("cold CLI", cold_cli), ("cold svc", cold_service)], r):
                    record(name, fn())
            # Warm-up (not timed): models loaded in this process and in the worker.
            assert cli.main(cli_args(SAMPLES / "short.wav", out)) == 0
            svc.start_workers()
            warmup = wait(client, submit(client, SAMPLES / "short.wav", language="en"))
            assert warmup["status"] == "succeeded", warmup
            for r in range(args.runs):
                for name, fn in rotated([("warm CLI", warm_cli), ("warm svc", warm_service)], r):
                    record(name, fn())
    print(
        f"{minutes:g} min file, tiny.en, 60 s chunks, 2 threads, word times (service: a speech "
        f"worker, 1 process with 2 threads, and an io worker); {args.runs} runs of each path, "
        "alternating; medians; "
        "target: service under 1.15x the CLI"
    )
    rows = [["comparison", "path", "wall s", "runs s", "x CLI", "CPU s", "runs s", "x CLI CPU"]]
    for kind, cli_label, svc_label in [
        ("warm", "CLI work in this process, model loaded", "service, upload to done, workers warm"),
        ("cold", "CLI, process start to exit", "service, upload to done, fresh workers"),
    ]:
        for label, key in [(cli_label, "CLI"), (svc_label, "svc")]:
            w, c = wall[f"{kind} {key}"], cpu[f"{kind} {key}"]
            w0, c0 = median(wall[f"{kind} CLI"]), median(cpu[f"{kind} CLI"])
            rows.append(
                [
                    kind,
                    label,
                    f"{median(w):.1f}",
                    spread(w),
                    f"{median(w) / w0:.2f}",
                    f"{median(c):.1f}",
                    spread(c),
                    f"{median(c) / c0:.2f}",
                ]
            )
    print(table(rows))


if __name__ == "__main__":
    main()
