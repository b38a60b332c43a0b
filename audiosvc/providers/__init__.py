"""Speech providers: the local engine and OpenAI-compatible HTTP servers (Groq, OpenAI)."""

from __future__ import annotations

from audiosvc.providers.base import SpeechProvider
from audiosvc.settings import ProviderName, Settings


def make_provider(settings: Settings, name: ProviderName | None = None) -> SpeechProvider:
    """The provider for ``name`` (default: from settings: groq with a key, else local)."""
    chosen = name or settings.resolved_provider()
    if chosen == "local":
        from audiosvc.providers.local import LocalProvider

        return LocalProvider(settings)
    from audiosvc.providers.openai_compat import OpenAICompatProvider

    return OpenAICompatProvider.from_settings(settings, chosen)
