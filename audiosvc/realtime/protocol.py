"""The Realtime protocol's messages, as the ``openai`` SDK's types define them: a session's
configuration (validated, updated field by field), the client events a session takes, and
builders for the server events it sends. Pure: no I/O.

Errors a client can cause are :class:`ProtocolError`; the session answers each with an
``error`` event and stays open."""

from __future__ import annotations

import json
import secrets
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from audiosvc.languages import language_code

SessionType = Literal["transcription", "realtime"]
M = TypeVar("M", bound=BaseModel)


class ProtocolError(Exception):
    """A client event this session cannot take. ``code`` and ``param`` are the protocol's."""

    def __init__(
        self, message: str, *, code: str = "invalid_value", param: str | None = None
    ) -> None:
        super().__init__(message)
        self.message, self.code, self.param = message, code, param


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(10)}"


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class AudioFormat(_Model):
    type: Literal["audio/pcm", "audio/pcmu", "audio/pcma"] = "audio/pcm"
    rate: Literal[24000] | None = None  # audio/pcm only, and only 24 kHz

    def shown(self) -> dict[str, Any]:
        return (
            {"type": self.type, "rate": 24000} if self.type == "audio/pcm" else {"type": self.type}
        )


class Transcription(_Model):
    model: str | None = None
    language: str | None = None
    prompt: str | None = None


class ServerVad(_Model):
    type: Literal["server_vad"] = "server_vad"
    threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    prefix_padding_ms: int = Field(default=300, ge=0, le=5000)
    silence_duration_ms: int = Field(default=500, ge=100, le=10000)
    create_response: bool = True
    interrupt_response: bool = True


class InputAudio(_Model):
    format: AudioFormat = Field(default_factory=AudioFormat)
    transcription: Transcription | None = Field(default_factory=Transcription)
    turn_detection: ServerVad | None = Field(default_factory=ServerVad)
    noise_reduction: dict[str, Any] | None = None  # accepted; the engine copes without


class OutputAudio(_Model):
    """A voice-bot session's answers: their format, voice and speed."""

    format: AudioFormat = Field(default_factory=AudioFormat)
    voice: str | None = None  # None: the service's default voice
    speed: float = Field(default=1.0, ge=0.25, le=4.0)


class Session(_Model):
    """A session's whole configuration, as ``session.created``/``updated`` show it."""

    id: str = Field(default_factory=lambda: new_id("sess"))
    type: SessionType = "transcription"
    input: InputAudio = Field(default_factory=InputAudio)
    output: OutputAudio = Field(default_factory=OutputAudio)
    instructions: str | None = None  # the chat model's system prompt (None: the service's)

    def shown(self) -> dict[str, Any]:
        i = self.input
        body: dict[str, Any] = {
            "type": self.type,
            "id": self.id,
            "object": (
                "realtime.transcription_session"
                if self.type == "transcription"
                else "realtime.session"
            ),
            "audio": {
                "input": {
                    "format": i.format.shown(),
                    "transcription": i.transcription.model_dump() if i.transcription else None,
                    "noise_reduction": i.noise_reduction,
                    "turn_detection": i.turn_detection.model_dump() if i.turn_detection else None,
                }
            },
        }
        if self.type == "realtime":
            o = self.output
            body["audio"]["output"] = {
                "format": o.format.shown(),
                "voice": o.voice or "default",
                "speed": o.speed,
            }
            body["output_modalities"] = ["audio"]
            body["instructions"] = self.instructions or ""
        return body

    @property
    def language(self) -> str | None:
        t = self.input.transcription
        return language_code(t.language) if t and t.language else None


def updated(session: Session, update: Any) -> Session:
    """``session`` with the fields ``update`` (a ``session.update``'s ``session``) names
    changed, the rest kept; ``null`` clears ``turn_detection`` (the client commits),
    ``transcription`` or ``noise_reduction``. Raises :class:`ProtocolError` naming the field."""
    if not isinstance(update, dict):
        raise ProtocolError("session must be an object", param="session")
    kind = update.get("type", session.type)
    if kind != session.type:
        raise ProtocolError(
            f"this is a {session.type} session; its type cannot change to {kind!r}",
            param="session.type",
        )
    audio = update.get("audio") or {}
    if not isinstance(audio, dict):
        raise ProtocolError("session.audio must be an object", param="session.audio")
    new_input = _merged(InputAudio, session.input, audio.get("input"), "session.audio.input")
    new_output = _merged(OutputAudio, session.output, audio.get("output"), "session.audio.output")
    instructions = update.get("instructions", session.instructions)
    if instructions is not None and not isinstance(instructions, str):
        raise ProtocolError("instructions must be a string", param="session.instructions")
    language = new_input.transcription.language if new_input.transcription else None
    if language and language_code(language) is None:
        raise ProtocolError(
            f"unknown language {language!r}: use an ISO-639-1 code such as 'en'",
            param="session.audio.input.transcription.language",
        )
    return session.model_copy(
        update={"input": new_input, "output": new_output, "instructions": instructions or None}
    )


def _merged(model: type[M], current: M, changes: Any, where: str) -> M:
    """``current`` with ``changes`` applied: objects merged key by key, other values (and
    ``null``, which clears) replacing."""
    if changes is None:
        return current
    if not isinstance(changes, dict):
        raise ProtocolError(f"{where} must be an object", param=where)
    values = current.model_dump()
    for name, value in changes.items():
        if name not in model.model_fields:
            continue
        old = values.get(name)
        values[name] = (
            {**old, **value} if isinstance(old, dict) and isinstance(value, dict) else value
        )
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        at = ".".join(str(x) for x in first["loc"] if not str(x).startswith("function"))
        raise ProtocolError(f"{where}.{at}: {first['msg']}", param=f"{where}.{at}") from None


def parse_client_event(text: str | bytes, max_bytes: int) -> dict[str, Any]:
    """A client frame as an event (a JSON object with a string ``type``)."""
    if len(text) > max_bytes:
        raise ProtocolError(
            f"the event is {len(text)} bytes; at most {max_bytes} are taken per event: send "
            "audio in smaller appends",
            code="event_too_large",
        )
    try:
        event = json.loads(text)
    except ValueError:
        raise ProtocolError("the event is not JSON", code="invalid_json") from None
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        raise ProtocolError('an event is a JSON object with a "type"', param="type")
    return event


def event(kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "event_id": new_id("event"), **fields}


def error_event(
    message: str,
    *,
    code: str | None = None,
    param: str | None = None,
    kind: str = "invalid_request_error",
    client_event_id: str | None = None,
) -> dict[str, Any]:
    return event(
        "error",
        error={
            "type": kind,
            "code": code,
            "message": message,
            "param": param,
            "event_id": client_event_id,
        },
    )


def user_item(item_id: str, transcript: str | None = None) -> dict[str, Any]:
    return {
        "id": item_id,
        "object": "realtime.item",
        "type": "message",
        "role": "user",
        "status": "completed",
        "content": [{"type": "input_audio", "transcript": transcript}],
    }
