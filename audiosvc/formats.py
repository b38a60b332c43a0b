"""Response formats: a :class:`Transcript` rendered as Groq/OpenAI render it.

``json`` and ``verbose_json`` are JSON bodies; ``text`` is the plain text; ``srt`` and ``vtt``
are subtitle files whose cues come from :func:`audiosvc.subtitles.build_cues`;
``diarized_json`` is OpenAI's body for ``gpt-4o-transcribe-diarize`` (segments with speakers).

A diarized transcript (one with speakers) shows them in every format: ``text`` has a
paragraph per turn (``A: …``), SubRip cues start with the label, WebVTT cues are voice spans
(``<v A>…``), and the JSON formats carry ``speaker`` on segments (and words).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from typing import Final, Literal, get_args

from audiosvc.errors import InvalidRequestError
from audiosvc.languages import language_name
from audiosvc.subtitles import Cue, SubtitleLimits, build_cues, format_timestamp
from audiosvc.transcript import Transcript

OutputFormat = Literal["json", "text", "verbose_json", "srt", "vtt", "diarized_json"]

FORMATS: Final[tuple[OutputFormat, ...]] = get_args(OutputFormat)

CONTENT_TYPES: Final[dict[OutputFormat, str]] = {
    "json": "application/json",
    "text": "text/plain; charset=utf-8",
    "verbose_json": "application/json",
    "srt": "application/x-subrip; charset=utf-8",
    "vtt": "text/vtt; charset=utf-8",
    "diarized_json": "application/json",
}

# File name extensions, without the dot.
EXTENSIONS: Final[dict[OutputFormat, str]] = {
    "json": "json",
    "text": "txt",
    "verbose_json": "json",
    "srt": "srt",
    "vtt": "vtt",
    "diarized_json": "json",
}

# SubRip's label before a cue's text: "A: ".
_SRT_LABEL = ": "


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


def needs_speakers(fmt: OutputFormat) -> bool:
    """Whether ``fmt`` is about speakers, so asking for it asks for diarization."""
    return fmt == "diarized_json"


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
        if transcript.has_speakers:
            return render_turns(transcript)
        return transcript.text.rstrip("\n") + "\n"
    if fmt == "diarized_json":
        return _dumps(diarized_json(transcript))
    if fmt == "verbose_json":
        return _dumps(
            transcript.to_verbose_json(
                segments="segment" in granularities,
                words="word" in granularities,
                language_name=language_name(transcript.language),
            )
        )
    if fmt == "srt":
        return render_srt(build_cues(transcript, limits, label_width=len(_SRT_LABEL)))
    if fmt == "vtt":
        return render_vtt(build_cues(transcript, limits))
    raise InvalidRequestError(f"Unsupported response_format {fmt!r}.", param="response_format")


def _turns(transcript: Transcript) -> list[tuple[str, str]]:
    """(speaker, text) of each turn: consecutive segments of one speaker joined."""
    turns: list[tuple[str, list[str]]] = []
    for segment in transcript.segments:
        text = segment.text.strip()
        if not text:
            continue
        speaker = segment.speaker or "?"
        if turns and turns[-1][0] == speaker:
            turns[-1][1].append(text)
        else:
            turns.append((speaker, [text]))
    return [(speaker, " ".join(parts)) for speaker, parts in turns]


def render_turns(transcript: Transcript) -> str:
    """A paragraph per turn, ``A: what A said``, paragraphs separated by a blank line."""
    return (
        "".join(f"{speaker}: {text}\n\n" for speaker, text in _turns(transcript)).rstrip("\n")
        + "\n"
    )


def diarized_json(transcript: Transcript) -> dict[str, object]:
    """OpenAI's ``TranscriptionDiarized``: a segment per turn piece, each with its speaker."""
    return {
        "task": "transcribe",
        "duration": round(transcript.duration, 3),
        "text": transcript.text,
        "segments": [
            {
                "type": "transcript.text.segment",
                "id": f"seg_{s.id:04d}",
                "start": round(s.start, 3),
                "end": round(s.end, 3),
                "text": s.text.strip(),
                "speaker": s.speaker or "A",
            }
            for s in transcript.segments
            if s.text.strip()
        ],
        "usage": {"type": "duration", "seconds": round(transcript.duration, 3)},
    }


def render_srt(cues: Iterable[Cue]) -> str:
    """SubRip: numbered cues, ``,`` before the milliseconds, a blank line after each cue; a
    diarized cue starts with its speaker's label (``A: ``)."""
    return "".join(
        f"{n}\n{_timing(cue, ',')}\n{_srt_text(cue)}\n\n" for n, cue in enumerate(cues, start=1)
    )


def _srt_text(cue: Cue) -> str:
    return cue.text if cue.speaker is None else f"{cue.speaker}{_SRT_LABEL}{cue.text}"


def render_vtt(cues: Iterable[Cue]) -> str:
    """WebVTT: the header, then cues with ``.`` before the milliseconds; a diarized cue is a
    voice span, ``<v A>text``.

    ``&``, ``<`` and ``>`` are escaped as the WebVTT spec requires (a ``<`` would start a
    tag, and ``-->`` in the text would read as a timing line).
    """
    body = "".join(f"{_timing(cue, '.')}\n{_vtt_text(cue)}\n\n" for cue in cues)
    return "WEBVTT\n\n" + body


def _vtt_text(cue: Cue) -> str:
    text = _escape_vtt(cue.text)
    return text if cue.speaker is None else f"<v {_escape_vtt(cue.speaker)}>{text}"


def _timing(cue: Cue, sep: str) -> str:
    return f"{format_timestamp(cue.start_ms, sep)} --> {format_timestamp(cue.end_ms, sep)}"


def _escape_vtt(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _dumps(body: object) -> str:
    return json.dumps(body, ensure_ascii=False)
