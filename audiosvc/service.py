"""What the workers do for a job, step by step; the Celery tasks only call these.

prepare:   decode the upload (or fetch the URL), plan chunks, write each chunk's PCM (and,
           for a diarized job, the whole file's, for its diarize step).
chunk:     transcribe one chunk, once (a stored result is never recomputed).
diarize:   find who speaks when in the whole file, once, beside the chunks (in parallel).
stitch:    join the chunk results into the transcript, give each word and segment its
           speaker (a diarized job); the job succeeds, unless it asked for a spoken reply:
speak:     say the reply (its own step, with its own retries); the job succeeds, and a reply
           that cannot be made is noted on it without failing the transcript.
Every step first checks that the job is still wanted (not cancelled or failed).
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
import unicodedata
from pathlib import Path

import numpy as np

from audiosvc import jobqueue, metrics, pipeline, retry
from audiosvc.chat import reply_to
from audiosvc.chunking import ChunkParams, plan_chunks
from audiosvc.errors import AudiosvcError, ConflictError, InvalidRequestError, NotFoundError
from audiosvc.fetch import DownloadStopped, download
from audiosvc.jobs import Job, JobStore, job_error
from audiosvc.media import decode, probe
from audiosvc.providers import make_provider
from audiosvc.providers.base import SpeechOptions, SpeechProvider, TranscribeOptions
from audiosvc.settings import Settings
from audiosvc.storage import Storage, write_text_atomically
from audiosvc.transcript import Transcript

_providers: dict[tuple[str, str | None], SpeechProvider] = {}


def provider_for(settings: Settings) -> SpeechProvider:
    """One provider per process and address (the local engine keeps its model loaded)."""
    key = (settings.resolved_provider(), settings.base_url)
    if key not in _providers:
        _providers[key] = make_provider(settings, key[0])
    return _providers[key]


def reset_process_state() -> None:
    """After fork: drop anything the parent built (models are loaded lazily per process)."""
    _providers.clear()
    find = sys.modules.get("audiosvc.speakers.find")  # loaded only where speakers are found
    if find is not None:
        find.forget_models()


def lane_of(job: Job, settings: Settings) -> str:
    """The lane of a job's chunks: interactive for a synchronous request or a short clip,
    batch for the rest."""
    short = job.duration is not None and job.duration <= settings.quick_max_seconds
    return jobqueue.INTERACTIVE if job.options.interactive or short else jobqueue.BATCH


def options_of(job: Job) -> TranscribeOptions:
    o = job.options
    return TranscribeOptions(
        task=o.task,
        model=o.model,
        language=o.language,
        prompt=o.prompt,
        temperature=o.temperature,
        word_timestamps=o.words or o.diarize,  # speakers are given word by word
    )


def prepare(job_id: str, store: JobStore, storage: Storage, settings: Settings) -> int | None:
    """Decode and chunk. Returns the number of chunks, or None if the job is not wanted."""
    job = store.set_status(job_id, "processing", allow_from={"queued", "processing"})
    if job is None:
        return None
    speakers_ready = not job.options.diarize or any(
        p.exists() for p in (storage.audio_path(job_id), storage.speakers_path(job_id))
    )
    if (
        job.chunks
        and speakers_ready
        and all(storage.chunk_path(job_id, p.index).exists() for p in job.plans())
    ):  # a redelivered prepare: the work is done
        return len(job.chunks)
    path = Path(job.upload_path) if job.upload_path else None
    if path is None and job.url:
        path = storage.upload_path(job_id, None)
        try:
            with storage.writer(path, settings.max_upload_bytes) as w:
                filename = download(
                    job.url,
                    w,
                    allow_private=settings.allow_private_urls,
                    timeout=settings.url_fetch_timeout,
                    max_seconds=settings.url_fetch_max_seconds,
                    should_stop=lambda: _unwanted(job_id, store),  # cancelled meanwhile
                    policy=retry.in_process(settings),
                )
        except DownloadStopped:
            storage.delete(job_id)  # cancelled: nothing of the job stays
            return None
        store.update(job_id, upload_path=str(path), filename=filename or job.filename)
    if path is None:
        raise AudiosvcError("the job has neither an upload nor a url")
    audio = decode(path, job.filename)
    params = ChunkParams.from_settings(settings, job.options.chunk_seconds)
    plans = plan_chunks(audio.pcm, params)
    if _unwanted(job_id, store):  # cancelled or deleted while decoding: write nothing
        storage.delete(job_id)
        return None
    for plan in plans:
        _write_pcm(audio.pcm[plan.start : plan.end], storage.chunk_path(job_id, plan.index))
    if job.options.diarize:
        _write_pcm(audio.pcm, storage.audio_path(job_id))
    try:
        done = store.update(
            job_id,
            allow_from={"processing"},
            duration=round(audio.duration, 3),
            # an upload was probed on arrival; a download is known to have a picture only now
            has_video=job.has_video if job.has_video is not None else probe(path).has_video,
            chunks=[(p.start, p.end, p.overlap) for p in plans],
            progress=job.progress.model_copy(
                update={"chunks_total": len(plans), "seconds_total": round(audio.duration, 3)}
            ),
        )
    except NotFoundError:
        done = None
    if done is None:
        # Cancelled or deleted while the chunks were written: the DELETE removed the files
        # it saw, not these. Nothing of the job may stay.
        storage.delete(job_id)
        return None
    return len(plans)


def _write_pcm(pcm: np.ndarray, target: Path) -> None:
    """Raw PCM to ``target``, whole or not at all (written in place: no copy in memory)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    pcm.tofile(tmp)
    tmp.replace(target)


