"""Property-based fuzzing of every operation in the service's own OpenAPI document.

Schemathesis reads the live ``/openapi.json`` of the session's real service (API, Redis and a
worker) and generates requests for each operation, valid ones and invalid ones, uploads sent
as real multipart bodies. For every answer: no 5xx, and every 4xx is Groq's ``ErrorResponse``
(``{"error": {"message": str, "type": str, ...}}``). After the run the service is healthy and
still transcribes.

Half the time a parameter takes a real value instead of a random one (jobs that exist, models
and voices that work, the transcript formats), so requests get past the first check and reach
the rendering, probing and synthesis behind it.

``make test`` runs a few examples per operation, the same on every run (derandomized);
``make fuzz`` runs many more, new ones each run (``AUDIOSVC_FUZZ_EXAMPLES``; a failure prints
the ``--hypothesis-seed`` that repeats it).

Why not ``@schema.parametrize()``: the service's address exists only once the session's
fixtures run, and ``schemathesis.pytest.from_fixture`` (the loader for that case) sets
``request.node._nodeid``, which pytest 9 no longer has. So each operation is a subtest here,
its Hypothesis test built on ``operation.as_strategy()``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from schemathesis import APIOperation, Case, CheckContext, GenerationMode, Response
from schemathesis.checks import not_a_server_error

from audiosvc.api.routers.openai_compat import SPEECH_MODELS
from audiosvc.encode import encode_audio
from audiosvc.formats import CONTENT_TYPES
from audiosvc.jobs import TERMINAL
from audiosvc.tts import voice_names
from tests.groq_server import SAMPLE_RATE, silence
from tests.service.conftest import MALFORMED_URLS, SAMPLES
from tests.service.harness import Api, wait_until_done

pytestmark = pytest.mark.engine

_ASKED = os.environ.get("AUDIOSVC_FUZZ_EXAMPLES")
EXAMPLES = int(_ASKED or 50)  # per operation

FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=_ASKED is None,  # `make test`: the same requests every run
    database=None,  # no .hypothesis directory written into the repo
    deadline=None,  # a real request's time is not the property under test
    suppress_health_check=[
        HealthCheck.too_slow,  # every example is an HTTP request, uploads included
        HealthCheck.filter_too_much,  # schemathesis drops negative cases that came out valid
        HealthCheck.data_too_large,  # generated upload bodies
    ],
)


def error_response_shape(ctx: CheckContext, response: Response, case: Case) -> None:
    """Every 4xx is Groq's ErrorResponse, as JSON. No endpoint answers an error otherwise:
    even the streaming ones (events, speech) check everything before their first byte."""
    if not 400 <= response.status_code < 500:
        return
    ctype = response.headers.get("content-type", [""])[0]
    assert ctype.startswith("application/json"), f"a {response.status_code} as {ctype!r}"
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), body
    error = body["error"]
    assert isinstance(error.get("message"), str) and error["message"], body
    assert isinstance(error.get("type"), str) and error["type"], body


@pytest.fixture(scope="module")
def known(client: httpx.Client, media_server: str) -> dict[str, list[Any]]:
    """Real values for the generator: a job in each finished state (a transcript with its
    spoken reply; a transcript whose reply could not be made, there being nothing to say; a
    failure), the models the service lists, the voices, the formats and statuses, and URLs:
    one its server answers 404 (a job that fails at once), and malformed ones."""
    models = [m["id"] for m in client.get("/openai/v1/models").json()["data"]]
    short = (SAMPLES / "short.wav").read_bytes()
    silent = encode_audio(silence(1.0), SAMPLE_RATE, "wav")
    created = [
        client.post(
            "/v1/jobs",
            files={"file": ("short.wav", short)},
            data={"language": "en", "reply": "text", "reply_text": "Hello.", "reply_format": "wav"},
        ),
        client.post(
            "/v1/jobs",
            files={"file": ("silent.wav", silent)},
            data={"language": "en", "reply": "transcript"},
        ),
        client.post("/v1/jobs", data={"url": f"{media_server}/missing.wav"}),
    ]
    jobs = []
    for resp in created:
        assert resp.status_code == 202, resp.text
        jobs.append(wait_until_done(client, resp.json()["id"]))
    assert [j["status"] for j in jobs] == ["succeeded", "succeeded", "failed"], jobs
    assert jobs[1]["reply_error"] is not None, jobs[1]
    return {
        "job_ids": [j["id"] for j in jobs],
        "urls": [
            f"{media_server}/missing.wav",
            f"{media_server}/",
            "ftp://127.0.0.1/a.wav",
            "http:///a.wav",
            *MALFORMED_URLS,
        ],
        "models": [m for m in models if m not in SPEECH_MODELS],
        "speech_models": [m for m in models if m in SPEECH_MODELS],
        "voices": voice_names(),
        "formats": list(CONTENT_TYPES),
        "statuses": ["queued", "processing", *sorted(TERMINAL)],
    }


def _config(known: dict[str, list[Any]]) -> schemathesis.Config:
    """``known`` as schemathesis dictionaries, each parameter taking a real value half the
    time. An explicit config: no ``schemathesis.toml`` of a developer's changes the run."""
    bound = {
        "path.job_id": "job_ids",
        "query.format": "formats",
        "query.status": "statuses",
        "body.model": "models",
        "body.voice": "voices",
        "body.url": "urls",
        "body.webhook_url": "urls",
    }
    return schemathesis.Config.from_dict(
        {
            "dictionaries": {name: {"values": values} for name, values in known.items()},
            "parameters": {key: _half(name) for key, name in bound.items()},
            "operations": [
                {
                    "include-path": "/openai/v1/audio/speech",
                    "parameters": {"body.model": _half("speech_models")},
                }
            ],
        }
    )


