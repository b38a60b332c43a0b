"""Real parts for service tests: a redis-server, Celery worker processes, a uvicorn API."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from pydantic import SecretStr

from audiosvc.api.app import create_app
from audiosvc.jobqueue import LANES
from audiosvc.redis_server import die_with_parent, free_port
from audiosvc.runner import wait_for_worker, worker_command, worker_env
from audiosvc.settings import Settings


class Worker:
    """A real ``celery worker`` process (prefork, -c 1) in its own process group."""

    def __init__(
        self, settings: Settings, log: Path, lanes: Sequence[str] = LANES, **env: str
    ) -> None:
        self.settings = settings
        self.log = log
        self.lanes = lanes
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Worker:
        assert self.settings.redis_url
        env = worker_env(self.settings, self.settings.redis_url, self.lanes)
        env.update(_settings_env(self.settings))
        env.update(self.env)
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                worker_command(1, "INFO", self.settings, self.lanes),
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent,  # never outlives a crashed test run
            )
        if not wait_for_worker(self.settings, self.settings.redis_url, self.proc, 60):
            raise RuntimeError(f"worker did not start; see {self.log}")
        return self

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool children), as a crash would."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def _settings_env(settings: Settings) -> dict[str, str]:
    """The settings a test chose, as AUDIOSVC_* variables for a worker process."""
    names = sorted(settings.model_fields_set)  # every setting the test chose, none missed
    env = {}
    for name in names:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if value is not None:
            env[f"AUDIOSVC_{name.upper()}"] = (
                str(value).lower() if isinstance(value, bool) else str(value)
            )
    return env


class Api:
    """The real app served by uvicorn on a free port, in a thread of the test process."""

    def __init__(self, settings: Settings) -> None:
        self.port = free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(
                create_app(settings),
                host="127.0.0.1",
                port=self.port,
                log_level="warning",
                lifespan="on",
            )
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Api:
        self.thread.start()
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("API did not start")
            self.thread.join(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def events(client: httpx.Client, job_id: str, timeout: float = 180) -> Iterator[dict[str, Any]]:
    """The job's server-sent events, parsed, until the stream ends."""
    with client.stream("GET", f"/v1/jobs/{job_id}/events", timeout=timeout) as resp:
        assert resp.status_code == 200, resp.read()
        assert resp.headers["content-type"].startswith("text/event-stream")
        event: str | None = None
        for line in resp.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
                data["_event"] = event
                yield data


def wait_until_done(client: httpx.Client, job_id: str, timeout: float = 180) -> dict[str, Any]:
    """Follow the job's events to its end (no polling, no sleeps); return the final job."""
    last: dict[str, Any] = {}
    for event in events(client, job_id, timeout):
        last = event
    assert last.get("status") in ("succeeded", "failed", "cancelled"), last
    final: dict[str, Any] = client.get(f"/v1/jobs/{job_id}").json()
    return final


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(client: httpx.Client) -> Samples:
    """``GET /metrics``, parsed by prometheus-client's own parser: {(sample, labels): value}."""
    from prometheus_client.parser import text_string_to_metric_families

    resp = client.get("/metrics")
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/plain; version=0.0.4")  # Prometheus 2
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(resp.text)
        for s in family.samples
    }


def grew(before: Samples, after: Samples, name: str, **labels: str) -> float:
    """How much one sample grew between two scrapes."""
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)
