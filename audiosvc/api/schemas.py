"""OpenAPI descriptions of the endpoints whose bodies are parsed by hand (streamed
multipart): the Groq-compatible ones, written to match ``groq-openapi-audio.json`` (a test
compares them), and ``POST /v1/jobs``."""

from __future__ import annotations

from typing import Any

from audiosvc.jobs import MAX_SUBTITLE_LINE_CHARS, MIN_SUBTITLE_LINE_CHARS
from audiosvc.languages import LANGUAGES

# srt, vtt: as whisper-1; diarized_json: as OpenAI's gpt-4o-transcribe-diarize
RESPONSE_FORMATS = ["json", "text", "verbose_json", "srt", "vtt", "diarized_json"]

_SPEAKERS = {"type": "integer", "minimum": 1, "maximum": 32}
# Speakers (diarization): this service's options, and OpenAI's known speakers.
SPEAKER_PROPERTIES: dict[str, Any] = {
    "diarize": {"type": "boolean", "default": False, "description": "Find who speaks when."},
    "num_speakers": {**_SPEAKERS, "description": "Exactly this many speakers (implies diarize)."},
    "min_speakers": {**_SPEAKERS, "description": "At least this many speakers."},
    "max_speakers": {**_SPEAKERS, "description": "At most this many speakers."},
    "known_speaker_names[]": {
        "type": "array",
        "maxItems": 4,
        "items": {"type": "string", "maxLength": 64},
        "description": "Names of known speakers, one per reference clip (implies diarize).",
    },
    "known_speaker_references[]": {
        "type": "array",
        "maxItems": 4,
        "items": {"type": "string"},
        "description": "A 2-10 s clip of each known speaker, as a data URL "
        "(data:audio/wav;base64,...).",
    },
}


def _common() -> dict[str, Any]:
    return {
        "file": {
            "type": "string",
            "format": "binary",
            "description": "The audio or video file (any common format, any length).",
        },
        "url": {"type": "string", "description": "The audio URL, instead of a file."},
        "model": {
            "type": "string",
            "example": "whisper-large-v3-turbo",
            "description": "whisper-large-v3, whisper-large-v3-turbo, whisper-1, ...",
        },
        "prompt": {"type": "string"},
        "response_format": {"type": "string", "enum": RESPONSE_FORMATS, "default": "json"},
        "temperature": {"type": "number", "default": 0},
    }


TRANSCRIPTION_REQUEST: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["model"],
    "oneOf": [{"required": ["file"]}, {"required": ["url"]}],
    "properties": {
        **_common(),
        # Whisper's codes, and the reference's 'jv' (Whisper: 'jw') which is accepted too.
        "language": {"type": "string", "enum": sorted({*LANGUAGES, "jv"})},
        "timestamp_granularities[]": {
            "type": "array",
            "items": {"type": "string", "enum": ["word", "segment"]},
            "default": ["segment"],
        },
        **SPEAKER_PROPERTIES,
        "chunking_strategy": {"type": "string", "description": "Accepted and ignored."},
    },
}

TRANSLATION_REQUEST: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["model"],
    "oneOf": [{"required": ["file"]}, {"required": ["url"]}],
    "properties": _common(),
}

# POST /v1/jobs: the transcription's fields (no response_format: a job's transcript is
# downloaded later, in any format), plus the task, the chunk length, a webhook and a reply.
_JOB_FIELDS: dict[str, Any] = {
    **{
        k: v
        for k, v in TRANSCRIPTION_REQUEST["properties"].items()
        if k not in ("response_format", "chunking_strategy")
    },
    "task": {"type": "string", "enum": ["transcribe", "translate"], "default": "transcribe"},
    "temperature": {"type": "number", "minimum": 0, "maximum": 1, "default": 0},
    "chunk_seconds": {"type": "number", "description": "Longest chunk, in seconds."},
    "webhook_url": {"type": "string", "description": "Posted to, signed, when the job ends."},
    "reply": {"type": "string", "enum": ["text", "transcript", "chat"]},
    "reply_text": {"type": "string", "description": "What to say, with reply=text."},
    "voice": {"type": "string"},
    "reply_format": {
        "type": "string",
        "enum": ["flac", "mp3", "mulaw", "ogg", "wav"],
        "default": "mp3",
    },
    "subtitle_line_chars": {
        "type": "integer",
        "minimum": MIN_SUBTITLE_LINE_CHARS,
        "maximum": MAX_SUBTITLE_LINE_CHARS,
        "description": "Characters per subtitle line in this job's SRT and VTT.",
    },
}

