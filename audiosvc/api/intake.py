"""Taking jobs in: the shared path of ``POST /v1/jobs`` and the Groq-compatible endpoints."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from audiosvc.api.deps import Caller, Services
from audiosvc.api.upload import check_content_length, parse_upload
from audiosvc.chat import chat_configured
from audiosvc.chunking import ChunkParams
from audiosvc.errors import AudiosvcError, InvalidRequestError
from audiosvc.fetch import validate_url
from audiosvc.formats import needs_words, parse_format
from audiosvc.jobs import Job, JobOptions, new_job_id
from audiosvc.languages import LANGUAGES, language_code
from audiosvc.media import MediaInfo, probe
from audiosvc.models import resolve_model
from audiosvc.settings import Settings
from audiosvc.transcript import Task

JOB_FIELDS = frozenset({
    "task", "model", "language", "prompt", "temperature", "timestamp_granularities[]",
    "timestamp_granularities", "chunk_seconds", "webhook_url", "url",
    "reply", "reply_text", "voice", "reply_format",
})  # fmt: skip
_SPEECH_FORMATS = ("flac", "mp3", "mulaw", "ogg", "wav")


def _one(fields: dict[str, list[str]], name: str) -> str | None:
    values = fields.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise InvalidRequestError(f"{name} given more than once", param=name)
    return values[0].strip() or None


def _number(fields: dict[str, list[str]], name: str) -> float | None:
    raw = _one(fields, name)
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError:
        raise InvalidRequestError(f"{name} must be a number, not {raw!r}", param=name) from None


def parse_options(
    fields: dict[str, list[str]],
    settings: Settings,
    *,
    allowed: frozenset[str] = JOB_FIELDS,
    task: Task | None = None,
) -> JobOptions:
    """Validate the request's options (Groq's field names plus chunk_seconds, webhook_url).
    ``allowed`` names the fields this endpoint takes; ``task`` fixes the task (the
    compatible endpoints take it from their path)."""
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise InvalidRequestError(f"unknown field {unknown[0]!r}", param=unknown[0])
    task = task or _one(fields, "task") or "transcribe"  # type: ignore[assignment]
    if task not in ("transcribe", "translate"):
        raise InvalidRequestError(
            f"task must be 'transcribe' or 'translate', not {task!r}", param="task"
        )
    language = _one(fields, "language")
    if language is not None:
        code = language_code(language)  # also the reference's 'jv' for Whisper's 'jw'
        if code is None or code not in LANGUAGES:
            raise InvalidRequestError(
                f"language must be an ISO-639-1 code such as 'en', not {language!r}",
                param="language",
            )
        language = code
    temperature = _number(fields, "temperature") or 0.0
    if not 0.0 <= temperature <= 1.0:
        raise InvalidRequestError("temperature must be between 0 and 1", param="temperature")
    grans = fields.get("timestamp_granularities[]", []) + fields.get("timestamp_granularities", [])
    for g in grans:
        if g not in ("word", "segment"):
            raise InvalidRequestError(
                f"timestamp_granularities[] values are 'word' or 'segment', not {g!r}",
                param="timestamp_granularities[]",
            )
    model = _one(fields, "model")
    if settings.resolved_provider() == "local":
        resolve_model(model, task, language)
    chunk_seconds = _number(fields, "chunk_seconds")
    if chunk_seconds is not None:
        ChunkParams.from_settings(settings, chunk_seconds).validate()
    webhook = _one(fields, "webhook_url")
    if webhook is not None:
        try:
            validate_url(webhook, allow_private=settings.allow_private_urls)
        except InvalidRequestError as exc:
            raise InvalidRequestError(exc.message, param="webhook_url") from None
    reply = _reply_options(fields, settings)
    granularities = sorted(set(grans)) or ["segment"]
    # A job's transcript can be downloaded later in any format, subtitles included: it has
    # words. A synchronous request names its one format: words only if that needs them.
    fmt = _one(fields, "response_format")
    words = fmt is None or needs_words(parse_format(fmt), granularities)
    return JobOptions(
        **reply,
        task=task,
        model=model,
        language=language,
        prompt=_one(fields, "prompt"),
        temperature=temperature,
        timestamp_granularities=granularities,  # type: ignore[arg-type]
        words=words,
        chunk_seconds=chunk_seconds,
        webhook_url=webhook,
    )


def _reply_options(fields: dict[str, list[str]], settings: Settings) -> dict[str, Any]:
    """The spoken-reply options, checked now so a job never fails late for a typo."""
    reply = _one(fields, "reply")
    text = _one(fields, "reply_text")
    voice = _one(fields, "voice")
    fmt = _one(fields, "reply_format") or "mp3"
    if reply is None:
        for name, value in (("reply_text", text), ("voice", voice)):
            if value is not None:
                raise InvalidRequestError(f"{name} needs a reply option", param=name)
        return {}
    if reply not in ("text", "transcript", "chat"):
        raise InvalidRequestError(
            f"reply must be 'text', 'transcript' or 'chat', not {reply!r}", param="reply"
        )
    if (reply == "text") != (text is not None):
        raise InvalidRequestError(
            "reply_text goes with reply=text, and only with it", param="reply_text"
        )
    if reply == "chat" and not chat_configured(settings):
        raise InvalidRequestError(
            "reply=chat needs a chat endpoint: set AUDIOSVC_CHAT_BASE_URL and AUDIOSVC_CHAT_MODEL",
            param="reply",
        )
    if fmt not in _SPEECH_FORMATS:
        raise InvalidRequestError(
            f"reply_format must be one of {', '.join(_SPEECH_FORMATS)}", param="reply_format"
        )
    if settings.resolved_provider() == "local":
        from audiosvc.tts import resolve_voice

        resolve_voice(voice)  # 400 naming the real voices
    return {"reply": reply, "reply_text": text, "voice": voice, "reply_format": fmt}


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
            media = await run_in_threadpool(probe, upload)  # 415/400 now, not after queueing
    except BaseException:
        storage.delete(job_id)
        raise
    job = Job(
        id=job_id,
        owner=who.owner,
        filename=Path(form.filename).name if form.filename else None,
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
