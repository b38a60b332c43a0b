"""50 small jobs submitted at once: all must succeed; throughput against one job alone.
After a warm-up job (models loaded), --runs rounds each run one job alone and the 50 at once,
alternating which goes first; figures are medians."""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from _common import SAMPLES, median, rotated, spread, table
from _service import service, submit, wait

from audiosvc.media import decode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3, help="rounds (default 3)")
    parser.add_argument("--quick", action="store_true", help="10 jobs")
    args = parser.parse_args()
    n = 10 if args.quick else args.jobs
    clip = SAMPLES / "short.wav"
    seconds = decode(clip).duration
    env = {"AUDIOSVC_CPU_THREADS": str(max(1, 2 // args.workers))}
    one: list[float] = []
    many: list[float] = []
    statuses: list[str] = []
    with (
        service(env, workers=args.workers) as svc,
        httpx.Client(
            base_url=svc.url, timeout=600, limits=httpx.Limits(max_connections=n + 5)
        ) as client,
    ):

        def run(_: int) -> str:
            return str(wait(client, submit(client, clip, language="en"))["status"])

        # Warm-up, not timed: jobs at once, so that every worker process loads its model.
        with ThreadPoolExecutor(max_workers=2 * args.workers) as pool:
            assert set(pool.map(run, range(2 * args.workers))) == {"succeeded"}

        def alone() -> None:
            t0 = time.perf_counter()
            status = run(0)
            one.append(time.perf_counter() - t0)
            assert status == "succeeded"

        def at_once() -> None:
            t0 = time.perf_counter()
            with ThreadPoolExecutor(max_workers=n) as pool:
                statuses.extend(pool.map(run, range(n)))
            many.append(time.perf_counter() - t0)

        for r in range(args.runs):
            for step in rotated([alone, at_once], r):
                step()
    ok = statuses.count("succeeded")
    t1, tn = median(one), median(many)
    print(
        f"{n} concurrent jobs of {clip.name} ({seconds:.1f} s of audio each), a speech worker "
        f"of {args.workers} processes with {env['AUDIOSVC_CPU_THREADS']} thread(s) each and an "
        f"io worker; {args.runs} "
        f"rounds, alternating; medians; {ok} of {len(statuses)} jobs succeeded "
        f"({n} per round)"
    )
    print(
        table(
            [
                ["run", "median wall s", "runs s", "jobs/min", "x one job's time, per job"],
                ["one job alone", f"{t1:.2f}", spread(one, 2), f"{60 / t1:.1f}", "1.00"],
                [
                    f"{n} at once",
                    f"{tn:.1f}",
                    spread(many),
                    f"{60 * n / tn:.0f}",
                    f"{tn / n / t1:.2f}",
                ],
            ]
        )
    )


if __name__ == "__main__":
    main()
