"""/v1/jobs: upload (or url) -> job; status, transcript, events, list, cancel."""

from __future__ import annotations

import asyncio
import contextlib
import json
import mimetypes
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from audiosvc import service
from audiosvc.api.deps import CallerDep, Services, ServicesDep, caller
from audiosvc.api.intake import accept
from audiosvc.api.schemas import JOB_REQUEST, RENAME_REQUEST
from audiosvc.api.watch import watch
from audiosvc.errors import (
    AudiosvcError,
    AuthenticationError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
)
from audiosvc.formats import CONTENT_TYPES, EXTENSIONS, needs_speakers, parse_format, render
from audiosvc.jobs import TERMINAL, Job, public_view
from audiosvc.names import attachment, clean_speaker_name
from audiosvc.speakers.naming import renamed
from audiosvc.subtitles import SubtitleLimits

router = APIRouter(prefix="/v1/jobs")


def _view(job: Job, svc: Services) -> dict[str, Any]:
    """Links are absolute under ``AUDIOSVC_PUBLIC_URL``, else paths: never built from the
    request's ``Host`` header, which the caller chooses. With keys, the media link is signed
    (a player's ``src`` sends no header)."""
    settings = svc.settings
    base = settings.public_url.rstrip("/")
    links = service.links(
        job.id, base, reply=job.options.reply is not None, speakers=job.options.diarize
    )
    if job.upload_path:
        path = f"/v1/jobs/{job.id}/media"
        links["media"] = base + (svc.signer.sign(path) if settings.api_key_list() else path)
    view = public_view(job, links)
    limits = SubtitleLimits.from_settings(settings, job.options.subtitle_line_chars)
    view["subtitles"] = {
        "max_line_chars": limits.max_line_chars,
        "max_lines": limits.max_lines,
        "max_cue_seconds": limits.max_cue_seconds,
        "min_cue_seconds": limits.min_cue_seconds,
    }
    view["media"] = (
        {"content_type": _media_type(job), "video": bool(job.has_video)}
        if job.upload_path
        else None
    )
    return view


def _media_type(job: Job) -> str:
    guessed, _ = mimetypes.guess_type(job.filename or "")
    if guessed and guessed.split("/")[0] in ("audio", "video"):
        return guessed
    return "video/mp4" if job.has_video else "application/octet-stream"


@router.post("", status_code=202, openapi_extra=JOB_REQUEST)
async def create_job(request: Request, svc: ServicesDep, who: CallerDep) -> JSONResponse:
    job, _ = await accept(request, svc, who)
    body = _view(job, svc)
    return JSONResponse(body, status_code=202, headers={"Location": body["links"]["self"]})


def _get(svc: ServicesDep, who: CallerDep, job_id: str) -> Job:
    return svc.store.get(job_id, who.owner, check_owner=who.restricted)


# Beyond what any store holds; without a bound, a huge offset overflowed Redis's range (500).
MAX_OFFSET = 1_000_000