def _unwanted(job_id: str, store: JobStore) -> bool:
    try:
        return store.get(job_id).terminal
    except NotFoundError:  # deleted
        return True


def run_chunk(
    job_id: str, index: int, store: JobStore, storage: Storage, settings: Settings
) -> bool:
    """Transcribe chunk ``index`` unless it is done or the job is not wanted. Provider errors
    propagate (the task decides between retrying and failing the job)."""
    job = store.get(job_id)
    if job.terminal:
        return False
    if store.chunk_result(job_id, index) is not None:
        return False  # redelivered: no second provider call, no duplicate text
    plan = job.plans()[index]
    pcm = np.fromfile(storage.chunk_path(job_id, index), dtype=np.int16)
    provider = provider_for(settings)
    started = time.monotonic()
    result = pipeline.run_chunk(pcm, plan, options_of(job), provider, settings)
    if not store.save_chunk(job_id, index, result, plan.new_seconds):
        return False
    lane = lane_of(job, settings)
    seconds = time.monotonic() - started
    metrics.observe(
        "audiosvc_chunk_seconds", seconds, to=store.r, lane=lane, provider=provider.name
    )
    metrics.count("audiosvc_audio_seconds", plan.new_seconds, to=store.r, task=job.options.task)
    return True


def diarize(job_id: str, store: JobStore, storage: Storage) -> bool:
    """Find the job's speakers, once, into ``speakers.json``; the whole file's PCM is read as
    a memory map and deleted after. False when there was nothing to do."""
    job = store.get(job_id)
    target = storage.speakers_path(job_id)
    if job.terminal or target.exists():
        return False
    from audiosvc.speakers.clustering import SpeakerCount
    from audiosvc.speakers.find import find_speakers

    o = job.options
    source = storage.audio_path(job_id)
    pcm = (
        np.memmap(source, dtype=np.int16, mode="r")
        if source.stat().st_size
        else np.zeros(0, np.int16)
    )
    known = [
        (name, decode(storage.reference_path(job_id, i), f"known_speaker_references[{i}]").pcm)
        for i, name in enumerate(o.known_speaker_names)
    ]
    count = SpeakerCount(o.num_speakers, o.min_speakers, o.max_speakers)
    result = find_speakers(pcm, count, known)
    del pcm
    if _unwanted(job_id, store):  # cancelled or deleted meanwhile: its folder is gone
        storage.delete(job_id)
        return False
    result.save(target)
    source.unlink(missing_ok=True)
    with contextlib.suppress(NotFoundError):
        store.update(job_id, speakers=result.labels)
    return True


def ready_to_stitch(job_id: str, store: JobStore, storage: Storage) -> Job | None:
    """The job, when every one of its chunks is stored (and its speakers, if it asked for
    them) and it is still wanted: its stitch is due. Counted from the stored results, so a
    chunk run twice counts once."""
    job = store.get(job_id)
    if job.terminal or not job.chunks or store.chunks_stored(job_id) < len(job.chunks):
        return None
    if job.options.diarize and not storage.speakers_path(job_id).exists():
        return None
    return job


def reply_text(job: Job, transcript: Transcript, settings: Settings) -> str:
    o = job.options
    if o.reply == "text":
        return o.reply_text or ""
    if o.reply == "chat":
        return reply_to(transcript.text, settings)
    return transcript.text  # "transcript": read back (a translation, for translate jobs)


def speakable(text: str) -> bool:
    """Whether ``text`` has anything a voice can say: a letter or a digit. Punctuation,
    symbols and spaces alone make an empty recording."""
    return any(ch.isalnum() for ch in text)


