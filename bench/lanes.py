"""Lanes: a 10 s synchronous transcription (`POST /openai/v1/audio/transcriptions` of
`samples/short.wav`, local engine) on an idle service, and the same request

* while a 60-minute job is being transcribed (its chunks on the batch lane), and
* while the io lane is held by URL jobs whose origins trickle a byte every 2 s and by a
  webhook receiver that trickles its answer.

The service is laid out as `audiosvc serve` does it: an interactive worker, a batch worker
(nice 19, a process per core) and an io worker; and, for comparison, as it was before the
lanes had workers of their own: one speech worker takes interactive before batch, at normal
priority. Target: the request under load takes at most 2x its idle latency.
Each condition sends --runs requests one after another (3 by default); the table gives the
median and range, and the ratio of medians to idle."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import httpx
from _common import SAMPLES, median, spread, table
from _service import SHARED_LAYOUT, Running, follow, service, submit
from chunk_throughput import build_file

from audiosvc.jobqueue import BATCH
from audiosvc.runner import SERVE_LAYOUT, default_processes
from tests.localhttp import trickling

TRICKLE_SECONDS = 2.0


def sync_request(client: httpx.Client) -> float:
    clip = (SAMPLES / "short.wav").read_bytes()
    t0 = time.perf_counter()
    resp = client.post(
        "/openai/v1/audio/transcriptions",
        files={"file": ("short.wav", clip)},
        data={"model": "whisper-large-v3-turbo", "language": "en", "response_format": "json"},
        timeout=600,
    )
    elapsed = time.perf_counter() - t0
    resp.raise_for_status()
    assert resp.json()["text"].strip(), resp.text
    return elapsed


def requests(client: httpx.Client, runs: int) -> list[float]:
    return [sync_request(client) for _ in range(runs)]


def while_long_job(client: httpx.Client, long_file: Path, runs: int) -> tuple[list[float], int]:
    """The requests, sent once the long job's first chunk is done (its worker is busy with
    the next); returns them and how many of its chunks were done meanwhile."""
    job_id = submit(client, long_file, language="en")
    for _, event in follow(client, job_id):
        progress = event.get("progress") or {}
        if isinstance(progress, dict) and progress.get("chunks_done", 0) >= 1:
            break
    try:
        times = requests(client, runs)
        done = client.get(f"/v1/jobs/{job_id}").json()
        assert done["status"] == "processing", done["status"]  # still running throughout
        return times, int(done["progress"]["chunks_done"]) - 1
    finally:
        client.delete(f"/v1/jobs/{job_id}")


def while_io_is_held(running: Running, client: httpx.Client, runs: int) -> list[float]:
    """The requests, while trickling URL jobs and a trickling webhook receiver hold io
    threads (as many as the io worker has, less one)."""
    with (
        trickling(TRICKLE_SECONDS, where="body") as (origin, _),
        trickling(TRICKLE_SECONDS, where="headers") as (hook, _),
    ):
        held = max(1, running.settings.io_threads - 1)
        ids = [
            client.post("/v1/jobs", data={"url": f"{origin}?{i}"}).json()["id"]
            for i in range(held - 1)
        ]
        with (SAMPLES / "short.wav").open("rb") as f:
            resp = client.post(
                "/v1/jobs",
                files={"file": ("short.wav", f)},
                data={"language": "en", "webhook_url": hook},
            )
        ids.append(resp.json()["id"])
        time.sleep(2 * TRICKLE_SECONDS)  # let the downloads and the delivery start
        try:
            return requests(client, runs)
        finally:
            for job_id in ids:
                client.delete(f"/v1/jobs/{job_id}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="requests per condition (default 3)")
    parser.add_argument("--minutes", type=float, default=60.0, help="the long job's length")
    parser.add_argument("--quick", action="store_true", help="a 10-minute long job, 2 runs")
    args = parser.parse_args()
    minutes = 10.0 if args.quick else args.minutes
    runs = 2 if args.quick else args.runs
    env = {
        "AUDIOSVC_ALLOW_PRIVATE_URLS": "true",  # the trickling origin is on 127.0.0.1
        "AUDIOSVC_URL_FETCH_MAX_SECONDS": "3600",
        "AUDIOSVC_WEBHOOK_TIMEOUT": "3600",  # only the thread it holds is measured here
    }
    rows: dict[str, list[float]] = {}
    chunks: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        long_file = build_file(minutes, Path(tmp))
        for layout, label in ((SERVE_LAYOUT, "serve"), (SHARED_LAYOUT, "shared")):
            processes = default_processes([BATCH]) if layout is SERVE_LAYOUT else 1
            with (
                service(env, processes, layout=layout) as running,
                httpx.Client(base_url=running.url, timeout=600) as client,
            ):
                sync_request(client)  # the model loads: every figure below is warm
                rows[f"{label}: idle"] = requests(client, runs)
                during = f"{label}: during a {minutes:g}-minute job"
                rows[during], chunks[label] = while_long_job(client, long_file, runs)
                if layout is SERVE_LAYOUT:
                    held = max(1, running.settings.io_threads - 1)
                    name = f"{label}: {held} of {held + 1} io threads held by trickling peers"
                    rows[name] = while_io_is_held(running, client, runs)
    out = [["layout: condition", "10 s request, s", "vs idle"]]
    for name, times in rows.items():
        idle = median(rows[name.split(":")[0] + ": idle"])
        out.append([name, spread(times, 2), f"{median(times) / idle:.2f}x"])
    print(table(out))
    print(
        "serve: interactive, batch (nice 19) and io workers; shared: one speech worker takes "
        "interactive before batch (at normal priority), and an io worker"
    )
    print(f"the long job's chunks done meanwhile: {chunks} (its worker kept working)")
    print("target: at most 2x idle under load")


if __name__ == "__main__":
    main()
