"""50 small jobs submitted at once: all must succeed; throughput against one job alone."""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from _common import SAMPLES, table
from _service import service, submit, wait


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="10 jobs")
    args = parser.parse_args()
    n = 10 if args.quick else args.jobs
    clip = SAMPLES / "short.wav"
    env = {"AUDIOSVC_CPU_THREADS": str(max(1, 2 // args.workers))}
    with (
        service(env, workers=args.workers) as svc,
        httpx.Client(
            base_url=svc.url, timeout=600, limits=httpx.Limits(max_connections=n + 5)
        ) as client,
    ):
        wait(client, submit(client, clip, language="en"))  # warm: models loaded
        t0 = time.perf_counter()
        single = wait(client, submit(client, clip, language="en"))
        one = time.perf_counter() - t0
        assert single["status"] == "succeeded"

        def run(_: int) -> str:
            return str(wait(client, submit(client, clip, language="en"))["status"])

        t0 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=n) as pool:
            statuses = list(pool.map(run, range(n)))
        many = time.perf_counter() - t0
    ok = statuses.count("succeeded")
    print(
        f"{n} concurrent jobs of {clip.name} (10.3 s of audio each), {args.workers} worker "
        f"processes; {ok}/{n} succeeded"
    )
    print(
        table(
            [
                ["run", "wall s", "jobs/min", "x one job's time per job"],
                ["one job alone", f"{one:.1f}", f"{60 / one:.1f}", "1.00"],
                [f"{n} at once", f"{many:.1f}", f"{60 * n / many:.1f}", f"{many / n / one:.2f}"],
            ]
        )
    )


if __name__ == "__main__":
    main()