def speech_text(text: str, settings: Settings, param: str = "input") -> str:
    """``text`` if it may be spoken: something to say, at most ``speech_max_chars``
    characters, and encodable (no NUL or other control characters, no lone surrogates), else
    a 400 naming ``param``. Checked before any audio is made, so a bad input is an error,
    never a broken stream or an empty recording."""
    if not text.strip():
        raise InvalidRequestError(f"{param} is empty", param=param)
    if len(text) > settings.speech_max_chars:
        raise InvalidRequestError(
            f"{param} is {len(text)} characters; at most {settings.speech_max_chars} can be "
            "spoken in one request",
            param=param,
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidRequestError(
            f"{param} is not valid Unicode text (a lone surrogate)", param=param
        ) from None
    bad = next((ch for ch in text if ch not in "\t\n\r" and unicodedata.category(ch) == "Cc"), None)
    if bad is not None:
        raise InvalidRequestError(
            f"{param} holds a control character (U+{ord(bad):04X})", param=param
        )
    if not speakable(text):
        raise InvalidRequestError(f"{param} has nothing to say: no letter or digit", param=param)
    return text


def speak_reply(job: Job, transcript: Transcript, storage: Storage, settings: Settings) -> None:
    """Synthesize the job's spoken reply to ``reply.<format>`` beside its transcript."""
    text = reply_text(job, transcript, settings)
    if not speakable(text):
        # the audio's doing, not a fault of the service: /speech answers 409, not 500
        raise ConflictError(
            "there is nothing to say: the transcript holds no word", code="empty_reply"
        )
    text = speech_text(text[: settings.speech_max_chars], settings)
    options = SpeechOptions(
        voice=job.options.voice or settings.speech_voice, response_format=job.options.reply_format
    )
    path = storage.reply_path(job.id, job.options.reply_format)
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as out:
        for block in provider_for(settings).speak(text, options):
            out.write(block)
    tmp.replace(path)


def finish(job_id: str, store: JobStore, storage: Storage) -> Job | None:
    """Stitch and store the transcript. The job succeeds, unless it was cancelled meanwhile
    (None) or asks for a spoken reply (it stays processing: :func:`speak` ends it)."""
    job = store.get(job_id)
    if job.terminal:
        return None
    plans = job.plans()
    transcript = pipeline.assemble(
        plans, store.chunk_results(job_id), job.duration or 0.0, options_of(job)
    )
    if job.options.diarize:
        from audiosvc.speakers.attribution import attribute
        from audiosvc.speakers.result import Speakers

        speakers = Speakers.load(storage.speakers_path(job_id))
        transcript = attribute(transcript, speakers.labelled_turns())
    path = storage.transcript_path(job_id)
    write_text_atomically(path, transcript.model_dump_json())  # two stitches of one job may race
    for p in plans:
        storage.chunk_path(job_id, p.index).unlink(missing_ok=True)
    if job.options.reply is not None:
        return job
    return store.set_status(job_id, "succeeded", allow_from={"processing"})


def speak(job_id: str, store: JobStore, storage: Storage, settings: Settings) -> Job | None:
    """Say the job's reply; the job succeeds (None if it was cancelled meanwhile). Provider
    errors propagate: the task retries the transient ones, then calls :func:`reply_failed`."""
    job = store.get(job_id)
    if job.terminal:
        return None
    speak_reply(job, load_transcript(job_id, storage), storage, settings)
    return store.set_status(job_id, "succeeded", allow_from={"processing"})


def reply_failed(job_id: str, store: JobStore, error: AudiosvcError) -> Job | None:
    """The reply cannot be made: the job succeeds all the same (its transcript is done),
    with the reply's error noted."""
    return store.set_status(
        job_id, "succeeded", allow_from={"processing"}, reply_error=job_error(error)
    )


def load_transcript(job_id: str, storage: Storage) -> Transcript:
    return Transcript.model_validate_json(storage.transcript_path(job_id).read_text())


def fail(job_id: str, store: JobStore, error: AudiosvcError) -> Job | None:
    return store.set_status(job_id, "failed", error=error, allow_from={"queued", "processing"})


def cleanup_expired(store: JobStore, storage: Storage, ttl: float) -> list[str]:
    """Delete finished jobs (record and files) older than ``ttl`` seconds."""
    gone = store.expired(time.time() - ttl)
    for job_id in gone:
        forget(job_id, store, storage)
    return gone


def forget(job_id: str, store: JobStore, storage: Storage) -> None:
    """Delete a job and everything of it on disk; a job already gone (deleted meanwhile, by
    a user or another API's sweep) is no error."""
    storage.delete(job_id)
    with contextlib.suppress(NotFoundError):
        store.delete(job_id)


def links(
    job_id: str, base: str = "", *, reply: bool = False, speakers: bool = False
) -> dict[str, str]:
    root = f"{base}/v1/jobs/{job_id}"
    extra = {"speech": f"{root}/speech"} if reply else {}
    if speakers:
        extra["speakers"] = f"{root}/speakers"
    formats = ("json", "text", "verbose_json", "srt", "vtt")
    return {
        **extra,
        "self": root,
        "events": f"{root}/events",
        **{
            f"transcript_{fmt}": f"{root}/transcript?format={fmt}"
            for fmt in (*formats, "diarized_json")
            if speakers or fmt in formats
        },
    }


def webhook_payload(job: Job, base: str = "") -> bytes:
    return json.dumps(
        {
            "id": job.id,
            "status": job.status,
            "error": job.error.public() if job.error else None,
            "links": links(
                job.id, base, reply=job.options.reply is not None, speakers=job.options.diarize
            ),
        },
        separators=(",", ":"),
    ).encode()
