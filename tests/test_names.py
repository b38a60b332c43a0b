"""Names from outside, cleaned for display, and given back in a Content-Disposition that any
client decodes to the same name."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from audiosvc.names import attachment, clean_name

# The whole header: one quoted ASCII filename (nothing in it can end the quotes early), then
# one RFC 5987 filename* of percent-encoded UTF-8, which RFC 6266 clients prefer.
HEADER = re.compile(
    r"""attachment; filename="([^"\\\x00-\x1f]*)"; filename\*=UTF-8''([\w%.~-]*)""", re.A
)


def parsed(header: str) -> str:
    m = HEADER.fullmatch(header)
    assert m, header
    return unquote(m.group(2), errors="strict")


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("会議の録音.srt", "会議の録音.srt"),
        ("Встреча.srt", "Встреча.srt"),
        ("réunion d'équipe.vtt", "réunion d'équipe.vtt"),
        ("a\x00b\nc\r.txt", "abc.txt"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\call.wav", "call.wav"),
        ("x\"; filename*=UTF-8''evil.sh; x=\".srt", "x\"; filename*=UTF-8''evil.sh; x=\".srt"),
    ],
)
def test_any_name_comes_back_whole_and_alone(raw: str, shown: str) -> None:
    header = attachment(raw)
    assert header.isascii() and not any(ch in header for ch in "\r\n\x00")
    assert parsed(header) == shown
    # One filename of each kind, whatever the name says (the name is inside them).


def test_nothing_left_is_no_name() -> None:
    assert clean_name("\x00\n") is None and clean_name("..") is None and clean_name("") is None
    assert clean_name("x" * 1000) == "x" * 255


@given(st.text())
def test_every_name_gives_a_valid_header(raw: str) -> None:
    header = attachment(raw)
    assert header.isascii() and header.startswith('attachment; filename="')
    assert parsed(header) == (clean_name(raw) or "download")
