"""Taking jobs in: the shared path of ``POST /v1/jobs`` and the Groq-compatible endpoints."""

from __future__ import annotations

import base64
import binascii
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
from audiosvc.formats import needs_speakers, needs_words, parse_format
from audiosvc.jobs import Job, JobOptions, new_job_id
from audiosvc.media import MediaInfo, probe
from audiosvc.models import resolve_model
from audiosvc.names import clean_name
from audiosvc.service import speech_text
from audiosvc.settings import Settings
from audiosvc.storage import Storage
from audiosvc.transcript import Task

# Speaker options, taken by /v1/jobs and the transcription endpoint alike. The names and
# references are OpenAI's (gpt-4o-transcribe-diarize); its SDK sends lists as "name[]".
SPEAKER_FIELDS = frozenset({
    "diarize", "num_speakers", "min_speakers", "max_speakers",
    "known_speaker_names[]", "known_speaker_names",
    "known_speaker_references[]", "known_speaker_references",
})  # fmt: skip
JOB_FIELDS = frozenset({
    "task", "model", "language", "prompt", "temperature", "timestamp_granularities[]",
    "timestamp_granularities", "chunk_seconds", "webhook_url", "url",
    "reply", "reply_text", "voice", "reply_format", "subtitle_line_chars", *SPEAKER_FIELDS,
})  # fmt: skip
# OpenAI's diarizing model: served by the local engine's default model, with speakers.
DIARIZE_MODEL = "gpt-4o-transcribe-diarize"


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
    "reply", "reply_text", "voice", "reply_format", "diarize", "num_speakers", "min_speakers",
    "max_speakers", "subtitle_line_chars",
)  # fmt: skip


def _many(fields: dict[str, list[str]], name: str) -> list[str]:
    """A list field, sent as ``name[]`` (OpenAI's and Groq's SDKs) or repeated ``name``."""
    return fields.get(f"{name}[]", []) + fields.get(name, [])


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
    granularities = _many(fields, "timestamp_granularities")
    fmt = _one(fields, "response_format")
    raw: dict[str, Any] = {name: _one(fields, name) for name in _OPTION_FIELDS}
    raw = {k: v for k, v in raw.items() if v is not None}
    if task is not None:
        raw["task"] = task
    raw["timestamp_granularities"] = granularities
    raw["known_speaker_names"] = _many(fields, "known_speaker_names")
    if raw.get("model") == DIARIZE_MODEL:
        raw["model"], raw["diarize"] = None, True
    try:
        if fmt is not None and needs_speakers(parse_format(fmt)):
            raw["diarize"] = True
        options = JobOptions.model_validate(raw)
        # A job's transcript can be downloaded later in any format, subtitles included: it
        # has words. A synchronous request names its one format: words only if it needs them.
        words = fmt is None or needs_words(parse_format(fmt), options.timestamp_granularities)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "options"
        param = f"{name}[]" if name in ("timestamp_granularities", "known_speaker_names") else name
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
    if options.diarize and options.task == "translate":
        raise InvalidRequestError("speakers are found for transcriptions only", param="diarize")
    references = _many(fields, "known_speaker_references")
    if len(references) != len(options.known_speaker_names):
        raise InvalidRequestError(
            "known_speaker_references[] needs one clip per name in known_speaker_names[]",
            param="known_speaker_references[]",
        )
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


# A known speaker's reference clip: OpenAI asks for 2 to 10 s; a little more is taken.
MAX_REFERENCE_SECONDS = 30.0
MAX_REFERENCE_BYTES = 4 * 1024 * 1024
_PARAM_REFERENCES = "known_speaker_references[]"
# A clip as base64 in a data URL: the form parser keeps these fields (and only these) longer.
_REFERENCE_FIELD_BYTES = MAX_REFERENCE_BYTES * 4 // 3 + 256
REFERENCE_FIELD_LIMITS = {
    "known_speaker_references[]": _REFERENCE_FIELD_BYTES,
    "known_speaker_references": _REFERENCE_FIELD_BYTES,
}


def store_reference(storage: Storage, job_id: str, index: int, data_url: str) -> None:
    """Keep the ``index``-th reference clip (a ``data:`` URL holding audio, base64) beside
    the job, after checking that it decodes as a short recording; else a 400."""
    head, sep, payload = data_url.partition(",")
    if not sep or not head.startswith("data:") or not head.endswith(";base64"):
        raise InvalidRequestError(
            f"{_PARAM_REFERENCES} {index}: send each clip as a data URL, data:audio/wav;base64,...",
            param=_PARAM_REFERENCES,
        )
    try:
        audio = base64.b64decode(payload, validate=True)
    except binascii.Error:
        raise InvalidRequestError(
            f"{_PARAM_REFERENCES} {index}: the data is not base64", param=_PARAM_REFERENCES
        ) from None
    path = storage.reference_path(job_id, index)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(audio)
    name = f"known_speaker_references[{index}]"
    try:
        media = probe(path, name)
    except AudiosvcError as exc:
        raise InvalidRequestError(exc.message, param=_PARAM_REFERENCES) from None
    if not media.duration or media.duration > MAX_REFERENCE_SECONDS:
        raise InvalidRequestError(
            f"{name} lasts {media.duration or 0:.1f} s; a reference clip is 1 to "
            f"{MAX_REFERENCE_SECONDS:g} s of one speaker",
            param=_PARAM_REFERENCES,
        )


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
            field_limits=REFERENCE_FIELD_LIMITS,
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
        references = _many(form.fields, "known_speaker_references")
        for i, data_url in enumerate(references):
            await run_in_threadpool(store_reference, storage, job_id, i, data_url)
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
        has_video=media.has_video if media else None,
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
