"""The service's own OpenAPI document against the reference (groq-openapi-audio.json, vendored
in tests/data from shared/reference): same request fields, required fields and enums, and
response shapes a client of the reference can read."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from audiosvc.api.app import create_app
from audiosvc.api.schemas import SPEAKER_PROPERTIES
from audiosvc.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "tests" / "data" / "groq-openapi-audio.json"
# The SHA-256 of shared/reference/groq-openapi-audio.json when it was vendored. A clean clone
# (CI's case) may have no shared/ beside it, so the pin, not the neighbour, is what is checked;
# when shared/ is there, it must still be the file that was vendored.
REFERENCE_SHA256 = "eaba0490fb6bb274aed7ae1e9adf178b9df267e1745bf778d20803e308655e90"
SHARED = ROOT.parent / "shared" / "reference" / "groq-openapi-audio.json"


@pytest.fixture(scope="module")
def reference() -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(REFERENCE.read_text())
    return spec


@pytest.fixture(scope="module")
def ours(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    settings = Settings(redis_url="redis://127.0.0.1:1/0", data_dir=tmp_path_factory.mktemp("d"))
    return create_app(settings).openapi()


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        parts = schema["$ref"].lstrip("#/").split("/")
        node: Any = spec
        for p in parts:
            node = node[p]
        schema = node
    return schema


def _request(spec: dict[str, Any], path: str, ctype: str) -> dict[str, Any]:
    body = spec["paths"][path]["post"]["requestBody"]
    return _resolve(spec, body["content"][ctype]["schema"])


def test_vendored_reference_is_the_pinned_one() -> None:
    assert hashlib.sha256(REFERENCE.read_bytes()).hexdigest() == REFERENCE_SHA256
    if SHARED.exists():  # a newer reference in shared/ must be vendored and pinned anew
        assert hashlib.sha256(SHARED.read_bytes()).hexdigest() == REFERENCE_SHA256


@pytest.mark.parametrize(
    "path", ["/openai/v1/audio/transcriptions", "/openai/v1/audio/translations"]
)
def test_multipart_requests_match(
    reference: dict[str, Any], ours: dict[str, Any], path: str
) -> None:
    ref = _request(reference, path, "multipart/form-data")
    got = _request(ours, path, "multipart/form-data")
    # Transcriptions also take OpenAI's diarization fields and this service's speaker options.
    extra = {*SPEAKER_PROPERTIES, "chunking_strategy"} if path.endswith("transcriptions") else set()
    assert set(got["properties"]) == set(ref["properties"]) | extra
    assert got["required"] == ref["required"]
    assert got["oneOf"] == ref["oneOf"] and got["additionalProperties"] is False
    # The reference's response formats, plus srt and vtt (as OpenAI's whisper-1 offers).
    ref_formats = set(ref["properties"]["response_format"]["enum"])
    assert ref_formats <= set(got["properties"]["response_format"]["enum"])
    if "timestamp_granularities[]" in ref["properties"]:
        items = got["properties"]["timestamp_granularities[]"]["items"]["enum"]
        assert items == ref["properties"]["timestamp_granularities[]"]["items"]["enum"]
        ref_languages = set(ref["properties"]["language"]["anyOf"][1]["enum"])
        assert ref_languages <= set(got["properties"]["language"]["enum"])


def test_speech_request_matches(reference: dict[str, Any], ours: dict[str, Any]) -> None:
    ref = _request(reference, "/openai/v1/audio/speech", "application/json")
    got = _request(ours, "/openai/v1/audio/speech", "application/json")
    assert set(got["properties"]) == set(ref["properties"])
    assert sorted(got["required"]) == sorted(ref["required"])
    assert got["additionalProperties"] is False
    fmt = got["properties"]["response_format"]
    assert fmt["enum"] == ref["properties"]["response_format"]["enum"]
    assert fmt["default"] == ref["properties"]["response_format"]["default"]
    rates = got["properties"]["sample_rate"]["anyOf"][0]["enum"]
    assert rates == ref["properties"]["sample_rate"]["enum"]
    speed = got["properties"]["speed"]
    assert (speed["minimum"], speed["maximum"]) == (
        ref["properties"]["speed"]["minimum"],
        ref["properties"]["speed"]["maximum"],
    )


def _ok_schema(spec: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    content = spec["paths"][path][method]["responses"]["200"]["content"]
    return _resolve(spec, content["application/json"]["schema"])


def test_responses_carry_the_reference_fields(
    reference: dict[str, Any], ours: dict[str, Any]
) -> None:
    ref_models = _ok_schema(reference, "/openai/v1/models", "get")
    got_models = _ok_schema(ours, "/openai/v1/models", "get")
    assert got_models["required"] == ref_models["required"]
    ref_model = _resolve(reference, ref_models["properties"]["data"]["items"])
    assert got_models["properties"]["data"]["items"]["required"] == ref_model["required"]

    ref_json = _ok_schema(reference, "/openai/v1/audio/transcriptions", "post")
    got_json, got_verbose = _ok_schema(ours, "/openai/v1/audio/transcriptions", "post")["oneOf"]
    assert got_json["required"] == ref_json["required"]
    ref_verbose = reference["components"]["schemas"]["CreateTranscriptionResponseVerboseJson"]
    assert sorted(got_verbose["required"]) == sorted(ref_verbose["required"])
    assert set(ref_verbose["properties"]) <= set(got_verbose["properties"])
    for name in ("TranscriptionSegment", "TranscriptionWord"):
        ref_part = reference["components"]["schemas"][name]
        key = "segments" if name == "TranscriptionSegment" else "words"
        got_part = got_verbose["properties"][key]["items"]
        assert sorted(got_part["required"]) == sorted(ref_part["required"])


def test_every_operation_documents_its_errors_as_they_are_answered(
    reference: dict[str, Any], ours: dict[str, Any]
) -> None:
    """Groq's ErrorResponse for any 4xx and 5xx; never FastAPI's 422 validation body, which
    the service does not send (it was in the document for every operation with parameters)."""
    ref_error = _resolve(reference, {"$ref": "#/components/schemas/Error"})
    our_error = _resolve(ours, {"$ref": "#/components/schemas/Error"})
    assert our_error["required"] == ref_error["required"]
    assert set(our_error["properties"]) <= set(ref_error["properties"])
    assert "HTTPValidationError" not in ours["components"]["schemas"]
    for path, operations in ours["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "422" not in responses, (method, path)
            for status in ("4XX", "5XX"):
                schema = responses[status]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, (method, path)
