"""Jobs through a remote provider (the Groq-compatible test server): rate limits retried with
the countdown from retry-after, permanent errors failing the job with the provider's message."""

from __future__ import annotations

import httpx

from tests.groq_server import Fault, GroqServer
from tests.service.conftest import SAMPLES
from tests.service.harness import grew, scrape, wait_until_done


def _submit(client: httpx.Client) -> str:
    with (SAMPLES / "short.wav").open("rb") as f:
        resp = client.post("/v1/jobs", files={"file": ("short.wav", f)}, data={"language": "en"})
    assert resp.status_code == 202, resp.text
    return str(resp.json()["id"])


def test_rate_limits_are_retried_after_retry_after(
    client: httpx.Client, groq_worker: GroqServer
) -> None:
    groq_worker.fail_next(
        Fault.error(429, "Rate limit reached", retry_after=1.0), Fault.error(503, "over capacity")
    )
    before = scrape(client)
    final = wait_until_done(client, _submit(client))
    assert final["status"] == "succeeded", final
    after = scrape(client)
    for status in ("429", "503", "200"):
        assert grew(
            before, after, "audiosvc_provider_requests_total", provider="groq", status=status
        )
    assert grew(before, after, "audiosvc_retries_total", call="chunk") == 2
    uploads = [r for r in groq_worker.requests if r.path.endswith("/audio/transcriptions")]
    assert len(uploads) == 3
    assert uploads[1].received_at - uploads[0].received_at >= 1.0  # waited as told
    words = client.get(
        f"/v1/jobs/{final['id']}/transcript", params={"format": "verbose_json"}
    ).json()
    assert words["text"]


def test_a_rejected_key_fails_the_job_with_the_providers_message(
    client: httpx.Client, groq_worker: GroqServer
) -> None:
    groq_worker.fail_next(Fault.error(401, "Invalid API Key"))
    final = wait_until_done(client, _submit(client))
    assert final["status"] == "failed"
    assert final["error"]["code"] == "provider_auth_failed"
    assert "Invalid API Key" in final["error"]["message"]
    assert len(groq_worker.requests) == 1  # never retried


def test_a_malformed_200_is_retried_and_then_fails_the_job_clearly(
    client: httpx.Client, groq_worker: GroqServer
) -> None:
    """A provider that answers 200 with a body cut off: tried again (once in-process, then by
    the chunk's own retries), and when it never gets better the job fails with a clear
    error, the service answering throughout."""
    groq_worker.fail_next(Fault.malformed())  # once: the retry gets a good answer
    final = wait_until_done(client, _submit(client))
    assert final["status"] == "succeeded", final
    assert len(groq_worker.requests) == 2

    groq_worker.fail_next(*[Fault.malformed()] * 100)  # never better
    final = wait_until_done(client, _submit(client), timeout=300)
    assert final["status"] == "failed"
    assert final["error"]["code"] == "provider_bad_response"
    assert "not JSON" in final["error"]["message"]
    assert client.get("/healthz").status_code == 200
