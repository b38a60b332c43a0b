"""File names that come from outside (an upload's form field, a URL's Content-Disposition or
path) and the Content-Disposition header that gives one back.

A name is only ever shown, never used as a path: the service stores files under its own
names. Still it must be safe to show and to put in a header: :func:`clean_name` keeps the
last path component, drops control characters (NUL, CR, LF, ...), and caps the length;
:func:`attachment` writes RFC 6266's two forms, an ASCII ``filename=`` with nothing that could
end the quoted string, and the whole name percent-encoded in ``filename*=UTF-8''``, so any
script (Japanese, Cyrillic, accented Latin) reaches the user intact.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

MAX_NAME_CHARS = 255


def clean_name(name: str | None) -> str | None:
    """A displayable file name from an untrusted one; None when nothing is left."""
    if not name:
        return None
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    kept = "".join(
        ch for ch in name if unicodedata.category(ch)[0] != "C"
    )  # control, format, surrogate, private-use, unassigned
    kept = " ".join(kept.split())[:MAX_NAME_CHARS].strip()
    return kept if kept not in ("", ".", "..") else None


def attachment(filename: str) -> str:
    """``Content-Disposition: attachment`` for ``filename`` (cleaned first)."""
    name = clean_name(filename) or "download"
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    fallback = "".join("_" if ch in '"\\%;' else ch for ch in ascii_name).strip()
    if not fallback or fallback.startswith("."):  # a stem in another script: keep the suffix
        fallback = "download" + fallback
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


MAX_SPEAKER_NAME_CHARS = 64


def clean_speaker_name(name: str) -> str:
    """A name as it will be printed: one line, no markup characters, not empty. Raises
    ValueError for names that cannot be."""
    text = " ".join(name.split())
    if not text:
        raise ValueError("a speaker name must not be empty")
    if len(text) > MAX_SPEAKER_NAME_CHARS:
        raise ValueError(f"a speaker name has at most {MAX_SPEAKER_NAME_CHARS} characters")
    if any(ch in "<>&" or not ch.isprintable() for ch in text):
        raise ValueError("a speaker name must not hold <, >, & or control characters")
    return text
