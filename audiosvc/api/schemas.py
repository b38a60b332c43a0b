"""OpenAPI descriptions of the Groq-compatible endpoints whose bodies are parsed by hand
(streamed multipart), written to match ``groq-openapi-audio.json``; a test compares them."""

from __future__ import annotations

from typing import Any

from audiosvc.languages import LANGUAGES

RESPONSE_FORMATS = ["json", "text", "verbose_json", "srt", "vtt"]  # srt, vtt: as whisper-1


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
    },
}

TRANSLATION_REQUEST: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["model"],
    "oneOf": [{"required": ["file"]}, {"required": ["url"]}],
    "properties": _common(),
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
