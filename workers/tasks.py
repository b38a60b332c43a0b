"""prepare -> a chunk task per chunk (and a diarize task, for speakers) -> stitch -> notify.
Thin wrappers over :mod:`audiosvc.service`; no task waits on another (no ``.get()``).

The chunk that completes a job's set of stored chunks sends its stitch: no Celery chord,
whose counter lives in the result backend, fails the whole chord when one chunk meets a
Redis outage and counts a redelivered chunk twice. Every task may run twice (acks are late:
a worker killed or cut off from Redis mid-task has its task delivered again), so each one is
idempotent: a stored chunk is not redone, a finished job is not finished again."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import redis
from celery import Task, group
from celery.exceptions import Reject

from audiosvc import jobqueue, metrics, retry, service, webhooks
from audiosvc.errors import AudiosvcError, ProviderError
from audiosvc.jobs import JobStore
from audiosvc.settings import Settings, reveal
from audiosvc.storage import Storage
from workers.celery_app import app

log = logging.getLogger("audiosvc.workers")
T = TypeVar("T")
REDIS_GONE = (redis.ConnectionError, redis.TimeoutError)
CHUNK_MAX_RETRIES = 12
SPEAK_MAX_RETRIES = 4


@functools.cache
def _settings() -> Settings:
    return Settings()


@functools.cache
def _store() -> JobStore:
    settings = _settings()
    store = JobStore.from_url(
        settings.redis_url or "redis://127.0.0.1:6379/0", patience=settings.redis_outage_seconds
    )
    metrics.record_to(store.r)
    return store


def _storage() -> Storage:
    return Storage(_settings().jobs_dir, _settings().min_free_bytes)


def _requeued_if_redis_is_gone(task: Callable[..., T]) -> Callable[..., T]:
    """Redis stayed away longer than the store's patience: the task goes back to the queue
    rather than fail its job (failing it needs Redis too, and the job would stay processing).
    With the broker gone as well, its message stays unacknowledged and returns after the
    visibility timeout, once Redis is back. Every task is idempotent: run again, it loses and
    doubles nothing."""

    @functools.wraps(task)
    def run(self: Task, *args: Any) -> T:
        try:
            return task(self, *args)
        except REDIS_GONE as exc:
            log.warning("%s %s: Redis is unreachable (%s); back to the queue", self.name, args, exc)
            raise Reject(exc, requeue=True) from exc

    return run


def _failed(job_id: str, exc: BaseException) -> None:
    if isinstance(exc, REDIS_GONE):
        raise exc  # not the job's fault: _requeued_if_redis_is_gone takes it
    error = (
        exc
        if isinstance(exc, AudiosvcError)
        else AudiosvcError(f"internal error while processing ({type(exc).__name__})")
    )
    if isinstance(exc, AudiosvcError):
        log.warning("job %s failed: %s", job_id, exc)
    else:
        log.exception("job %s failed unexpectedly", job_id, exc_info=exc)
    if service.fail(job_id, _store(), error) is not None:
        notify.delay(job_id)


def _reschedule(
    task: Task,
    call: str,
    max_retries: int,
    retry_after: float | None,
    exc: BaseException | None = None,
) -> None:
    """Retry ``task`` later, its countdown from :mod:`audiosvc.retry`'s rescheduling policy
    (the server's ``retry-after`` when it sent one); return when its retries are spent."""
    policy = retry.rescheduled(_settings(), max_retries)
    if policy.gives_up(task.request.retries):
        return
    countdown = policy.wait(task.request.retries, retry_after)
    log.info("%s %s: %s; retrying in %.1f s", call, task.request.args, exc, countdown)
    metrics.count("audiosvc_retries", call=call)
    raise task.retry(exc=exc, countdown=countdown)


@app.task(name=jobqueue.PREPARE, bind=True)
@_requeued_if_redis_is_gone
def prepare(self: Task, job_id: str) -> int:
    try:
        n = service.prepare(job_id, _store(), _storage(), _settings())
    except Exception as exc:
        _failed(job_id, exc)
        return 0
    if n is None:
        return 0
    job = _store().get(job_id)
    lane = service.lane_of(job, _settings())
    # Diarization first: it runs over the whole file while the chunks are transcribed.
    tasks = [diarize.s(job_id).set(queue=lane)] if job.options.diarize else []
    tasks += [transcribe_chunk.s(job_id, i).set(queue=lane) for i in range(n)]
    sent = group(tasks).apply_async()
    _store().add_task_ids(job_id, [r.id for r in sent.results])
    return n


@app.task(name=jobqueue.CHUNK, bind=True, max_retries=CHUNK_MAX_RETRIES)
@_requeued_if_redis_is_gone
def transcribe_chunk(self: Task, job_id: str, index: int) -> bool:
    try:
        ran = service.run_chunk(job_id, index, _store(), _storage(), _settings())
    except ProviderError as exc:
        if exc.retryable:
            _reschedule(self, "chunk", CHUNK_MAX_RETRIES, exc.retry_after, exc)
        _failed(job_id, exc)
        return False
    except Exception as exc:
        _failed(job_id, exc)
        return False
    _stitch_if_ready(job_id)
    return ran


def _stitch_if_ready(job_id: str) -> None:
    """Send the job's stitch if every part of it is stored. Asked again after a redelivery
    too: the run that stored the last part may have been cut off before it sent the stitch.
    Two parts finishing together may both send one."""
    job = service.ready_to_stitch(job_id, _store(), _storage())
    if job is not None:
        sent = stitch.apply_async((job_id,), queue=service.lane_of(job, _settings()))
        _store().add_task_ids(job_id, [sent.id])


@app.task(name=jobqueue.DIARIZE, bind=True)
@_requeued_if_redis_is_gone
def diarize(self: Task, job_id: str) -> bool:
    try:
        ran = service.diarize(job_id, _store(), _storage())
    except Exception as exc:
        _failed(job_id, exc)
        return False
    _stitch_if_ready(job_id)
    return ran


@app.task(name=jobqueue.STITCH, bind=True)
@_requeued_if_redis_is_gone
def stitch(self: Task, job_id: str) -> bool:
    try:
        done = service.finish(job_id, _store(), _storage())
    except Exception as exc:
        _failed(job_id, exc)
        return False
    if done is None:
        return False
    if done.status == "succeeded":
        notify.delay(job_id)
    else:  # a spoken reply to make: its own task, with its own retries
        speak.delay(job_id)
    return True


@app.task(name=jobqueue.SPEAK, bind=True, max_retries=SPEAK_MAX_RETRIES)
@_requeued_if_redis_is_gone
def speak(self: Task, job_id: str) -> bool:
    try:
        done = service.speak(job_id, _store(), _storage(), _settings())
    except ProviderError as exc:
        if exc.retryable:
            _reschedule(self, "speak", SPEAK_MAX_RETRIES, exc.retry_after, exc)
        done = service.reply_failed(job_id, _store(), exc)
    except AudiosvcError as exc:
        done = service.reply_failed(job_id, _store(), exc)
    except REDIS_GONE:
        raise  # not the reply's fault: _requeued_if_redis_is_gone takes it
    except Exception as exc:
        log.exception("job %s reply failed unexpectedly", job_id, exc_info=exc)
        done = service.reply_failed(
            job_id, _store(), AudiosvcError(f"internal error while speaking ({type(exc).__name__})")
        )
    if done is not None:
        notify.delay(job_id)
    return done is not None


@app.task(name=jobqueue.NOTIFY, bind=True, max_retries=None)
@_requeued_if_redis_is_gone
def notify(self: Task, job_id: str) -> str:
    """POST the job's outcome to its webhook, signed; retried on timeouts and 5xx only."""
    settings = _settings()
    try:
        job = _store().get(job_id)
    except AudiosvcError:
        return "gone"
    url = job.options.webhook_url
    if not url:
        return "none"
    body = service.webhook_payload(job, settings.public_url)
    result = webhooks.deliver(
        url,
        body,
        secret=reveal(settings.webhook_secret),
        timeout=settings.webhook_timeout,
        allow_private=settings.allow_private_urls,
    )
    if result.outcome == "retry":
        _reschedule(self, "webhook", settings.webhook_max_retries, result.retry_after)
    return result.outcome
