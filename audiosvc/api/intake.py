"""Taking jobs in: the shared path of ``POST /v1/jobs`` and the Groq-compatible endpoints."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from audiosvc.api import quota
from audiosvc.api.deps import Caller, Services
from audiosvc.api.upload import check_content_length, parse_upload
from audiosvc.chat import chat_configured
from audiosvc.chunking import ChunkParams
from audiosvc.errors import AudiosvcError, InvalidRequestError
from audiosvc.fetch import validate_url
from audiosvc.formats import needs_words, parse_format
from audiosvc.jobs import Job, JobOptions, new_job_id
from audiosvc.media import MediaInfo, probe
from audiosvc.models import resolve_model
from audiosvc.names import clean_name
from audiosvc.service import speech_text
from audiosvc.settings import Settings
from audiosvc.transcript import Task

JOB_FIELDS = frozenset({
    "task", "model", "language", "prompt", "temperature", "timestamp_granularities[]",
    "timestamp_granularities", "chunk_seconds", "webhook_url", "url",
    "reply", "reply_text", "voice", "reply_format",
})  # fmt: skip


def _one(fields: dict[str, list[str]], name: str) -> str | None:
    values = fields.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise InvalidRequestError(f"{name} given more than once", param=name)
    return values[0].strip() or None


# The request's fields that are JobOptions fields of the same name.
_OPTION_FIELDS = (
    "task", "model", "language", "prompt", "temperature", "chunk_seconds", "webhook_url",
    "reply", "reply_text", "voice", "reply_format",
)  # fmt: skip


def parse_options(
    fields: dict[str, list[str]],
    settings: Settings,
    *,
    allowed: frozenset[str] = JOB_FIELDS,
    task: Task | None = None,
) -> JobOptions:
    """The request's options (Groq's field names plus chunk_seconds, webhook_url, reply...)
    as :class:`JobOptions`, which validates each; then what depends on this service's
    settings (the model, the chunk length, the webhook address, the reply). ``allowed`` names
    the fields this endpoint takes; ``task`` fixes the task (the compatible endpoints take it
    from their path). Any failure is a 400 naming the field."""
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise InvalidRequestError(f"unknown field {unknown[0]!r}", param=unknown[0])
    granularities = fields.get("timestamp_granularities[]", []) + fields.get(
        "timestamp_granularities", []
    )
    fmt = _one(fields, "response_format")
    raw: dict[str, Any] = {name: _one(fields, name) for name in _OPTION_FIELDS}
    raw = {k: v for k, v in raw.items() if v is not None}
    if task is not None:
        raw["task"] = task
    raw["timestamp_granularities"] = granularities
    try:
        options = JobOptions.model_validate(raw)
        # A job's transcript can be downloaded later in any format, subtitles included: it
        # has words. A synchronous request names its one format: words only if it needs them.
        words = fmt is None or needs_words(parse_format(fmt), options.timestamp_granularities)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "options"
        param = "timestamp_granularities[]" if name == "timestamp_granularities" else name
        message = first["msg"].removeprefix("Value error, ")
        raise InvalidRequestError(f"{param}: {message}", param=param) from None
    if settings.resolved_provider() == "local":
        resolve_model(options.model, options.task, options.language)
    if options.chunk_seconds is not None:
        ChunkParams.from_settings(settings, options.chunk_seconds).validate()
    if options.webhook_url is not None:
        try:
            validate_url(options.webhook_url, allow_private=settings.allow_private_urls)
        except InvalidRequestError as exc:
            raise InvalidRequestError(exc.message, param="webhook_url") from None
    _check_reply(options, settings)
    return options.model_copy(update={"words": words})


def _check_reply(options: JobOptions, settings: Settings) -> None:
    """The spoken-reply options, checked now so a job never fails late for a typo."""
    if options.reply is None:
        for name in ("reply_text", "voice"):
            if getattr(options, name) is not None:
                raise InvalidRequestError(f"{name} needs a reply option", param=name)
        return
    if (options.reply == "text") != (options.reply_text is not None):
        raise InvalidRequestError(
            "reply_text goes with reply=text, and only with it", param="reply_text"
        )
    if options.reply_text is not None:  # said as /audio/speech would say it, or a 400 now
        speech_text(options.reply_text, settings, param="reply_text")
    if options.reply == "chat" and not chat_configured(settings):
        raise InvalidRequestError(
            "reply=chat needs a chat endpoint: set AUDIOSVC_CHAT_BASE_URL and AUDIOSVC_CHAT_MODEL",
            param="reply",
        )
    if settings.resolved_provider() == "local":
        from audiosvc.tts import resolve_voice

        resolve_voice(options.voice)  # 400 naming the real voices


@dataclass
class Received:
    """A validated request, not yet a stored job: its upload is on disk (or it has a url)."""

    job: Job
    fields: dict[str, list[str]]
    media: MediaInfo | None


async def receive(
    request: Request,
    svc: Services,
    who: Caller,
    *,
    allowed: frozenset[str] = JOB_FIELDS,
    task: Task | None = None,
    required: tuple[str, ...] = (),
    check: Callable[[dict[str, list[str]]], None] | None = None,
) -> Received:
    """Stream the upload to storage (or check the url), validate the options and probe the
    media. On failure nothing is kept."""
    settings, storage = svc.settings, svc.storage
    check_content_length(request.headers.get("content-length"), settings.max_upload_bytes)
    if who.owner is not None:  # before a byte is stored: over the limit costs nothing
        await run_in_threadpool(
            quota.check_in_flight, svc.store, who.owner, settings.key_jobs_in_flight
        )
    job_id = new_job_id()
    try:
        form = await parse_upload(
            request.stream(),
            request.headers.get("content-type", ""),
            lambda name: storage.writer(
                storage.upload_path(job_id, name), settings.max_upload_bytes
            ),
        )
        for name in required:
            if _one(form.fields, name) is None:
                raise InvalidRequestError(f"{name} is required", param=name)
        if check is not None:
            check(form.fields)
        options = parse_options(form.fields, settings, allowed=allowed, task=task)
        url = _one(form.fields, "url")
        if form.file is not None and url is not None:
            raise InvalidRequestError("send either a file or a url, not both", param="url")
        if form.file is None and url is None:
            raise InvalidRequestError("a file or a url is required", param="file")
        if url is not None:
            url = validate_url(url, allow_private=settings.allow_private_urls)
        upload = form.file.path if form.file is not None else None
        media = None
        if upload is not None:
            # 415/400 now, not after queueing; the error names the user's file
            media = await run_in_threadpool(probe, upload, clean_name(form.filename))
    except BaseException:
        storage.delete(job_id)
        raise
    job = Job(
        id=job_id,
        owner=who.owner,
        filename=clean_name(form.filename),
        url=url,
        upload_path=str(upload) if upload else None,
        options=options,
    )
    return Received(job, form.fields, media)


async def submit(svc: Services, job: Job) -> Job:
    """Store the job and queue it; a job that could not be queued is not accepted."""
    try:
        await run_in_threadpool(svc.store.create, job)
        try:
            task_id = await run_in_threadpool(svc.queue.enqueue, job.id)
        except AudiosvcError:
            await run_in_threadpool(svc.store.delete, job.id)  # not accepted: say so
            raise
        await run_in_threadpool(svc.store.add_task_ids, job.id, [task_id])
    except BaseException:
        svc.storage.delete(job.id)
        raise
    return job


async def accept(
    request: Request,
    svc: Services,
    who: Caller,
    *,
    allowed: frozenset[str] = JOB_FIELDS,
    task: Task | None = None,
    required: tuple[str, ...] = (),
    check: Callable[[dict[str, list[str]]], None] | None = None,
) -> tuple[Job, dict[str, list[str]]]:
    """Take a job from a request: :func:`receive`, then :func:`submit`."""
    got = await receive(
        request, svc, who, allowed=allowed, task=task, required=required, check=check
    )
    return await submit(svc, got.job), got.fields
