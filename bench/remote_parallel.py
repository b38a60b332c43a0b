"""A 60-minute file through the service against a Groq-like provider that takes a fixed
latency per request plus a cost per audio second: wall time vs the slowest single chunk
(the bound if chunks really run in parallel) and vs the sum of all chunks (sequential)."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from _common import ROOT, table
from _service import service, submit, wait
from chunk_throughput import build_file

sys.path.insert(0, str(ROOT))
from tests.groq_server import (
    DEFAULT_API_KEY,
    EnergyResponder,
    GroqServer,
    HeardWord,
    ReceivedRequest,
)


class SlowResponder:
    """Hears like EnergyResponder, after latency + per_second x audio seconds."""

    def __init__(self, latency: float, per_second: float) -> None:
        self.latency, self.per_second = latency, per_second
        self.inner = EnergyResponder()
        self.durations: list[float] = []

    def __call__(self, pcm: np.ndarray, request: ReceivedRequest) -> list[list[HeardWord]]:
        cost = self.latency + self.per_second * len(pcm) / 16_000
        self.durations.append(cost)
        time.sleep(cost)  # the simulated provider's processing time
        return self.inner(pcm, request)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--chunk-seconds", type=float, default=300.0)
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--per-second", type=float, default=0.01)
    parser.add_argument("--parallel", type=int, default=16)
    parser.add_argument("--no-gate", action="store_true", help="skip the VAD speech gate")
    parser.add_argument("--quick", action="store_true", help="15 minutes")
    args = parser.parse_args()
    minutes = 15.0 if args.quick else args.minutes
    responder = SlowResponder(args.latency, args.per_second)
    with tempfile.TemporaryDirectory() as tmp, GroqServer(responder=responder) as groq:
        path = build_file(minutes, Path(tmp))
        env = {
            "AUDIOSVC_PROVIDER": "groq",
            "AUDIOSVC_BASE_URL": groq.url,
            "GROQ_API_KEY": DEFAULT_API_KEY,
            "AUDIOSVC_REQUESTS_PER_MINUTE": "0",
            "AUDIOSVC_AUDIO_SECONDS_PER_HOUR": "0",
            "AUDIOSVC_MAX_PARALLEL_REQUESTS": str(args.parallel),
            "AUDIOSVC_SPEECH_GATE": "false" if args.no_gate else "true",
        }
        with service(env) as svc, httpx.Client(base_url=svc.url, timeout=120) as client:
            t0, m0 = time.perf_counter(), time.monotonic()
            job = wait(client, submit(client, path, chunk_seconds=str(args.chunk_seconds)))
            wall = time.perf_counter() - t0
            arrivals = sorted(r.received_at - m0 for r in groq.requests)
        assert job["status"] == "succeeded", job
    slowest, total = max(responder.durations), sum(responder.durations)
    n = len(responder.durations)
    print(
        f"{minutes:g} min file, {n} chunks of <= {args.chunk_seconds:g} s, provider "
        f"{args.latency:g} s + {args.per_second:g} s per audio s, {args.parallel} threads, "
        f"speech gate {'off' if args.no_gate else 'on'}"
    )
    print(
        table(
            [
                ["measure", "seconds", "wall / this"],
                [
                    "slowest single chunk (parallel bound)",
                    f"{slowest:.1f}",
                    f"{wall / slowest:.2f}",
                ],
                ["all chunks one after another", f"{total:.1f}", f"{wall / total:.2f}"],
                ["service, upload to done", f"{wall:.1f}", "1.00"],
            ]
        )
    )
    print(
        f"uploads reached the provider from {arrivals[0]:.1f} s to {arrivals[-1]:.1f} s "
        "after the job was submitted"
    )


if __name__ == "__main__":
    main()
