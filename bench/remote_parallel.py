"""A 60-minute file through the service against a Groq-like provider (the test server,
answering each request after a fixed latency plus a cost per audio second), with the VAD
speech gate on and off: one service for each, both up for the whole run, after a warm-up job
each. The jobs alternate between the two (the one that goes first swaps every round), --runs
jobs each; every measured figure is a median.

Measured, from the start of the upload (one clock, time.monotonic):
* API answered: the upload received, probed and queued;
* chunks written: the job's first event that carries its chunk plan (the worker decoded the
  file, planned the chunks and wrote their PCM);
* first / last provider request: a chunk's upload reached the provider (the chunk's PCM
  read, the gate's VAD on it, FLAC encoding, the upload);
* done: the job's final event;
* in this process: Silero VAD (what the gate runs) over every chunk of the same plan, one
  after another, timed in the same alternation (wall and CPU time).

Computed from the provider's cost model (latency + per-second cost x the chunk's audio
seconds), not measured: the slowest single chunk (the bound if all chunks ran fully in
parallel) and all chunks one after another (the sequential bound)."""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
from _common import ROOT, SAMPLES, median, rotated, spread, table
from _service import follow, service, submit
from chunk_throughput import build_file

sys.path.insert(0, str(ROOT))
from audiosvc.chunking import ChunkParams, plan_chunks
from audiosvc.media import decode
from audiosvc.quality import speech_regions
from audiosvc.settings import Settings
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
        self.costs: list[float] = []  # the cost model's time for each request

    def __call__(self, pcm: np.ndarray, request: ReceivedRequest) -> list[list[HeardWord]]:
        cost = self.latency + self.per_second * len(pcm) / 16_000
        self.costs.append(cost)
        time.sleep(cost)  # the simulated provider's processing time
        return self.inner(pcm, request)


