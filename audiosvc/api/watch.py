"""Following a job as it changes: the one wait loop behind server-sent events and the
synchronous endpoints' wait."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import redis.asyncio as aioredis
from starlette.concurrency import run_in_threadpool

from audiosvc.api.deps import Services
from audiosvc.jobs import Job, JobStore


async def watch(svc: Services, job_id: str, *, tick: float) -> AsyncGenerator[Job | None]:
    """The job now, then again at every change, until it ends; ``None`` after each ``tick``
    seconds without a change (for keep-alives and deadlines). It subscribes before the first
    read, so no change is missed. Close it (``contextlib.aclosing``) when leaving early."""
    client = aioredis.from_url(svc.settings.redis_url or "")
    pubsub = client.pubsub()
    await pubsub.subscribe(JobStore.channel(job_id))
    try:
        job = await run_in_threadpool(svc.store.get, job_id)
        yield job
        while not job.terminal:
            msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=tick)
            job = await run_in_threadpool(svc.store.get, job_id)
            yield job if msg is not None or job.terminal else None
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await client.aclose()
