"""Response formats: a :class:`Transcript` rendered as Groq/OpenAI render it.

``json`` and ``verbose_json`` are JSON bodies; ``text`` is the plain text; ``srt`` and ``vtt``
are subtitle files whose cues come from :func:`audiosvc.subtitles.build_cues`.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from typing import Final, Literal, get_args

from audiosvc.errors import InvalidRequestError
from audiosvc.languages import language_name
from audiosvc.subtitles import Cue, SubtitleLimits, build_cues, format_timestamp
from audiosvc.transcript import Transcript

OutputFormat = Literal["json", "text", "verbose_json", "srt", "vtt"]

FORMATS: Final[tuple[OutputFormat, ...]] = get_args(OutputFormat)

CONTENT_TYPES: Final[dict[OutputFormat, str]] = {
    "json": "application/json",
    "text": "text/plain; charset=utf-8",
    "verbose_json": "application/json",
    "srt": "application/x-subrip; charset=utf-8",
    "vtt": "text/vtt; charset=utf-8",
}

# File name extensions, without the dot.
EXTENSIONS: Final[dict[OutputFormat, str]] = {
    "json": "json",
    "text": "txt",
    "verbose_json": "json",
    "srt": "srt",
    "vtt": "vtt",
}


def parse_format(value: str) -> OutputFormat:
    """The format named by ``value`` (case and surrounding spaces ignored).

    Raises :class:`InvalidRequestError` (``param="response_format"``) naming the valid formats.
    """
    key = value.strip().lower()
    for fmt in FORMATS:
        if fmt == key:
            return fmt
    raise InvalidRequestError(
        f"Invalid response_format {value!r}; expected one of: {', '.join(FORMATS)}.",
        param="response_format",
    )


def needs_words(fmt: OutputFormat, granularities: Collection[str] = ("segment",)) -> bool:
    """Whether rendering ``fmt`` uses word times: subtitles are cut at words, and
    ``verbose_json`` lists them when ``"word"`` is among the granularities. Only then does the
    engine align words (they never change the text, but they cost time)."""
    return fmt in ("srt", "vtt") or (fmt == "verbose_json" and "word" in granularities)


def render(
    transcript: Transcript,
    fmt: OutputFormat,
    *,
    limits: SubtitleLimits | None = None,
    granularities: Collection[str] = ("segment",),
) -> str:
    """The response body of ``transcript`` in ``fmt``.

    ``granularities`` (``timestamp_granularities[]``) only matters for ``verbose_json``:
    it holds ``"segment"`` and/or ``"word"``. ``limits`` only matters for subtitles; without
    it the default :class:`SubtitleLimits` apply.
    """
    if fmt == "json":
        return _dumps({"text": transcript.text})
    if fmt == "text":
        return transcript.text.rstrip("\n") + "\n"
    if fmt == "verbose_json":
        return _dumps(
            transcript.to_verbose_json(
                segments="segment" in granularities,
                words="word" in granularities,
                language_name=language_name(transcript.language),
            )
        )
    if fmt == "srt":
        return render_srt(build_cues(transcript, limits))
    if fmt == "vtt":
        return render_vtt(build_cues(transcript, limits))
    raise InvalidRequestError(f"Unsupported response_format {fmt!r}.", param="response_format")


def render_srt(cues: Iterable[Cue]) -> str:
    """SubRip: numbered cues, ``,`` before the milliseconds, a blank line after each cue."""
    return "".join(
        f"{n}\n{_timing(cue, ',')}\n{cue.text}\n\n" for n, cue in enumerate(cues, start=1)
    )


def render_vtt(cues: Iterable[Cue]) -> str:
    """WebVTT: the header, then cues with ``.`` before the milliseconds.

    ``&``, ``<`` and ``>`` are escaped as the WebVTT spec requires (a ``<`` would start a
    tag, and ``-->`` in the text would read as a timing line).
    """
    body = "".join(f"{_timing(cue, '.')}\n{_escape_vtt(cue.text)}\n\n" for cue in cues)
    return "WEBVTT\n\n" + body


def _timing(cue: Cue, sep: str) -> str:
    return f"{format_timestamp(cue.start_ms, sep)} --> {format_timestamp(cue.end_ms, sep)}"


def _escape_vtt(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _dumps(body: object) -> str:
    return json.dumps(body, ensure_ascii=False)
