"""Groq's (and OpenAI's) audio API, served: ``/openai/v1/audio/transcriptions``,
``/translations``, ``/speech`` and ``/openai/v1/models``, as the reference spec describes them.

Transcriptions and translations of any length go through the same job pipeline as
``/v1/jobs``, and the request waits for the job; the official ``groq`` and ``openai`` SDKs work
unchanged with ``base_url`` pointing here.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from audiosvc import service
from audiosvc.api.deps import CallerDep, Services, ServicesDep
from audiosvc.api.intake import SPEAKER_FIELDS, Received, receive, submit
from audiosvc.api.schemas import (
    LIST_MODELS_RESPONSES,
    TRANSCRIPTION_REQUEST,
    TRANSLATION_REQUEST,
    multipart,
)
from audiosvc.api.watch import watch
from audiosvc.errors import (
    AudiosvcError,
    ConflictError,
    InvalidRequestError,
    ProviderBadRequest,
    StillRunningError,
)
from audiosvc.formats import CONTENT_TYPES, OutputFormat, parse_format, render
from audiosvc.jobs import Job
from audiosvc.media import decode
from audiosvc.models import MODEL_ALIASES, resolve_model
from audiosvc.pipeline import transcribe_audio
from audiosvc.providers.base import SpeechOptions
from audiosvc.subtitles import SubtitleLimits
from audiosvc.transcript import Task, Transcript

router = APIRouter(prefix="/openai/v1")

_TRANSCRIPTION_FIELDS = frozenset(
    {"model", "language", "prompt", "response_format", "temperature",
     "timestamp_granularities[]", "url", "chunking_strategy", *SPEAKER_FIELDS}
)  # fmt: skip
_TRANSLATION_FIELDS = frozenset({"model", "prompt", "response_format", "temperature", "url"})


async def _wait(svc: Services, job_id: str) -> Job:
    """Until the job ends (Redis pub/sub; the state is re-read after subscribing), for at
    most ``sync_wait_seconds``: then a 504 that names the job, which is kept and goes on."""
    deadline = time.monotonic() + svc.settings.sync_wait_seconds
    status = "queued"
    async with contextlib.aclosing(watch(svc, job_id, tick=1.0)) as changes:
        async for job in changes:
            if job is not None:
                if job.terminal:
                    return job
                status = job.status
            if time.monotonic() >= deadline:
                raise StillRunningError(
                    f"the job is still {status} after {svc.settings.sync_wait_seconds:g} s;"
                    f" it goes on: follow it at /v1/jobs/{job_id}"
                )
    raise AssertionError("watch() ends only with a finished job")


def _job_error(job: Job) -> AudiosvcError:
    if job.error is not None:
        return job.error.as_exception()
    if job.status == "cancelled":  # by a DELETE /v1/jobs/{id}: the caller's doing
        return ConflictError(
            f"the request's job {job.id} was cancelled before it finished", code="job_cancelled"
        )
    return AudiosvcError(f"the job was {job.status}")


async def _transcribe(request: Request, svc: Services, who: Any, task: Task) -> Response:
    allowed = _TRANSCRIPTION_FIELDS if task == "transcribe" else _TRANSLATION_FIELDS
    formats: list[OutputFormat] = []

    def check(fields: dict[str, list[str]]) -> None:  # before any job exists
        formats.append(parse_format((fields.get("response_format") or ["json"])[0]))

    got = await receive(
        request, svc, who, allowed=allowed, task=task, required=("model",), check=check
    )
    # Its chunks take the interactive lane: never behind a long job's.
    job = got.job.model_copy(
        update={"options": got.job.options.model_copy(update={"interactive": True})}
    )
    if _quick(got, svc):
        # A short clip for a remote provider: no queue, straight to the provider (the API
        # only decodes, encodes FLAC and runs the speech gate; the provider does the rest).
        try:
            transcript = await run_in_threadpool(_direct, job, svc)
        finally:
            await run_in_threadpool(svc.storage.delete, job.id)
    else:
        await submit(svc, job)
        job = await _wait(svc, job.id)  # past the deadline: a 504, and the job is kept
        try:
            if job.status != "succeeded":
                raise _job_error(job)
            transcript = await run_in_threadpool(service.load_transcript, job.id, svc.storage)
        finally:
            # The answer (or the error) is the result: nothing of a synchronous request is kept.
            await run_in_threadpool(service.forget, job.id, svc.store, svc.storage)
    fmt = formats[0]
    body = render(
        transcript,
        fmt,
        limits=SubtitleLimits.from_settings(svc.settings),
        granularities=job.options.timestamp_granularities,
    )
    return Response(body, media_type=CONTENT_TYPES[fmt])


def _quick(got: Received, svc: Services) -> bool:
    """Whether to skip the queue: a remote provider (the local engine lives in the workers)
    and an upload that fits one chunk."""
    settings = svc.settings
    limit = min(settings.quick_max_seconds, settings.resolved_chunk_seconds())
    duration = got.media.duration if got.media is not None else None
    return (
        settings.resolved_provider() != "local"
        and not got.job.options.diarize  # speakers are found by the workers' local models
        and duration is not None
        and duration <= limit
    )


def _direct(job: Job, svc: Services) -> Transcript:
    assert job.upload_path is not None
    return transcribe_audio(
        decode(job.upload_path, job.filename),
        service.options_of(job),
        service.provider_for(svc.settings),
        svc.settings,
    )


@router.post("/audio/transcriptions", openapi_extra=multipart(TRANSCRIPTION_REQUEST))
async def transcriptions(request: Request, svc: ServicesDep, who: CallerDep) -> Response:
    return await _transcribe(request, svc, who, "transcribe")


@router.post("/audio/translations", openapi_extra=multipart(TRANSLATION_REQUEST))
async def translations(request: Request, svc: ServicesDep, who: CallerDep) -> Response:
    return await _transcribe(request, svc, who, "translate")


class SpeechRequest(BaseModel):
    """``CreateSpeechRequest`` of the reference spec (no extra fields)."""

    model_config = ConfigDict(extra="forbid")

    model: str
    input: str
    voice: str
    response_format: Literal["flac", "mp3", "mulaw", "ogg", "wav"] = "mp3"
    sample_rate: Literal[8000, 16000, 22050, 24000, 32000, 44100, 48000] | None = None
    speed: Annotated[float, Field(ge=0.5, le=5.0)] = 1.0


SPEECH_MODELS = ("piper", "playai-tts", "tts-1")
_SPEECH_TYPES = {"flac": "audio/flac", "mp3": "audio/mpeg", "mulaw": "audio/basic",
                 "ogg": "audio/ogg", "wav": "audio/wav"}  # fmt: skip


@router.post("/audio/speech")
async def speech(body: SpeechRequest, svc: ServicesDep, who: CallerDep) -> StreamingResponse:
    """The provider speaks: Piper locally, sentence by sentence, the audio streaming as each
    sentence is ready; with a remote provider configured, its speech endpoint (Groq's
    playai-tts and Orpheus models, or OpenAI's). The same path as a job's spoken reply."""
    if svc.settings.resolved_provider() == "local":
        from audiosvc.tts import resolve_voice

        if body.model not in SPEECH_MODELS:
            raise InvalidRequestError(
                f"model {body.model!r} cannot speak here; use one of: {', '.join(SPEECH_MODELS)}",
                param="model",
            )
        resolve_voice(body.voice)  # 400 naming the valid voices, before any audio is sent
    text = service.speech_text(body.input, svc.settings)
    options = SpeechOptions(
        model=body.model,
        voice=body.voice,
        response_format=body.response_format,
        sample_rate=body.sample_rate,
        speed=body.speed,
    )
    stream = iter(service.provider_for(svc.settings).speak(text, options))
    try:  # the first bytes now, so an upstream refusal is an HTTP error, not a cut stream
        first = await run_in_threadpool(next, stream, b"")
    except ProviderBadRequest as exc:  # the caller's mistake (voice, model, input)
        raise InvalidRequestError(exc.message) from exc
    return StreamingResponse(
        itertools.chain([first], stream), media_type=_SPEECH_TYPES[body.response_format]
    )


@router.get("/models", responses=LIST_MODELS_RESPONSES)
async def models(svc: ServicesDep, who: CallerDep) -> JSONResponse:
    """Only what really works with this service's engine."""
    created = int(time.time())
    if svc.settings.resolved_provider() == "local":
        names = sorted(n for n in MODEL_ALIASES if _works(n)) + list(SPEECH_MODELS)
        owner = "audiosvc"
    else:
        names = ["whisper-large-v3", "whisper-large-v3-turbo"]
        owner = svc.settings.resolved_provider()
    data = [{"id": n, "object": "model", "created": created, "owned_by": owner} for n in names]
    return JSONResponse({"object": "list", "data": data})


def _works(name: str) -> bool:
    try:
        resolve_model(name, "transcribe", None)
        return True
    except AudiosvcError:
        return False