MEASURES = ("answered", "planned", "first", "last", "done")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--chunk-seconds", type=float, default=300.0)
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--per-second", type=float, default=0.01)
    parser.add_argument("--parallel", type=int, default=16)
    parser.add_argument("--runs", type=int, default=3, help="jobs of each variant (default 3)")
    parser.add_argument("--quick", action="store_true", help="15 minutes")
    args = parser.parse_args()
    minutes = 15.0 if args.quick else args.minutes
    responder = SlowResponder(args.latency, args.per_second)
    gates = ("on", "off")
    got: dict[str, dict[str, list[float]]] = {g: {m: [] for m in MEASURES} for g in gates}
    costs: dict[str, list[list[float]]] = {g: [] for g in gates}
    vad: list[float] = []
    vad_cpu: list[float] = []
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        groq = stack.enter_context(GroqServer(responder=responder))
        path = build_file(minutes, tmp)
        pcm = decode(path).pcm
        params = ChunkParams.from_settings(Settings(provider="groq"), args.chunk_seconds)
        chunks = [pcm[p.start : p.end] for p in plan_chunks(pcm, params)]
        speech_regions(chunks[0][:16_000])  # warm-up: loads the VAD model
        clients: dict[str, httpx.Client] = {}
        for gate in gates:
            svc = stack.enter_context(
                service(
                    {
                        "AUDIOSVC_PROVIDER": "groq",
                        "AUDIOSVC_BASE_URL": groq.url,
                        "GROQ_API_KEY": DEFAULT_API_KEY,
                        "AUDIOSVC_REQUESTS_PER_MINUTE": "0",
                        "AUDIOSVC_AUDIO_SECONDS_PER_HOUR": "0",
                        "AUDIOSVC_MAX_PARALLEL_REQUESTS": str(args.parallel),
                        "AUDIOSVC_SPEECH_GATE": "true" if gate == "on" else "false",
                    }
                )
            )
            client = stack.enter_context(httpx.Client(base_url=svc.url, timeout=120))
            clients[gate] = client
            for _ in follow(client, submit(client, SAMPLES / "short.wav")):  # warm-up
                pass

        def job(gate: str) -> None:
            client = clients[gate]
            groq.clear()
            responder.costs.clear()
            t0 = time.monotonic()
            job_id = submit(client, path, chunk_seconds=str(args.chunk_seconds))
            answered = time.monotonic() - t0
            planned, last = None, {}
            for at, last in follow(client, job_id):
                progress = last["progress"]
                assert isinstance(progress, dict)
                if planned is None and progress["chunks_total"]:
                    planned = at - t0
            done = time.monotonic() - t0
            assert last["status"] == "succeeded", last
            arrivals = sorted(r.received_at - t0 for r in groq.requests)
            assert planned is not None and arrivals
            for name, value in zip(
                MEASURES, (answered, planned, arrivals[0], arrivals[-1], done), strict=True
            ):
                got[gate][name].append(value)
            costs[gate].append(list(responder.costs))

        def vad_pass() -> None:
            c0, t0 = time.process_time(), time.perf_counter()
            for chunk in chunks:
                speech_regions(chunk)
            vad.append(time.perf_counter() - t0)
            vad_cpu.append(time.process_time() - c0)

        steps: list[Callable[[], None]] = [lambda: job("on"), lambda: job("off"), vad_pass]
        for r in range(args.runs):
            for step in rotated(steps, r):
                step()

    n = {g: median([len(c) for c in costs[g]]) for g in gates}
    slowest = {g: median([max(c) for c in costs[g]]) for g in gates}
    total = {g: median([sum(c) for c in costs[g]]) for g in gates}
    wall = {g: median(got[g]["done"]) for g in gates}
    print(
        f"{minutes:g} min file, {len(chunks)} chunks of <= {args.chunk_seconds:g} s, provider "
        f"{args.latency:g} s + {args.per_second:g} s per audio s, {args.parallel} threads; "
        f"{args.runs} jobs with the speech gate on and {args.runs} off, alternating; medians "
        "(range over the runs)"
    )

    def cell(values: list[float], digits: int = 1) -> str:
        return f"{median(values):.{digits}f} ({spread(values, digits)})"

    rows = [["measure, seconds from the start of the upload", "kind", "gate on", "gate off"]]
    for name, label in [
        ("answered", "API answered (upload received, probed, queued)"),
        ("planned", "chunks written (decoded, planned, PCM written)"),
        ("first", "first chunk reached the provider"),
        ("last", "last chunk reached the provider"),
        ("done", "done (upload to done)"),
    ]:
        d = 2 if name == "answered" else 1
        rows.append([label, "measured", cell(got["on"][name], d), cell(got["off"][name], d)])
    spreads = {
        g: [b - a for a, b in zip(got[g]["first"], got[g]["last"], strict=True)] for g in gates
    }
    rows.append(
        [
            "first to last chunk at the provider",
            "measured",
            cell(spreads["on"]),
            cell(spreads["off"]),
        ]
    )
    rows.append(["chunks sent to the provider", "counted", f"{n['on']:g}", f"{n['off']:g}"])
    rows.append(
        [
            "slowest single chunk (parallel bound)",
            "computed",
            f"{slowest['on']:.1f}",
            f"{slowest['off']:.1f}",
        ]
    )
    rows.append(
        [
            "all chunks one after another (sequential bound)",
            "computed",
            f"{total['on']:.1f}",
            f"{total['off']:.1f}",
        ]
    )
    rows.append(
        [
            "done / slowest chunk",
            "ratio",
            f"{wall['on'] / slowest['on']:.2f}",
            f"{wall['off'] / slowest['off']:.2f}",
        ]
    )
    rows.append(
        [
            "done / all chunks one after another",
            "ratio",
            f"{wall['on'] / total['on']:.2f}",
            f"{wall['off'] / total['off']:.2f}",
        ]
    )
    print(table(rows))
    print(
        f"Silero VAD over the {len(chunks)} chunks ({minutes:g} min), one after another in "
        f"this process (measured): {median(vad):.1f} s wall ({spread(vad)}), "
        f"{median(vad_cpu):.1f} s CPU ({spread(vad_cpu)})"
    )
    print(f"done, gate on minus gate off (medians, measured): {wall['on'] - wall['off']:.1f} s")


if __name__ == "__main__":
    main()
