"""Settings: validated when they load, and keys never shown."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from audiosvc.settings import Settings, reveal


def test_keys_are_secret_everywhere_but_where_they_are_used() -> None:
    s = Settings(
        api_key="gsk_secret1",
        openai_api_key="sk_secret2",
        chat_api_key="secret3",
        webhook_secret="whsec_secret4",
        api_keys="k_secret5,k_secret6",
    )
    shown = repr(s) + str(s) + s.model_dump_json()
    assert "secret" not in shown.replace("webhook_secret", "")
    assert reveal(s.api_key) == "gsk_secret1" and s.resolved_provider() == "groq"
    assert s.api_key_list() == ["k_secret5", "k_secret6"]


def test_a_bad_chunking_setting_fails_when_the_settings_load() -> None:
    with pytest.raises(ValidationError, match="AUDIOSVC_OVERLAP_SECONDS"):
        Settings(overlap_seconds=20)


@pytest.mark.parametrize("value", [",", " , ,", "   "])
def test_api_keys_that_name_no_key_fail_to_load(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """They ran the service with no auth at all, silently."""
    monkeypatch.setenv("AUDIOSVC_API_KEYS", value)
    with pytest.raises(ValidationError, match="AUDIOSVC_API_KEYS: set but names no key"):
        Settings()
