"""GET /metrics: what the workers and the API recorded, through the shared Redis, in
Prometheus' text format, and the lanes' queue depth."""

from __future__ import annotations

import httpx
import pytest

from tests.service.conftest import SAMPLES
from tests.service.harness import grew, scrape, wait_until_done


def test_a_job_shows_in_the_metrics(client: httpx.Client) -> None:
    before = scrape(client)
    with (SAMPLES / "short.wav").open("rb") as f:
        resp = client.post("/v1/jobs", files={"file": ("short.wav", f)}, data={"language": "en"})
    final = wait_until_done(client, resp.json()["id"])
    assert final["status"] == "succeeded", final
    after = scrape(client)

    assert grew(before, after, "audiosvc_jobs_total", status="queued") == 1
    assert grew(before, after, "audiosvc_jobs_total", status="succeeded") == 1
    assert grew(before, after, "audiosvc_job_seconds_count", status="succeeded") == 1
    lane = {"lane": "interactive", "provider": "local"}  # a 10 s clip takes the fast lane
    assert (
        grew(before, after, "audiosvc_chunk_seconds_count", **lane)
        == final["progress"]["chunks_total"]
    )
    assert grew(before, after, "audiosvc_chunk_seconds_bucket", le="+Inf", **lane) == 1
    assert 0 < grew(before, after, "audiosvc_chunk_seconds_sum", **lane) < 120
    # Each second of audio once, however the chunks overlap.
    assert grew(before, after, "audiosvc_audio_seconds_total", task="transcribe") == (
        pytest.approx(final["duration"], abs=0.01)
    )
    assert grew(before, after, "audiosvc_provider_requests_total", provider="local", status="ok")
    for lane_name in ("interactive", "batch", "io"):
        assert (("audiosvc_queue_depth", (("lane", lane_name),))) in after