@router.get("")
async def list_jobs(
    svc: ServicesDep,
    who: CallerDep,
    status: Annotated[str | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> dict[str, Any]:
    if status is not None and status not in ("queued", "processing", *TERMINAL):
        raise InvalidRequestError(f"unknown status {status!r}", param="status")
    jobs, more = await run_in_threadpool(
        svc.store.list_jobs,
        who.owner if who.restricted else None,
        status=status,
        limit=limit,
        offset=offset,
    )
    return {
        "object": "list",
        "data": [_view(j, svc) for j in jobs],
        "has_more": more,
    }


@router.get("/{job_id}")
async def get_job(job_id: str, svc: ServicesDep, who: CallerDep) -> Any:
    job = await run_in_threadpool(_get, svc, who, job_id)
    return _view(job, svc)


@router.get("/{job_id}/transcript")
async def get_transcript(
    job_id: str,
    svc: ServicesDep,
    who: CallerDep,
    format: str = "json",
    timestamp_granularities: Annotated[list[str] | None, Query()] = None,
) -> Response:
    """The transcript in ``format``. ``timestamp_granularities`` (``word``, ``segment``;
    repeatable) chooses what ``verbose_json`` lists; by default what the job asked for."""
    fmt = parse_format(format)
    granularities = timestamp_granularities
    for value in granularities or ():
        if value not in ("word", "segment"):
            raise InvalidRequestError(
                f"timestamp_granularities: 'word' or 'segment', not {value[:32]!r}",
                param="timestamp_granularities",
            )
    job = await run_in_threadpool(_get, svc, who, job_id)
    if job.status != "succeeded":
        raise ConflictError(
            f"job {job_id} is {job.status}; the transcript exists once it has succeeded",
            code="job_not_ready",
        )
    if needs_speakers(fmt) and not job.options.diarize:
        raise InvalidRequestError(
            f"job {job_id} was made without speakers; create it with diarize=true for "
            "diarized_json",
            param="format",
        )
    transcript = await run_in_threadpool(service.load_transcript, job_id, svc.storage)
    transcript = renamed(transcript, job.speaker_names)
    body = render(
        transcript,
        fmt,
        limits=SubtitleLimits.from_settings(svc.settings, job.options.subtitle_line_chars),
        granularities=granularities or job.options.timestamp_granularities,
    )
    stem = Path(job.filename or job_id).stem or job_id
    return Response(
        body,
        media_type=CONTENT_TYPES[fmt],
        headers={"Content-Disposition": attachment(f"{stem}.{EXTENSIONS[fmt]}")},
    )


@router.patch("/{job_id}/speakers", openapi_extra=RENAME_REQUEST)
async def rename_speakers(job_id: str, request: Request, svc: ServicesDep, who: CallerDep) -> Any:
    """Name the speakers of a diarized job: ``{"A": "Alice", "B": "Bob"}``. Every format
    then prints the names; a label mapped to itself (or to null) drops its name."""
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError:
        raise InvalidRequestError("the body is not JSON") from None
    if not isinstance(body, dict) or not body:
        raise InvalidRequestError('send an object of label -> name, e.g. {"A": "Alice"}')
    job = await run_in_threadpool(_get, svc, who, job_id)
    if not job.options.diarize:
        raise InvalidRequestError(
            f"job {job_id} was made without speakers (diarize=true)", param="diarize"
        )
    if job.status != "succeeded":
        raise ConflictError(
            f"job {job_id} is {job.status}; its speakers can be named once it has succeeded",
            code="job_not_ready",
        )
    names = dict(job.speaker_names)
    for label, name in body.items():
        if label not in job.speakers:
            raise InvalidRequestError(
                f"job {job_id} has no speaker {label!r}; its speakers: "
                + (", ".join(job.speakers) or "none"),
                param=str(label)[:64],
            )
        if name is None or name == label:
            names.pop(label, None)
            continue
        if not isinstance(name, str):
            raise InvalidRequestError(f"the name of {label} must be a string", param=label)
        try:
            names[label] = clean_speaker_name(name)
        except ValueError as exc:
            raise InvalidRequestError(f"{label}: {exc}", param=label) from None
    shown = [names.get(label, label) for label in job.speakers]
    if len(set(shown)) != len(shown):
        raise InvalidRequestError("two speakers would have the same name")
    updated = await run_in_threadpool(lambda: svc.store.update(job_id, speaker_names=names))
    assert updated is not None
    return _view(updated, svc)


@router.get("/{job_id}/media")
async def get_media(
    job_id: str,
    request: Request,
    svc: ServicesDep,
    expires: int | None = None,
    signature: Annotated[str | None, Query(max_length=128)] = None,
) -> Response:
    """The job's own upload, as it was sent, for a player (HTTP ranges work). With keys,
    the header or the signed link of the job view (``links.media``) lets it through."""
    if signature is not None or expires is not None:
        path = f"/v1/jobs/{job_id}/media"
        if not svc.signer.check(path, expires or 0, signature or ""):
            raise AuthenticationError("this media link has expired or is not valid")
        job = await run_in_threadpool(svc.store.get, job_id)
    else:
        job = await run_in_threadpool(_get, svc, caller(request, svc), job_id)
    if not job.upload_path:
        raise ConflictError(f"job {job_id}'s media has not been fetched yet", code="job_not_ready")
    if not Path(job.upload_path).is_file():
        raise NotFoundError(f"job {job_id}'s media is gone")
    return FileResponse(
        job.upload_path,
        media_type=_media_type(job),
        filename=job.filename or None,
        content_disposition_type="inline",
        headers={"Cache-Control": "private, max-age=3600"},
    )


_SPEECH_TYPES = {"flac": "audio/flac", "mp3": "audio/mpeg", "mulaw": "audio/basic",
                 "ogg": "audio/ogg", "wav": "audio/wav"}  # fmt: skip


@router.get("/{job_id}/speech")
async def get_speech(job_id: str, svc: ServicesDep, who: CallerDep) -> Response:
    """The job's spoken reply (jobs created with ``reply``)."""
    job = await run_in_threadpool(_get, svc, who, job_id)
    if job.options.reply is None:
        raise NotFoundError(
            f"job {job_id} has no spoken reply; create it with reply=...", param="reply"
        )
    if job.status != "succeeded":
        raise ConflictError(
            f"job {job_id} is {job.status}; the reply exists once it has succeeded",
            code="job_not_ready",
        )
    if job.reply_error is not None:  # the transcript is there; the reply could not be made
        raise job.reply_error.as_exception()
    fmt = job.options.reply_format
    path = svc.storage.reply_path(job_id, fmt)
    stem = Path(job.filename or job_id).stem or job_id
    return FileResponse(path, media_type=_SPEECH_TYPES[fmt], filename=f"{stem}-reply.{fmt}")


def _sse(data: dict[str, Any]) -> str:
    event = data["status"] if data["status"] in TERMINAL else "progress"
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


@router.get("/{job_id}/events")
async def job_events(job_id: str, svc: ServicesDep, who: CallerDep) -> StreamingResponse:
    """Server-sent events: the job's state now, then at every change, until it ends."""
    await run_in_threadpool(_get, svc, who, job_id)

    async def stream() -> AsyncIterator[str]:
        try:
            async with contextlib.aclosing(watch(svc, job_id, tick=15.0)) as changes:
                async for job in changes:
                    yield ": keep-alive\n\n" if job is None else _sse(_view(job, svc))
        except (asyncio.CancelledError, AudiosvcError):
            return

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.delete("/{job_id}")
async def delete_job(job_id: str, svc: ServicesDep, who: CallerDep) -> Any:
    """Cancel an active job (queued tasks revoked, running ones stop at the next chunk) and
    delete its files; a finished job is deleted outright."""
    job = await run_in_threadpool(_get, svc, who, job_id)
    if job.terminal:
        await run_in_threadpool(service.forget, job_id, svc.store, svc.storage)
        return {"id": job_id, "object": "job", "deleted": True}
    cancelled = await run_in_threadpool(
        lambda: svc.store.set_status(job_id, "cancelled", allow_from={"queued", "processing"})
    )
    await run_in_threadpool(svc.queue.revoke, svc.store.task_ids(job_id))
    await run_in_threadpool(svc.storage.delete, job_id)
    if cancelled is None:  # it ended meanwhile
        cancelled = await run_in_threadpool(svc.store.get, job_id)
    return _view(cancelled, svc)
