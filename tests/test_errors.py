"""The single mapping from exceptions to HTTP status and Groq's ErrorResponse."""

from __future__ import annotations

import pytest

from audiosvc import errors as e


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (e.InvalidRequestError("bad option", param="task"), 400, "invalid_request"),
        (e.UnsupportedMediaError("x.txt: not media", param="file"), 415, "unsupported_media"),
        (e.EmptyMediaError("x.wav: empty"), 400, "empty_media"),
        (e.CorruptMediaError("x.m4a: truncated"), 400, "corrupt_media"),
        (e.TooLargeError("too big"), 413, "request_too_large"),
        (e.NotFoundError("no job"), 404, "not_found"),
        (e.AuthenticationError("bad key"), 401, "invalid_api_key"),
        (e.ModelNotAvailableError("no model", param="model"), 400, "model_not_found"),
        (e.ProviderAuthError("groq said 401", provider_status=401), 502, "provider_auth_failed"),
        (e.ProviderRateLimited("slow down", retry_after=3), 429, "rate_limit_exceeded"),
        (e.ProviderUnavailable("timeout"), 503, "provider_unavailable"),
        (e.ProviderBadRequest("bad", provider_status=400), 502, "provider_bad_request"),
    ],
)
def test_error_response_shape(exc: e.AudiosvcError, status: int, code: str) -> None:
    got_status, body = e.error_response(exc)
    assert got_status == status
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "code", "param"}
    assert body["error"]["message"] == exc.message
    assert body["error"]["code"] == code
    assert body["error"]["param"] == exc.param


def test_unexpected_errors_do_not_leak_details() -> None:
    status, body = e.error_response(RuntimeError("password=hunter2 in /etc/secret"))
    assert status == 500
    assert "hunter2" not in body["error"]["message"]


def test_retryable_flags() -> None:
    assert e.ProviderRateLimited("x").retryable and e.ProviderUnavailable("x").retryable
    assert not e.ProviderAuthError("x").retryable and not e.ProviderBadRequest("x").retryable
