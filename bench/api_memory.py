"""API process memory while a 1 GB upload streams in (target: flat, under 150 MB RSS),
against the same process idle just before the upload."""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Iterator

import httpx
import psutil
from _common import table
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
    parser.add_argument("--quick", action="store_true", help="200 MB")
    args = parser.parse_args()
    size = (200 if args.quick else args.megabytes) << 20
    env = {"AUDIOSVC_MAX_UPLOAD_BYTES": str(size + (1 << 20))}
    with service(env) as svc:
        proc = psutil.Process(svc.api_pid)
        idle = proc.memory_info().rss
        samples: list[int] = []
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                samples.append(proc.memory_info().rss)
                done.wait(0.05)

        threading.Thread(target=sample, daemon=True).start()
        t0 = time.perf_counter()
        resp = httpx.post(
            f"{svc.url}/v1/jobs",
            content=body(size, b"\x01" * (1 << 20)),
            headers={"content-type": "multipart/form-data; boundary=B"},
            timeout=600,
        )
        secs = time.perf_counter() - t0
        done.set()
    mb = 1 << 20
    print(
        f"{size // mb} MB upload in {secs:.1f} s ({size / mb / secs:.0f} MB/s); the API "
        f"answered {resp.status_code} ({resp.json()['error']['code'] if resp.is_error else 'job'})"
    )
    print(
        table(
            [
                ["API process", "RSS MB", "x idle"],
                ["idle, before the upload", f"{idle / mb:.0f}", "1.00"],
                [
                    "peak during the upload",
                    f"{max(samples) / mb:.0f}",
                    f"{max(samples) / idle:.2f}",
                ],
            ]
        )
    )


if __name__ == "__main__":
    main()
