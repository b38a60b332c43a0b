"""A voice-bot session's answers: the user's turn goes to the configured chat endpoint (with
none configured, the bot reads the turn back: "You said: ..."), and the answer is spoken
sentence by sentence through the service's one speech path, each sentence's audio streamed
as ``response.output_audio.delta`` events as it is made, after its text.

An answer can be cancelled at any moment (the user speaks again, or the client cancels):
its events stop at once, the open parts are closed, and ``response.done`` says why."""

from __future__ import annotations

import asyncio
import base64
import functools
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from audiosvc.chat import chat_configured, reply_to
from audiosvc.errors import AudiosvcError
from audiosvc.providers.base import SpeechOptions
from audiosvc.realtime import audio
from audiosvc.realtime.engine import FINAL, EngineLane
from audiosvc.realtime.protocol import Session, event, new_id
from audiosvc.settings import Settings

Send = Callable[[dict[str, Any]], Awaitable[None]]
DELTA_MS = 200  # audio per output_audio.delta event
# Answers are sent at the pace they play, this far ahead: enough to hide a network's jitter,
# little enough that a user who speaks over the bot cuts the rest of the answer, unsent.
LEAD_MS = 600


def answer_text(transcript: str, session: Session, settings: Settings) -> str:
    """What the bot says to ``transcript`` (blocking: a chat request, when configured)."""
    if chat_configured(settings):
        if session.instructions:
            settings = settings.model_copy(update={"chat_system_prompt": session.instructions})
        return reply_to(transcript, settings, timeout=30.0)
    return f"You said: {transcript}"


def sentences(text: str) -> list[str]:
    from audiosvc.tts import split_sentences

    return [s for s in split_sentences(text, 400) if s.strip()]


def wav_pcm(blocks: Iterator[bytes]) -> Iterator[bytes]:
    """The PCM of a streamed WAV file, block by block as it comes: the RIFF chunks before
    ``data`` are walked and skipped (a streamed file's sizes may be unknown: not trusted)."""
    head = bytearray()
    started = False
    for block in blocks:
        if started:
            yield block
            continue
        head += block
        pos = 12  # "RIFF" <size> "WAVE"
        while pos + 8 <= len(head) and head[pos : pos + 4] != b"data":
            size = int.from_bytes(head[pos + 4 : pos + 8], "little")
            pos += 8 + size + (size & 1)
        if pos + 8 > len(head):
            continue
        rest, started = bytes(head[pos + 8 :]), True
        if rest:
            yield rest


def _next_block(blocks: Iterator[bytes]) -> bytes | None:
    return next(blocks, None)


@dataclass
class Answer:
    """One response: its ids, what has been said, and how much audio went out."""

    response_id: str = field(default_factory=lambda: new_id("resp"))
    item_id: str = field(default_factory=lambda: new_id("item"))
    said: str = ""
    audio_ms: int = 0
    status: str = "in_progress"
    started: float | None = None  # when its first audio was sent (monotonic seconds)

    def item(self, status: str) -> dict[str, Any]:
        return {
            "id": self.item_id,
            "object": "realtime.item",
            "type": "message",
            "role": "assistant",
            "status": status,
            "content": [{"type": "output_audio", "transcript": self.said}],
        }

    def ids(self) -> dict[str, Any]:
        return {
            "response_id": self.response_id,
            "item_id": self.item_id,
            "output_index": 0,
            "content_index": 0,
        }