def _half(dictionary: str) -> dict[str, Any]:
    return {"dictionary": dictionary, "probability": 0.5}


@st.composite
def _drawable(draw: st.DrawFn, strategy: st.SearchStrategy[Case]) -> Case:
    """``strategy``'s cases, less those schemathesis 4.32.5 fails to make: for an invalid
    multipart body under a ``oneOf`` (POST /v1/jobs: a file or a url) its generator checks
    the draw with a JSON Schema validator that cannot read a file part, and raises
    ``ValueError("Unsupported type: 'Binary'")`` before any request exists. That draw is
    dropped; every other error is raised."""
    try:
        case: Case = draw(strategy)
    except ValueError as exc:
        if "Unsupported type: 'Binary'" not in str(exc):
            raise
        reject()
    return case


def _fuzz(
    operation: APIOperation, session: requests.Session, with_file: set[str]
) -> Callable[[], None]:
    """The operation's Hypothesis test: the document's own examples, valid and invalid
    requests; every answer checked. The operation joins ``with_file`` once it sent a file."""
    strategy = st.one_of(
        *operation.get_strategies_from_examples(),
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @FUZZ
    @given(case=_drawable(strategy))
    def run(case: Case) -> None:
        response = case.call(session=session, timeout=60)
        body = response.request.body
        if isinstance(body, bytes) and b'; filename="' in body:  # a multipart file part
            with_file.add(operation.label)
        case.validate_response(response, checks=[not_a_server_error, error_response_shape])

    return run


def test_every_operation_answers_without_5xx_and_every_4xx_is_an_error_response(
    api: Api, client: httpx.Client, known: dict[str, list[Any]], subtests: pytest.Subtests
) -> None:
    schema = schemathesis.openapi.from_url(f"{api.url}/openapi.json", config=_config(known))
    operations = [result.ok() for result in schema.get_all_operations()]
    # DELETE last: until then the known jobs are there for every other operation.
    operations.sort(key=lambda op: op.method == "delete")
    with_file: set[str] = set()
    with requests.Session() as session:
        for operation in operations:
            with subtests.test(operation.label):
                _fuzz(operation, session, with_file)()

    # Uploads were fuzzed as uploads: a file part reached each endpoint that takes one.
    uploads = {
        op.label
        for op in operations
        if any(body.media_type == "multipart/form-data" for body in op.body)
    }
    assert uploads >= {
        "POST /v1/jobs",
        "POST /openai/v1/audio/transcriptions",
        "POST /openai/v1/audio/translations",
    }
    assert with_file == uploads

    # The service is still well: healthy, and a normal small request still works.
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok", health.text
    model = known["models"][0]
    resp = client.post(
        "/openai/v1/audio/transcriptions",
        files={"file": ("short.wav", (SAMPLES / "short.wav").read_bytes())},
        data={"model": model, "language": "en"},
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["text"].strip()
