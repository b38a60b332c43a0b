"""Start the real service for a benchmark as `audiosvc serve` lays it out: redis-server, a
worker per lane (interactive, batch at low CPU priority, io threads) and `audiosvc api`,
each a process, so the API's memory can be measured on its own. The workers can be stopped
and fresh ones started (cold workers: new interpreters, models not loaded)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from _common import ROOT

sys.path.insert(0, str(ROOT))

from audiosvc import jobqueue
from audiosvc.redis_server import EmbeddedRedis, free_port
from audiosvc.runner import SERVE_LAYOUT, wait_for_worker, worker_command, worker_env
from audiosvc.settings import Settings


def _stop(proc: subprocess.Popen[bytes], timeout: float = 20) -> None:
    """SIGTERM (a worker's warm shutdown), then SIGKILL, to the process group we started."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@dataclass
class Running:
    url: str
    api_pid: int
    data_dir: Path
    redis_url: str
    settings: Settings
    worker_cmds: list[list[str]]  # one per worker of the layout
    worker_envs: list[dict[str, str]]
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list, repr=False)

    def start_workers(self, *, wait_ready: bool = True) -> None:
        """Start fresh worker processes (models load on their first task)."""
        assert not self.workers, "workers are running"
        with (self.data_dir / "worker.log").open("ab") as log:
            for cmd, env in zip(self.worker_cmds, self.worker_envs, strict=True):
                self.workers.append(
                    subprocess.Popen(
                        cmd,
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        if wait_ready:
            n = len(self.workers)
            ready = wait_for_worker(self.settings, self.redis_url, self.workers[0], 60, count=n)
            assert ready, "workers did not start"

    def stop_workers(self) -> None:
        for proc in self.workers:
            _stop(proc)
        self.workers = []

    @property
    def pids(self) -> list[int]:
        """The API's and the workers' process ids."""
        return [self.api_pid, *(p.pid for p in self.workers)]


Layout = tuple[tuple[tuple[str, ...], int | None], ...]
# The layout before the lanes had workers of their own: one speech worker takes interactive
# before batch, and an interactive request waits for the batch chunk in progress.
SHARED_LAYOUT: Layout = ((jobqueue.SPEECH_LANES, None), ((jobqueue.IO,), 1))


@contextlib.contextmanager
def service(
    env: dict[str, str] | None = None,
    workers: int = 1,
    *,
    start_workers: bool = True,
    layout: Layout = SERVE_LAYOUT,
) -> Iterator[Running]:
    """The workers of ``layout`` (``audiosvc serve``'s by default): lanes and processes,
    None for ``workers`` (threads, with a remote provider)."""
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
        running: Running | None = None
        api: subprocess.Popen[bytes] | None = None
        try:
            wenvs = [
                worker_env(
                    settings.model_copy(update={"worker_concurrency": n or workers}),
                    redis.url,
                    lanes,
                )
                | base
                for lanes, n in layout
            ]
            api = subprocess.Popen(
                [sys.executable, "-m", "audiosvc.cli", "api", "--port", str(port)],
                env=base,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            url = f"http://127.0.0.1:{port}"
            cmds = [worker_command(n or workers, "WARNING", settings, lanes) for lanes, n in layout]
            running = Running(url, api.pid, data, redis.url, settings, cmds, wenvs)
            if start_workers:
                running.start_workers()
            deadline = time.monotonic() + 30
            while True:
                try:
                    httpx.get(f"{url}/healthz", timeout=10)
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)  # waiting for a server to listen
            yield running
        finally:
            if running is not None:
                running.stop_workers()
            if api is not None:
                _stop(api)
            redis.stop()


def submit(client: httpx.Client, path: Path, **fields: str) -> str:
    with path.open("rb") as f:
        resp = client.post("/v1/jobs", files={"file": (path.name, f)}, data=fields)
    resp.raise_for_status()
    return str(resp.json()["id"])


def follow(
    client: httpx.Client, job_id: str, timeout: float = 1800
) -> Iterator[tuple[float, dict[str, object]]]:
    """The job's server-sent events, each with the time.monotonic() it arrived at."""
    with client.stream("GET", f"/v1/jobs/{job_id}/events", timeout=timeout) as resp:
        for line in resp.iter_lines():
            if line.startswith("data: "):
                yield time.monotonic(), json.loads(line[6:])


def wait(client: httpx.Client, job_id: str, timeout: float = 1800) -> dict[str, object]:
    """Follow the job's server-sent events to its end."""
    last: dict[str, object] = {}
    for _, event in follow(client, job_id, timeout):
        last = event
    job: dict[str, object] = client.get(f"/v1/jobs/{job_id}").json()
    assert last["status"] == job["status"]
    return job
