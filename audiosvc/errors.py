"""One exception hierarchy for the whole project.

Every error a user can cause or meet derives from :class:`AudiosvcError` and carries what is
needed to render it as Groq's ``ErrorResponse`` (``{"error": {"message", "type", "code",
"param"}}``) with an HTTP status, in exactly one place: :func:`error_response`.
"""

from __future__ import annotations

from typing import Any


class AudiosvcError(Exception):
    """Base class. ``message`` is a one-line, user-facing sentence."""

    status: int = 500
    type: str = "internal_error"
    code: str = "internal_error"

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message


# --- bad input -------------------------------------------------------------------------------


class InvalidRequestError(AudiosvcError):
    """A bad option or argument (400)."""

    status = 400
    type = "invalid_request_error"
    code = "invalid_request"


class MediaError(InvalidRequestError):
    """The media could not be used."""

    code = "invalid_media"


class UnsupportedMediaError(MediaError):
    """Not audio or video at all, or no audio stream (415)."""

    status = 415
    code = "unsupported_media"


class EmptyMediaError(MediaError):
    """Empty file or zero-length audio."""

    code = "empty_media"


class CorruptMediaError(MediaError):
    """Truncated or damaged media that fails to decode."""

    code = "corrupt_media"


class TooLargeError(AudiosvcError):
    """Upload or chunk over a size limit (413)."""

    status = 413
    type = "invalid_request_error"
    code = "request_too_large"


class NotFoundError(AudiosvcError):
    status = 404
    type = "invalid_request_error"
    code = "not_found"


class ConflictError(AudiosvcError):
    """The resource is not in a state that allows this (e.g. a transcript not ready yet)."""

    status = 409
    type = "invalid_request_error"
    code = "conflict"


class QuotaExceededError(AudiosvcError):
    """A key's own budget is spent (429): requests per minute, or jobs in flight.
    ``retry_after`` and ``headers`` go into the response."""

    status = 429
    type = "rate_limit_exceeded"
    code = "rate_limit_exceeded"

    def __init__(
        self,
        message: str,
        *,
        retry_after: float,
        headers: dict[str, str] | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.headers = {"retry-after": str(max(1, round(retry_after))), **(headers or {})}


class InsufficientStorageError(AudiosvcError):
    """The data dir's disk is down to its floor (507): the upload is refused, and what was
    already accepted keeps its room."""

    status = 507
    type = "service_unavailable"
    code = "insufficient_storage"


class ServiceUnavailableError(AudiosvcError):
    """A part of the service (Redis, the queue) cannot be reached right now."""

    status = 503
    type = "service_unavailable"
    code = "service_unavailable"


class StillRunningError(AudiosvcError):
    """A synchronous request's job outlived the wait (504). The job is kept and goes on: the
    message names it, to follow at ``/v1/jobs/{id}``."""

    status = 504
    type = "timeout"
    code = "job_still_running"


class AuthenticationError(AudiosvcError):
    status = 401
    type = "invalid_request_error"
    code = "invalid_api_key"


class ModelNotAvailableError(InvalidRequestError):
    """A model name that no configured engine can serve."""

    code = "model_not_found"


# --- providers ---------------------------------------------------------------------------------


class ProviderError(AudiosvcError):
    """The speech provider failed. ``retryable`` tells callers whether trying later may help."""

    status = 502
    type = "provider_error"
    code = "provider_error"
    retryable = False

    def __init__(
        self,
        message: str,
        *,
        provider_status: int | None = None,
        retry_after: float | None = None,
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message, param=param, code=code)
        self.provider_status = provider_status
        self.retry_after = retry_after


class ProviderAuthError(ProviderError):
    """The provider rejected our key (its 401/403). Our own status stays 502: the *user's*
    request was fine, the service's configuration is not."""

    code = "provider_auth_failed"


class ProviderRequestTooLarge(ProviderError):
    code = "provider_request_too_large"


class ProviderBadRequest(ProviderError):
    code = "provider_bad_request"


class ProviderRateLimited(ProviderError):
    status = 429
    code = "rate_limit_exceeded"
    retryable = True


class ProviderUnavailable(ProviderError):
    """Timeouts, connection errors, 408/409/5xx: transient."""

    status = 503
    code = "provider_unavailable"
    retryable = True


class ProviderResponseError(ProviderError):
    """The provider answered 2xx with a body we cannot use."""

    code = "provider_bad_response"
    retryable = True


def error_body(exc: AudiosvcError) -> dict[str, Any]:
    """Groq's ``ErrorResponse`` body for ``exc``."""
    return {
        "error": {
            "message": exc.message,
            "type": exc.type,
            "code": exc.code,
            "param": exc.param,
        }
    }


def error_response(exc: BaseException) -> tuple[int, dict[str, Any]]:
    """Map any exception to ``(http_status, ErrorResponse body)``. The only such mapping."""
    if isinstance(exc, AudiosvcError):
        return exc.status, error_body(exc)
    return 500, error_body(AudiosvcError("Internal error; the failure was logged."))
