"""API process memory while a 1 GB upload streams in (target: flat, under 150 MB RSS),
against the same process idle just before the upload. The upload runs --runs times, each
against the idle RSS measured just before it; figures are medians."""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Iterator

import httpx
import psutil
from _common import median, spread, table
from _service import service


def body(total: int, block: bytes) -> Iterator[bytes]:
    head = b'--B\r\nContent-Disposition: form-data; name="file"; filename="big.wav"\r\n\r\n'
    yield head
    sent = 0
    while sent < total:
        yield block
        sent += len(block)
    yield b'\r\n--B\r\nContent-Disposition: form-data; name="language"\r\n\r\nen\r\n--B--\r\n'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--megabytes", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3, help="uploads (default 3)")
    parser.add_argument("--quick", action="store_true", help="200 MB")
    args = parser.parse_args()
    size = (200 if args.quick else args.megabytes) << 20
    mb = 1 << 20
    env = {"AUDIOSVC_MAX_UPLOAD_BYTES": str(size + (1 << 20))}
    idle: list[float] = []
    peak: list[float] = []
    rate: list[float] = []
    answers: list[str] = []
    with service(env) as svc:
        proc = psutil.Process(svc.api_pid)
        for _ in range(args.runs):
            idle.append(proc.memory_info().rss / mb)
            samples: list[int] = []
            done = threading.Event()

            def sample(samples: list[int] = samples, done: threading.Event = done) -> None:
                while not done.is_set():
                    samples.append(proc.memory_info().rss)
                    done.wait(0.05)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            t0 = time.perf_counter()
            resp = httpx.post(
                f"{svc.url}/v1/jobs",
                content=body(size, b"\x01" * (1 << 20)),
                headers={"content-type": "multipart/form-data; boundary=B"},
                timeout=600,
            )
            rate.append(size / mb / (time.perf_counter() - t0))
            done.set()
            sampler.join()
            peak.append(max(samples) / mb)
            code = resp.json()["error"]["code"] if resp.is_error else "job"
            answers.append(f"{resp.status_code} ({code})")
    print(
        f"{size // mb} MB upload, {args.runs} runs; medians: {median(rate):.0f} MB/s "
        f"({spread(rate, 0)}); the API answered {', '.join(sorted(set(answers)))}; "
        "target: flat, under 150 MB"
    )
    print(
        table(
            [
                ["API process", "RSS MB", "runs MB", "x idle"],
                ["idle, before the upload", f"{median(idle):.0f}", spread(idle, 0), "1.00"],
                [
                    "peak during the upload",
                    f"{median(peak):.0f}",
                    spread(peak, 0),
                    f"{median(peak) / median(idle):.2f}",
                ],
            ]
        )
    )


if __name__ == "__main__":
    main()
