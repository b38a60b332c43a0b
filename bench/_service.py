"""Start the real service for a benchmark: redis-server, a worker, and `audiosvc api`, each
a process, so the API's memory can be measured on its own."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from _common import ROOT

sys.path.insert(0, str(ROOT))

from audiosvc.redis_server import EmbeddedRedis, free_port
from audiosvc.runner import _wait_for_worker, worker_command, worker_env
from audiosvc.settings import Settings


@dataclass
class Running:
    url: str
    api_pid: int
    data_dir: Path


@contextlib.contextmanager
def service(env: dict[str, str] | None = None, workers: int = 1) -> Iterator[Running]:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        redis = EmbeddedRedis(data / "redis").start()
        base = {k: v for k, v in os.environ.items() if not k.startswith("AUDIOSVC_")}
        base.pop("GROQ_API_KEY", None)
        base.update(
            AUDIOSVC_DATA_DIR=str(data / "data"),
            AUDIOSVC_REDIS_URL=redis.url,
            HF_HUB_OFFLINE="1",
            **(env or {}),
        )
        os.environ.update({k: v for k, v in base.items() if k.startswith("AUDIOSVC_")})
        settings = Settings()
        port = free_port()
        procs: list[subprocess.Popen[bytes]] = []
        try:
            wenv = worker_env(
                settings.model_copy(update={"worker_concurrency": workers}), redis.url
            ) | {k: v for k, v in base.items()}
            log = (data / "worker.log").open("ab")
            worker = subprocess.Popen(
                worker_command(workers, "WARNING", settings),
                env=wenv,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            procs.append(worker)
            api = subprocess.Popen(
                [sys.executable, "-m", "audiosvc.cli", "api", "--port", str(port)],
                env=base,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            procs.append(api)
            assert _wait_for_worker(redis.url, worker, 60), "worker did not start"
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    httpx.get(f"{url}/healthz", timeout=10)
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)  # waiting for a server to listen
            yield Running(url, api.pid, data)
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                try:
                    p.wait(20)
                except subprocess.TimeoutExpired:
                    p.kill()
            redis.stop()


def submit(client: httpx.Client, path: Path, **fields: str) -> str:
    with path.open("rb") as f:
        resp = client.post("/v1/jobs", files={"file": (path.name, f)}, data=fields)
    resp.raise_for_status()
    return str(resp.json()["id"])


def wait(client: httpx.Client, job_id: str, timeout: float = 1800) -> dict[str, object]:
    """Follow the job's server-sent events to its end."""
    with client.stream("GET", f"/v1/jobs/{job_id}/events", timeout=timeout) as resp:
        for line in resp.iter_lines():
            if line.startswith("data: "):
                last = json.loads(line[6:])
    job: dict[str, object] = client.get(f"/v1/jobs/{job_id}").json()
    assert last["status"] == job["status"]
    return job
