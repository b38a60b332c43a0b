"""The job queue as the API and the runner see it: put a job on it, revoke a job's tasks,
count the workers that answer.

Three lanes (Celery queues), so that no request waits behind a meeting:

* ``interactive``: the chunks of synchronous requests and of short clips;
* ``batch``: the chunks of long jobs;
* ``io``: fetching URLs, decoding and cutting uploads, webhooks: waiting on the network, never
  on the engine.

A speech worker consumes ``interactive`` before ``batch`` (strict priority), so an interactive
request waits at most for the chunk in progress; an io worker runs threads, so a slow URL or
webhook receiver holds one thread, never the engine.

``audiosvc`` never imports ``workers``: it reaches the Celery workers through the broker, by
task name. The names below are the contract; ``workers/tasks.py`` registers its tasks under
them, and :func:`configure` is the one Celery configuration both sides share.
"""

from __future__ import annotations

from typing import Protocol

from celery import Celery

from audiosvc.errors import ServiceUnavailableError
from audiosvc.settings import Settings

PREPARE = "audiosvc.prepare"
CHUNK = "audiosvc.chunk"
STITCH = "audiosvc.stitch"
NOTIFY = "audiosvc.notify"
SPEAK = "audiosvc.speak"
DIARIZE = "audiosvc.diarize"

INTERACTIVE, BATCH, IO = "interactive", "batch", "io"
LANES = (INTERACTIVE, BATCH, IO)  # in priority order for a worker that takes several
SPEECH_LANES = (INTERACTIVE, BATCH)


class JobQueue(Protocol):
    def enqueue(self, job_id: str) -> str:
        """Queue the job's first task; returns its task id. Raises ServiceUnavailableError
        when the broker cannot be reached."""
        ...

    def revoke(self, task_ids: list[str]) -> None: ...

    def workers(self, timeout: float = 1.0) -> int:
        """How many workers answer a ping within ``timeout`` seconds."""
        ...

    def depth(self) -> dict[str, int]:
        """Tasks waiting in each lane (not those a worker holds)."""
        ...


def configure(app: Celery, settings: Settings, redis_url: str | None = None) -> None:
    """Point ``app`` at the settings' Redis (before its first use)."""
    url = redis_url or settings.redis_url or "redis://127.0.0.1:6379/0"
    transport = {
        "visibility_timeout": settings.visibility_timeout,
        # A killed worker's tasks return once they are older than the visibility timeout and
        # a sweep runs; kombu's default sweep is every 10 x 10 s.
        "unacked_restore_interval": settings.unacked_restore_interval,
        "unacked_restore_throttle": 1,
        # A worker takes its queues in the order given: interactive before batch.
        "queue_order_strategy": "priority",
    }
    app.conf.update(
        broker_url=url,
        result_backend=url,
        broker_transport_options=transport,
        result_backend_transport_options=transport,
        result_expires=int(settings.result_ttl_seconds),
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        # The lane of every task whose lane does not depend on its job (a job's chunks and
        # stitch take the lane its length and origin decide, set when they are sent).
        task_routes={PREPARE: {"queue": IO}, NOTIFY: {"queue": IO}, SPEAK: {"queue": INTERACTIVE}},
        task_default_queue=BATCH,
    )


class CeleryQueue:
    """:class:`JobQueue` over Celery on Redis, as a client only (it runs no task)."""

    def __init__(self, settings: Settings, redis_url: str | None = None) -> None:
        self.app = Celery("audiosvc-client", set_as_current=False)
        configure(self.app, settings, redis_url)

    def enqueue(self, job_id: str) -> str:
        try:
            return str(self.app.send_task(PREPARE, args=[job_id], retry=True).id)
        except Exception as exc:  # the broker is unreachable
            raise ServiceUnavailableError(
                f"the job queue is unavailable ({type(exc).__name__}); try again"
            ) from exc

    def revoke(self, task_ids: list[str]) -> None:
        if task_ids:
            self.app.control.revoke(task_ids)

    def workers(self, timeout: float = 1.0) -> int:
        with self.app.connection_for_write() as conn:  # fresh: survives Redis restarts
            return len(self.app.control.ping(timeout=timeout, connection=conn) or [])

    def depth(self) -> dict[str, int]:
        # kombu keeps a Redis list per queue and priority step: "batch", "batch\x06\x163", ...
        with self.app.connection_for_read() as conn:
            client = conn.default_channel.client
            steps = conn.default_channel.priority_steps
            sep = conn.default_channel.sep
            return {
                lane: sum(
                    int(client.llen(lane if step == 0 else f"{lane}{sep}{step}")) for step in steps
                )
                for lane in LANES
            }
