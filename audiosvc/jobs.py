"""Job state in Redis.

One hash per job (``audiosvc:job:<id>``): the job's JSON under ``data`` plus counters that
parallel chunk tasks bump atomically (``chunks_done``, ``seconds_done``). Chunk results live in
``audiosvc:job:<id>:chunks`` (index -> chunk transcript JSON): a chunk whose result is already
there is never sent to the provider again, so a redelivered task costs nothing and adds no
duplicate text. Every change is published on ``audiosvc:job:<id>:events`` for SSE.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
import uuid
from collections.abc import Iterable
from typing import Any, Literal

import redis
from pydantic import BaseModel, Field, field_validator, model_validator
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from audiosvc import metrics
from audiosvc.chunking import ChunkPlan
from audiosvc.errors import AudiosvcError, NotFoundError
from audiosvc.languages import LANGUAGES, language_code
from audiosvc.names import clean_speaker_name
from audiosvc.transcript import Task, Transcript

Status = Literal["queued", "processing", "succeeded", "failed", "cancelled"]
Granularity = Literal["word", "segment"]
TERMINAL: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})
PREFIX = "audiosvc"
MAX_SPEAKERS = 32
# A subtitle line's length a job may ask for: readable on a phone to wide cinema lines.
MIN_SUBTITLE_LINE_CHARS = 16
MAX_SUBTITLE_LINE_CHARS = 80
MAX_KNOWN_SPEAKERS = 4  # as OpenAI's known_speaker_names[]


def _segment_only() -> list[Granularity]:
    return ["segment"]


class JobOptions(BaseModel):
    """A job's options, validated once, here: the API builds them from the request's fields
    (a failure is a 400 naming the field) and the workers read them back."""

    task: Task = "transcribe"
    model: str | None = None
    language: str | None = None  # ISO-639-1 (names and the reference's 'jv' are accepted)
    prompt: str | None = None
    temperature: float = Field(default=0.0, ge=0.0, le=1.0)
    timestamp_granularities: list[Granularity] = Field(default_factory=_segment_only)
    words: bool = True  # align word times (never changes the text; costs engine time)
    interactive: bool = False  # a synchronous request: its chunks take the interactive lane
    chunk_seconds: float | None = None
    webhook_url: str | None = None
    # A spoken reply: "text" speaks reply_text, "transcript" reads the result back (the
    # translation, for translate jobs), "chat" speaks a chat model's answer to it.
    reply: Literal["text", "transcript", "chat"] | None = None
    reply_text: str | None = None
    voice: str | None = None
    reply_format: Literal["flac", "mp3", "mulaw", "ogg", "wav"] = "mp3"
    # Speakers: diarize the file (a speaker count or known speakers imply it).
    diarize: bool = False
    num_speakers: int | None = Field(default=None, ge=1, le=MAX_SPEAKERS)
    min_speakers: int | None = Field(default=None, ge=1, le=MAX_SPEAKERS)
    max_speakers: int | None = Field(default=None, ge=1, le=MAX_SPEAKERS)
    # Names of known speakers, one per reference clip stored with the job (refs/<i>).
    known_speaker_names: list[str] = Field(default_factory=list, max_length=MAX_KNOWN_SPEAKERS)
    # Subtitles: characters per line for this job's SRT and VTT (unset: the service's).
    subtitle_line_chars: int | None = Field(
        default=None, ge=MIN_SUBTITLE_LINE_CHARS, le=MAX_SUBTITLE_LINE_CHARS
    )

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str | None) -> str | None:
        if value is None:
            return None
        code = language_code(value)
        if code is None or code not in LANGUAGES:
            raise ValueError(f"language must be an ISO-639-1 code such as 'en', not {value!r}")
        return code

    @field_validator("timestamp_granularities")
    @classmethod
    def _granularities(cls, value: list[Granularity]) -> list[Granularity]:
        return sorted(set(value)) or ["segment"]

    @field_validator("known_speaker_names")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        names = [clean_speaker_name(n) for n in value]
        if len(set(names)) != len(names):
            raise ValueError("the names must differ")
        return names

    @model_validator(mode="after")
    def _speakers(self) -> JobOptions:
        low, high = self.min_speakers, self.max_speakers
        if low is not None and high is not None and low > high:
            raise ValueError("min_speakers is more than max_speakers")
        if self.num_speakers is not None and (low is not None or high is not None):
            raise ValueError("give num_speakers, or min_speakers and max_speakers, not both")
        wanted = (self.num_speakers, low, high)
        if any(v is not None for v in wanted) or self.known_speaker_names:
            self.diarize = True
        return self


class JobError(BaseModel):
    code: str
    message: str
    type: str = "internal_error"
    status: int = 500  # the HTTP status this error maps to (for requests that wait on jobs)

    def public(self) -> dict[str, str]:
        """What a user sees of it (views, webhooks)."""
        return {"code": self.code, "message": self.message}

    def as_exception(self) -> AudiosvcError:
        """The error again, to answer a request with (same message, code and status)."""
        err = AudiosvcError(self.message)
        err.code, err.type, err.status = self.code, self.type, self.status
        return err


class Progress(BaseModel):
    chunks_done: int = 0
    chunks_total: int = 0
    seconds_done: float = 0.0
    seconds_total: float = 0.0


class Job(BaseModel):
    id: str
    status: Status = "queued"
    owner: str | None = None
    filename: str | None = None
    url: str | None = None
    upload_path: str | None = None
    has_video: bool | None = None  # the upload has a picture (known once it is probed)
    options: JobOptions = Field(default_factory=JobOptions)
    created_at: float = Field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    duration: float | None = None
    progress: Progress = Field(default_factory=Progress)
    error: JobError | None = None
    # The spoken reply's failure, when its retries ran out: the job still succeeded (its
    # transcript is done), and GET .../speech answers with this error.
    reply_error: JobError | None = None
    chunks: list[tuple[int, int, int]] = Field(default_factory=list)  # (start, end, overlap)
    # Diarized jobs: the speakers found (labels, in order of first appearance) and the names
    # users gave them since (label -> name).
    speakers: list[str] = Field(default_factory=list)
    speaker_names: dict[str, str] = Field(default_factory=dict)

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def plans(self) -> list[ChunkPlan]:
        return [ChunkPlan(i, s, e, o) for i, (s, e, o) in enumerate(self.chunks)]


def new_job_id() -> str:
    return "job_" + uuid.uuid4().hex


def owner_of(api_key: str | None) -> str | None:
    """A stable, non-reversible tag for the API key that created a job."""
    if not api_key:
        return None
    return hashlib.sha256(api_key.encode()).hexdigest()[:24]


class JobStore:
    def __init__(self, client: redis.Redis) -> None:
        # redis-py types every reply as a sync/async union; treat replies as untyped here.
        self.r: Any = client

    @classmethod
    def from_url(cls, url: str, patience: float = 0.0) -> JobStore:
        """A store on the Redis at ``url``. With ``patience`` (a worker's), a command that
        meets a dropped or refused connection reconnects with backoff for about that many
        seconds before it raises: a Redis restart or a short network outage costs a task a
        wait, not its job. Without it (the API's), redis-py's few quick retries, then an
        error (the API's 503)."""
        options: dict[str, Any] = {"health_check_interval": 10, "socket_timeout": 10}
        if patience > 0:  # waits of 0.1 s doubling up to 1 s: about ``patience`` s in all
            options["retry"] = Retry(ExponentialBackoff(cap=1.0, base=0.1), math.ceil(patience))
            options["retry_on_error"] = [redis.ConnectionError, redis.TimeoutError]
        return cls(redis.Redis.from_url(url, **options))

    # --- keys
    @staticmethod
    def key(job_id: str) -> str:
        return f"{PREFIX}:job:{job_id}"

    @staticmethod
    def chunks_key(job_id: str) -> str:
        return f"{PREFIX}:job:{job_id}:chunks"

    @staticmethod
    def tasks_key(job_id: str) -> str:
        return f"{PREFIX}:job:{job_id}:tasks"

    @staticmethod
    def in_flight_key(owner: str) -> str:
        return f"{PREFIX}:inflight:{owner}"

    @staticmethod
    def channel(job_id: str) -> str:
        return f"{PREFIX}:job:{job_id}:events"

    @staticmethod
    def index_key(owner: str | None) -> str:
        return f"{PREFIX}:jobs" if owner is None else f"{PREFIX}:jobs:owner:{owner}"

    # --- reading
    def get(self, job_id: str, owner: str | None = None, *, check_owner: bool = False) -> Job:
        """The job, with live progress counters. Unknown ids, and jobs of another API key
        when ``check_owner``, are both 404: the existence of others' jobs is not revealed."""
        raw = self.r.hgetall(self.key(job_id)) if _valid_id(job_id) else {}
        if not raw or b"data" not in raw:
            raise NotFoundError(f"no job {job_id!r}", param="id")
        job = Job.model_validate_json(raw[b"data"])
        if check_owner and job.owner != owner:
            raise NotFoundError(f"no job {job_id!r}", param="id")
        job.progress.chunks_done = int(raw.get(b"chunks_done", 0))
        job.progress.seconds_done = round(float(raw.get(b"seconds_done", 0.0)), 3)
        return job

    def list_jobs(
        self, owner: str | None, *, status: str | None = None, limit: int = 20, offset: int = 0
    ) -> tuple[list[Job], bool]:
        """Newest first; returns the page and whether more follow."""
        out: list[Job] = []
        start = offset if status is None else 0
        skipped = 0
        batch = max(limit * 2, 50)
        while True:
            ids = self.r.zrevrange(self.index_key(owner), start, start + batch - 1)
            if not ids:
                return out, False
            for raw_id in ids:
                try:
                    job = self.get(raw_id.decode())
                except NotFoundError:
                    continue
                if status is not None and job.status != status:
                    continue
                if status is not None and skipped < offset:
                    skipped += 1
                    continue
                if len(out) == limit:
                    return out, True
                out.append(job)
            start += batch

    # --- writing
    def create(self, job: Job) -> Job:
        pipe = self.r.pipeline()
        pipe.hset(
            self.key(job.id),
            mapping={"data": job.model_dump_json(), "chunks_done": 0, "seconds_done": 0},
        )
        pipe.zadd(self.index_key(None), {job.id: job.created_at})
        if job.owner is not None:
            pipe.zadd(self.index_key(job.owner), {job.id: job.created_at})
            pipe.sadd(self.in_flight_key(job.owner), job.id)
        pipe.execute()
        self.publish(job.id)
        metrics.count("audiosvc_jobs", to=self.r, status=job.status)
        return job

    def update(
        self, job_id: str, *, allow_from: Iterable[str] | None = None, **changes: Any
    ) -> Job | None:
        """Apply ``changes`` atomically (optimistic lock). With ``allow_from``, only when the
        current status is one of those: a cancelled job is never marked succeeded. Returns the
        new job, or None when the status did not allow it."""
        key = self.key(job_id)
        allowed = set(allow_from) if allow_from is not None else None
        with self.r.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.hget(key, "data")
                    if raw is None:
                        raise NotFoundError(f"no job {job_id!r}", param="id")
                    job = Job.model_validate_json(raw)
                    if allowed is not None and job.status not in allowed:
                        pipe.unwatch()
                        return None
                    job = job.model_copy(update=changes)
                    pipe.multi()
                    pipe.hset(key, "data", job.model_dump_json())
                    pipe.execute()
                    break
                except redis.WatchError:
                    continue
        self.publish(job_id)
        return self.get(job_id)

    def set_status(
        self,
        job_id: str,
        status: Status,
        *,
        error: AudiosvcError | None = None,
        allow_from: Iterable[str] | None = None,
        **changes: Any,
    ) -> Job | None:
        now = time.time()
        if status == "processing":
            changes.setdefault("started_at", now)
        if status in TERMINAL:
            changes.setdefault("finished_at", now)
        if error is not None:
            changes["error"] = job_error(error)
        job = self.update(job_id, allow_from=allow_from, status=status, **changes)
        if job is None:
            return None
        metrics.count("audiosvc_jobs", to=self.r, status=status)
        if status in TERMINAL:
            if job.owner is not None:
                self.r.srem(self.in_flight_key(job.owner), job_id)
            seconds = now - job.created_at
            metrics.observe("audiosvc_job_seconds", seconds, to=self.r, status=status)
        if job.error is not None and status == "failed":
            metrics.count("audiosvc_job_errors", to=self.r, code=job.error.code)
        return job

    # --- chunks
    def chunk_result(self, job_id: str, index: int) -> Transcript | None:
        raw = self.r.hget(self.chunks_key(job_id), str(index))
        return None if raw is None else Transcript.model_validate_json(raw)

    def save_chunk(self, job_id: str, index: int, transcript: Transcript, seconds: float) -> bool:
        """Store a chunk's result once; progress counts it only the first time."""
        if not self.r.hsetnx(self.chunks_key(job_id), str(index), transcript.model_dump_json()):
            return False
        pipe = self.r.pipeline()
        pipe.hincrby(self.key(job_id), "chunks_done", 1)
        pipe.hincrbyfloat(self.key(job_id), "seconds_done", seconds)
        pipe.execute()
        self.publish(job_id)
        return True

    def chunks_stored(self, job_id: str) -> int:
        return int(self.r.hlen(self.chunks_key(job_id)))

    def in_flight(self, owner: str) -> int:
        """How many of ``owner``'s jobs are queued or processing."""
        return int(self.r.scard(self.in_flight_key(owner)))

    def chunk_results(self, job_id: str) -> dict[int, Transcript]:
        raw = self.r.hgetall(self.chunks_key(job_id))
        return {int(k): Transcript.model_validate_json(v) for k, v in raw.items()}

    def add_task_ids(self, job_id: str, ids: Iterable[str]) -> None:
        ids = list(ids)
        if ids:
            self.r.sadd(self.tasks_key(job_id), *ids)

    def task_ids(self, job_id: str) -> list[str]:
        return sorted(x.decode() for x in self.r.smembers(self.tasks_key(job_id)))

    def delete(self, job_id: str) -> None:
        job = self.get(job_id)
        pipe = self.r.pipeline()
        pipe.delete(self.key(job_id), self.chunks_key(job_id), self.tasks_key(job_id))
        pipe.zrem(self.index_key(None), job_id)
        if job.owner is not None:
            pipe.zrem(self.index_key(job.owner), job_id)
            pipe.srem(self.in_flight_key(job.owner), job_id)
        pipe.execute()

    def expired(self, older_than: float, limit: int = 500) -> list[str]:
        """Ids of finished jobs created before ``older_than`` (epoch seconds)."""
        ids = [
            x.decode()
            for x in self.r.zrangebyscore(self.index_key(None), 0, older_than, start=0, num=limit)
        ]
        out = []
        for job_id in ids:
            try:
                job = self.get(job_id)
            except NotFoundError:
                self.r.zrem(self.index_key(None), job_id)
                continue
            if job.terminal and (job.finished_at or job.created_at) < older_than:
                out.append(job_id)
        return out

    # --- events
    def publish(self, job_id: str) -> None:
        try:
            job = self.get(job_id)
        except NotFoundError:
            return
        self.r.publish(self.channel(job_id), json.dumps(public_view(job, links={})))


def _valid_id(job_id: str) -> bool:
    return job_id.startswith("job_") and len(job_id) <= 64 and job_id[4:].isalnum()


def _iso(t: float | None) -> str | None:
    if t is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1000):03d}Z"


def job_error(error: AudiosvcError) -> JobError:
    return JobError(code=error.code, message=error.message, type=error.type, status=error.status)


def public_view(job: Job, links: dict[str, str]) -> dict[str, Any]:
    """The job as the API shows it (no internal paths or owner tags)."""
    return {
        "id": job.id,
        "object": "job",
        "status": job.status,
        "filename": job.filename,
        "url": job.url,
        "options": job.options.model_dump(),
        "created_at": _iso(job.created_at),
        "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
        "duration": job.duration,
        "progress": job.progress.model_dump(),
        "error": job.error.public() if job.error else None,
        "reply_error": job.reply_error.public() if job.reply_error else None,
        # Diarized jobs: each speaker found, under its label and with its name if given.
        "speakers": [
            {"label": label, "name": job.speaker_names.get(label, label)} for label in job.speakers
        ]
        if job.options.diarize
        else None,
        "links": links,
    }
