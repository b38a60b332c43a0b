"""A reply to a transcript from an OpenAI-compatible chat-completions endpoint (Groq's
``/openai/v1/chat/completions``, OpenAI's, or any compatible server).

One attempt per call: a transient failure raises a retryable error, and the ``speak`` task
that asked reschedules itself under :mod:`audiosvc.retry`'s policy."""

from __future__ import annotations

import httpx

from audiosvc import retry
from audiosvc.errors import (
    ProviderAuthError,
    ProviderBadRequest,
    ProviderResponseError,
    ProviderUnavailable,
)
from audiosvc.settings import Settings, reveal


def chat_configured(settings: Settings) -> bool:
    return bool(settings.chat_base_url and settings.chat_model)


def reply_to(transcript: str, settings: Settings, *, timeout: float = 60.0) -> str:
    """The assistant's answer to ``transcript`` under the configured system prompt."""
    if not chat_configured(settings):
        raise ProviderBadRequest(
            "no chat endpoint is configured (AUDIOSVC_CHAT_BASE_URL, AUDIOSVC_CHAT_MODEL)"
        )
    base = (settings.chat_base_url or "").rstrip("/")
    key = reveal(settings.chat_api_key) or reveal(settings.api_key)
    body = {
        "model": settings.chat_model,
        "messages": [
            {"role": "system", "content": settings.chat_system_prompt},
            {"role": "user", "content": transcript},
        ],
    }
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        resp = httpx.post(f"{base}/chat/completions", json=body, headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        raise ProviderUnavailable(
            f"the chat endpoint is unreachable ({type(exc).__name__})"
        ) from exc
    if resp.status_code in (401, 403):
        raise ProviderAuthError(
            f"the chat endpoint rejected the key ({resp.status_code})",
            provider_status=resp.status_code,
        )
    if retry.retryable_status(resp.status_code):
        raise ProviderUnavailable(
            f"the chat endpoint failed ({resp.status_code})",
            provider_status=resp.status_code,
            retry_after=retry.retry_after(resp.headers),
        )
    if resp.status_code >= 400:
        raise ProviderBadRequest(
            f"the chat endpoint refused the request ({resp.status_code}): {resp.text[:200]}",
            provider_status=resp.status_code,
        )
    try:
        content = resp.json()["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise ProviderResponseError("the chat endpoint sent no reply text") from exc
    if not isinstance(content, str) or not content.strip():
        raise ProviderResponseError("the chat endpoint sent an empty reply")
    return content.strip()