RENAME_REQUEST: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "minProperties": 1,
                    "additionalProperties": {"type": ["string", "null"], "maxLength": 64},
                    "example": {"A": "Alice", "B": "Bob"},
                }
            }
        },
    }
}

JOB_REQUEST: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "additionalProperties": False,
                    "oneOf": [{"required": ["file"]}, {"required": ["url"]}],
                    "properties": _JOB_FIELDS,
                }
            },
            # a url job needs no multipart
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["url"],
                    "properties": {k: v for k, v in _JOB_FIELDS.items() if k != "file"},
                }
            },
        },
    }
}

_WORD = {
    "type": "object",
    "required": ["word", "start", "end"],
    "properties": {
        "word": {"type": "string"},
        "start": {"type": "number"},
        "end": {"type": "number"},
    },
}
_SEGMENT = {
    "type": "object",
    "required": ["id", "seek", "start", "end", "text", "tokens"],
    "properties": {
        "id": {"type": "integer"},
        "seek": {"type": "integer"},
        "start": {"type": "number"},
        "end": {"type": "number"},
        "text": {"type": "string"},
        "tokens": {"type": "array", "items": {"type": "integer"}},
        "temperature": {"type": "number"},
        "avg_logprob": {"type": "number"},
        "compression_ratio": {"type": "number"},
        "no_speech_prob": {"type": "number"},
    },
}

TRANSCRIPTION_RESPONSES: dict[str, Any] = {
    "200": {
        "description": "OK",
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        {
                            "type": "object",
                            "required": ["text"],
                            "properties": {"text": {"type": "string"}},
                        },
                        {
                            "type": "object",
                            "required": ["language", "duration", "text"],
                            "properties": {
                                "task": {"type": "string"},
                                "language": {"type": "string"},
                                # A number, as Groq and OpenAI send it (the spec says string).
                                "duration": {"type": "number"},
                                "text": {"type": "string"},
                                "segments": {"type": "array", "items": _SEGMENT},
                                "words": {"type": "array", "items": _WORD},
                            },
                        },
                    ]
                }
            },
            "text/plain": {"schema": {"type": "string"}},
        },
    }
}


def multipart(schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}},
        "responses": TRANSCRIPTION_RESPONSES,
    }


LIST_MODELS_RESPONSES: dict[int | str, dict[str, Any]] = {
    "200": {
        "description": "OK",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["object", "data"],
                    "properties": {
                        "object": {"type": "string", "enum": ["list"]},
                        "data": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["id", "object", "created", "owned_by"],
                                "properties": {
                                    "id": {"type": "string"},
                                    "object": {"type": "string", "enum": ["model"]},
                                    "created": {"type": "integer"},
                                    "owned_by": {"type": "string"},
                                },
                            },
                        },
                    },
                }
            }
        },
    }
}


# Groq's error body (its ``ErrorResponse``), which every error of this service is.
ERROR_SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["type", "message"],
        "properties": {
            "message": {"type": "string"},
            "type": {"type": "string"},
            "code": {"type": "string", "nullable": True},
            "param": {"type": "string", "nullable": True},
        },
    },
    "ErrorResponse": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"$ref": "#/components/schemas/Error"}},
    },
}


def _error_answer(description: str) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/ErrorResponse"}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def document_errors(spec: dict[str, Any]) -> dict[str, Any]:
    """Every operation's errors as they are answered: Groq's ErrorResponse, for any 4xx and
    5xx. FastAPI documents a 422 with its own validation body, which this service never sends
    (a bad request is a 400 ErrorResponse): that is dropped. In place; idempotent."""
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas.update(ERROR_SCHEMAS)
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            responses["4XX"] = _error_answer(
                "A bad request (400), key (401), job (404) or state (409), an upload too big "
                "(413) or not media (415), a spent budget (429)"
            )
            responses["5XX"] = _error_answer(
                "Redis unreachable (503), a synchronous request's wait over (504), the disk "
                "at its floor (507), an unexpected error (500)"
            )
    return spec