async def respond(
    answer: Answer,
    transcript: str,
    previous_item: str | None,
    session: Session,
    settings: Settings,
    send: Send,
    lane: EngineLane,
) -> None:
    """Say the answer to ``transcript``. Cancelling the task ends it; the caller then sends
    :func:`closing_events`."""
    fmt = session.output.format.type
    await send(
        event(
            "response.created",
            response={
                "id": answer.response_id,
                "object": "realtime.response",
                "status": "in_progress",
                "output": [],
                "output_modalities": ["audio"],
                "audio": {"output": {"format": session.output.format.shown(),
                                     "voice": session.output.voice or "default"}},
            },
        )
    )  # fmt: skip
    await send(
        event(
            "response.output_item.added",
            response_id=answer.response_id,
            output_index=0,
            item=answer.item("in_progress"),
        )
    )
    await send(
        event(
            "conversation.item.added",
            previous_item_id=previous_item,
            item=answer.item("in_progress"),
        )
    )
    await send(
        event(
            "response.content_part.added",
            **answer.ids(),
            part={"type": "audio", "transcript": ""},
        )
    )
    text = await asyncio.to_thread(answer_text, transcript, session, settings)
    rate = audio.RATES[fmt]
    step = rate * DELTA_MS // 1000 * audio.BYTES_PER_SAMPLE[fmt]
    for sentence in sentences(text):
        piece = sentence if not answer.said else " " + sentence
        answer.said += piece
        await send(event("response.output_audio_transcript.delta", **answer.ids(), delta=piece))
        blocks = _speech(sentence, session, settings, rate)
        pending = b""
        while True:
            block = await lane.run(FINAL, functools.partial(_next_block, blocks))
            if block is None:
                break
            pending += _encoded(block, fmt)
            while len(pending) >= step:
                await _audio(send, answer, pending[:step], fmt)
                pending = pending[step:]
        if pending:
            await _audio(send, answer, pending, fmt)
    answer.status = "completed"
    for message in closing_events(answer, "completed", None):
        await send(message)


def _speech(text: str, session: Session, settings: Settings, rate: int) -> Iterator[bytes]:
    """16-bit PCM at ``rate`` of ``text``, by the configured provider (made lazily, in the
    engine's thread, a block at a time)."""
    from audiosvc.service import provider_for

    options = SpeechOptions(
        voice=session.output.voice or settings.speech_voice,
        response_format="wav",
        sample_rate=rate,
        speed=session.output.speed,
    )
    return wav_pcm(provider_for(settings).speak(text, options))


def _encoded(pcm_bytes: bytes, fmt: str) -> bytes:
    if fmt == "audio/pcm":
        return pcm_bytes
    linear = np.frombuffer(pcm_bytes[: len(pcm_bytes) // 2 * 2], "<i2")
    return audio.encode_g711(linear, fmt)


async def _audio(send: Send, answer: Answer, data: bytes, fmt: str) -> None:
    now = time.monotonic()
    if answer.started is None:
        answer.started = now
    ahead = answer.audio_ms / 1000 - (now - answer.started)
    if ahead > LEAD_MS / 1000:
        await asyncio.sleep(ahead - LEAD_MS / 1000)
    answer.audio_ms += len(data) * 1000 // (audio.RATES[fmt] * audio.BYTES_PER_SAMPLE[fmt])
    await send(
        event("response.output_audio.delta", **answer.ids(), delta=base64.b64encode(data).decode())
    )


def closing_events(answer: Answer, status: str, reason: str | None) -> list[dict[str, Any]]:
    """The events that end a response: every open part and item closed, then
    ``response.done`` with its status (and, for a cancelled one, why)."""
    item_status = "completed" if status == "completed" else "incomplete"
    item = answer.item(item_status)
    details = {"type": status, "reason": reason} if reason else None
    return [
        event("response.output_audio.done", **answer.ids()),
        event("response.output_audio_transcript.done", **answer.ids(), transcript=answer.said),
        event(
            "response.content_part.done",
            **answer.ids(),
            part={"type": "audio", "transcript": answer.said},
        ),
        event("conversation.item.done", item=item),
        event(
            "response.output_item.done",
            response_id=answer.response_id,
            output_index=0,
            item=item,
        ),
        event(
            "response.done",
            response={
                "id": answer.response_id,
                "object": "realtime.response",
                "status": status,
                "status_details": details,
                "output": [item],
                "output_modalities": ["audio"],
            },
        ),
    ]


def failed(answer: Answer, error: AudiosvcError) -> list[dict[str, Any]]:
    done = closing_events(answer, "failed", None)
    done[-1]["response"]["status_details"] = {
        "type": "failed",
        "error": {"type": error.type, "code": error.code, "message": error.message},
    }
    return done
