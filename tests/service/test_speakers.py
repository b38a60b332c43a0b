"""Speakers through the service: a diarized job in every format, renaming, the OpenAI SDK
with known speakers, and speakers for a remote provider's transcript."""

from __future__ import annotations

import base64
import io
import itertools
import json
from typing import Any

import httpx
import openai
import pytest
import srt
import webvtt
from openai.types.audio import TranscriptionDiarized

from audiosvc.media import decode
from audiosvc.settings import Settings
from tests.groq_server import GroqServer
from tests.measures import read_rttm, record, reference_turns, speaker_word_accuracy, wer
from tests.service.conftest import SAMPLES
from tests.service.harness import Api, Worker, wait_until_done

pytestmark = pytest.mark.engine

CONVERSATION = SAMPLES / "conversation.flac"
TURNS = reference_turns(SAMPLES / "conversation.txt")
SPOKEN = " ".join(text for _, text in TURNS)
RATE = 16_000
WORDS: dict[str, str | list[str]] = {"timestamp_granularities[]": ["word", "segment"]}


def _submit(client: httpx.Client, **fields: str | list[str]) -> dict[str, Any]:
    with CONVERSATION.open("rb") as f:
        resp = client.post("/v1/jobs", files={"file": (CONVERSATION.name, f)}, data=fields)
    assert resp.status_code == 202, resp.text
    return resp.json()  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def diarized(client: httpx.Client) -> dict[str, Any]:
    job = _submit(client, language="en", diarize="true", **WORDS)
    done = wait_until_done(client, job["id"])
    assert done["status"] == "succeeded", done
    return done


def _get(client: httpx.Client, job: dict[str, Any], fmt: str) -> str:
    resp = client.get(f"/v1/jobs/{job['id']}/transcript", params={"format": fmt})
    assert resp.status_code == 200, resp.text
    return resp.text


def _paragraphs(text: str) -> list[tuple[str, str]]:
    out = []
    for paragraph in text.strip().split("\n\n"):
        speaker, sep, said = paragraph.partition(": ")
        assert sep, paragraph
        out.append((speaker, said))
    return out


def test_a_diarized_job_names_its_speakers(diarized: dict[str, Any]) -> None:
    assert [s["label"] for s in diarized["speakers"]] == ["A", "B", "C"]
    assert diarized["options"]["diarize"] is True
    assert {"speakers", "transcript_diarized_json"} <= set(diarized["links"])


def test_text_is_a_paragraph_per_turn(client: httpx.Client, diarized: dict[str, Any]) -> None:
    turns = _paragraphs(_get(client, diarized, "text"))
    assert {s for s, _ in turns} == {"A", "B", "C"}
    assert all(a != b for (a, _), (b, _) in itertools.pairwise(turns))
    words = [(s, w) for s, said in turns for w in said.split()]
    assert speaker_word_accuracy(TURNS, words) >= 0.85  # measured 0.916
    assert wer(SPOKEN, " ".join(said for _, said in turns)) <= 0.08  # measured 0.014


def test_verbose_json_gives_every_segment_and_word_a_speaker(
    client: httpx.Client, diarized: dict[str, Any]
) -> None:
    body = json.loads(_get(client, diarized, "verbose_json"))
    assert body["segments"] and all(s["speaker"] in "ABC" for s in body["segments"])
    assert [s["id"] for s in body["segments"]] == list(range(len(body["segments"])))
    words = body["words"]
    assert len(words) >= 200 and all(w["speaker"] in "ABC" for w in words)


def test_subtitles_start_a_cue_at_every_change_of_speaker(
    client: httpx.Client, diarized: dict[str, Any], service_settings: Settings
) -> None:
    cues = list(srt.parse(_get(client, diarized, "srt")))
    labels = [c.content.split(": ", 1)[0] for c in cues]
    assert set(labels) == {"A", "B", "C"}
    limit = service_settings.subtitle_max_line_chars
    assert all(len(line) <= limit for c in cues for line in c.content.splitlines())
    vtt = webvtt.from_buffer(io.StringIO(_get(client, diarized, "vtt")))
    raw = [c.raw_text for c in vtt]
    assert all(t.startswith(("<v A>", "<v B>", "<v C>")) for t in raw)
    # the same words, cue for cue, with the same speakers
    assert [t[3] for t in raw] == labels
    words = [(c.content.split(": ", 1)[0], c.content.split(": ", 1)[1]) for c in cues]
    assert speaker_word_accuracy(TURNS, words) >= 0.85  # measured 0.916


def test_diarized_json_is_openais_body(client: httpx.Client, diarized: dict[str, Any]) -> None:
    body = TranscriptionDiarized.model_validate_json(_get(client, diarized, "diarized_json"))
    assert {s.speaker for s in body.segments} == {"A", "B", "C"}
    assert all(s.start <= s.end for s in body.segments)
    assert wer(SPOKEN, " ".join(s.text for s in body.segments)) <= 0.08  # measured 0.014


def test_renamed_speakers_appear_in_every_format(
    client: httpx.Client, diarized: dict[str, Any]
) -> None:
    url = f"/v1/jobs/{diarized['id']}/speakers"
    resp = client.patch(url, json={"A": "Alice", "C": "Carmen Ruiz"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["speakers"] == [
        {"label": "A", "name": "Alice"},
        {"label": "B", "name": "B"},
        {"label": "C", "name": "Carmen Ruiz"},
    ]
    assert {s for s, _ in _paragraphs(_get(client, diarized, "text"))} == {
        "Alice",
        "B",
        "Carmen Ruiz",
    }
    assert {c.content.split(": ")[0] for c in srt.parse(_get(client, diarized, "srt"))} == {
        "Alice",
        "B",
        "Carmen Ruiz",
    }
    assert "<v Carmen Ruiz>" in _get(client, diarized, "vtt")
    segments = json.loads(_get(client, diarized, "verbose_json"))["segments"]
    assert {s["speaker"] for s in segments} == {"Alice", "B", "Carmen Ruiz"}
    # null (or the label itself) takes a name back
    assert client.patch(url, json={"A": None, "C": "C"}).status_code == 200
    assert {s for s, _ in _paragraphs(_get(client, diarized, "text"))} == {"A", "B", "C"}


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"Z": "Zoe"}, "Z"),
        ({"A": "<b>Al</b>"}, "A"),
        ({"A": ""}, "A"),
        ({"A": 3}, "A"),
        ({"A": "B"}, None),  # two speakers named B
        ([], None),
        ({}, None),
    ],
)
def test_bad_renames_are_400s_and_change_nothing(
    client: httpx.Client, diarized: dict[str, Any], body: object, param: str | None
) -> None:
    resp = client.patch(f"/v1/jobs/{diarized['id']}/speakers", json=body)
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["param"] == param
    names = [s["name"] for s in client.get(f"/v1/jobs/{diarized['id']}").json()["speakers"]]
    assert names == ["A", "B", "C"]


def test_a_job_without_speakers_has_none_to_name(client: httpx.Client) -> None:
    with (SAMPLES / "short.wav").open("rb") as f:
        job = client.post("/v1/jobs", files={"file": ("short.wav", f)}, data={"language": "en"})
    done = wait_until_done(client, job.json()["id"])
    assert done["speakers"] is None and "transcript_diarized_json" not in done["links"]
    resp = client.patch(f"/v1/jobs/{done['id']}/speakers", json={"A": "Al"})
    assert resp.status_code == 400 and resp.json()["error"]["param"] == "diarize"
    resp = client.get(f"/v1/jobs/{done['id']}/transcript", params={"format": "diarized_json"})
    assert resp.status_code == 400 and resp.json()["error"]["param"] == "format"
    text = client.get(f"/v1/jobs/{done['id']}/transcript", params={"format": "text"}).text
    assert ": " not in text[:4]


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"num_speakers": "0"}, "num_speakers"),
        ({"max_speakers": "99"}, "max_speakers"),
        ({"min_speakers": "3", "max_speakers": "2"}, "options"),
        ({"num_speakers": "2", "min_speakers": "1"}, "options"),
        ({"diarize": "maybe"}, "diarize"),
        ({"diarize": "true", "task": "translate"}, "diarize"),
        ({"known_speaker_names[]": ["Al"]}, "known_speaker_references[]"),
        (
            {"known_speaker_names[]": ["Al"], "known_speaker_references[]": ["not a data url"]},
            "known_speaker_references[]",
        ),
        (
            {
                "known_speaker_names[]": ["Al"],
                "known_speaker_references[]": ["data:audio/wav;base64,bm90IGF1ZGlv"],
            },
            "known_speaker_references[]",
        ),
        ({"known_speaker_names[]": ["Al", "Al"]}, "known_speaker_names[]"),
    ],
)
def test_bad_speaker_options_are_400s(
    client: httpx.Client, fields: dict[str, str | list[str]], param: str
) -> None:
    with (SAMPLES / "short.wav").open("rb") as f:
        resp = client.post("/v1/jobs", files={"file": ("short.wav", f)}, data=fields)
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["param"] == param


def test_a_diarized_job_leaves_nothing_behind(
    client: httpx.Client, diarized: dict[str, Any], service_settings: Settings
) -> None:
    folder = service_settings.jobs_dir / diarized["id"]
    assert not (folder / "audio.pcm").exists()  # the whole file's PCM, gone once diarized
    job = _submit(client, language="en", num_speakers="3")
    assert wait_until_done(client, job["id"])["status"] == "succeeded"
    assert client.delete(f"/v1/jobs/{job['id']}").json()["deleted"] is True
    assert not (service_settings.jobs_dir / job["id"]).exists()


def _data_url(start: float, end: float) -> str:
    from audiosvc.encode import encode_audio

    pcm = decode(CONVERSATION).pcm[int(start * RATE) : int(end * RATE)]
    return "data:audio/wav;base64," + base64.b64encode(encode_audio(pcm, RATE, "wav")).decode()


def test_the_openai_sdk_names_known_speakers(api: Api, worker: Worker) -> None:
    """As with OpenAI's gpt-4o-transcribe-diarize: known speakers by name, from a short clip
    of each; the third voice gets a letter."""
    first = {}
    for start, end, speaker in read_rttm(SAMPLES / "conversation.rttm"):
        first.setdefault(speaker, (start, end))
    client = openai.OpenAI(base_url=f"{api.url}/openai/v1", api_key="unused", max_retries=0)
    with CONVERSATION.open("rb") as f:
        result = client.audio.transcriptions.create(
            file=f,
            model="gpt-4o-transcribe-diarize",
            response_format="diarized_json",
            chunking_strategy="auto",
            language="en",
            known_speaker_names=["Ben", "Cleo"],
            known_speaker_references=[_data_url(*first["B"]), _data_url(*first["C"])],
            timeout=180,
        )
    assert isinstance(result, TranscriptionDiarized)
    assert {s.speaker for s in result.segments} == {"A", "Ben", "Cleo"}
    letters = {"A": "A", "B": "Ben", "C": "Cleo"}
    reference = [(letters[s], text) for s, text in TURNS]
    words = [(s.speaker, w) for s in result.segments for w in s.text.split()]
    assert speaker_word_accuracy(reference, words) >= 0.85  # measured 0.916


def test_a_remote_providers_transcript_gets_local_speakers(
    client: httpx.Client, groq_worker: GroqServer
) -> None:
    """The words come from the provider (the test server hears one 'toneN' per sound), the
    speakers from the local models: each word goes to whoever the reference says spoke it."""
    job = _submit(client, language="en", diarize="true", **WORDS)
    done = wait_until_done(client, job["id"])
    assert done["status"] == "succeeded", done
    assert len(groq_worker.requests) >= 1
    body = json.loads(_get(client, done, "verbose_json"))
    words = body["words"]
    assert words and all(w["word"].startswith("tone") for w in words)
    reference = read_rttm(SAMPLES / "conversation.rttm")

    def truth(t: float) -> str | None:
        return next((s for a, e, s in reference if a <= t <= e), None)

    pairs = [(truth((w["start"] + w["end"]) / 2), w["speaker"]) for w in words]
    pairs = [(r, h) for r, h in pairs if r is not None]
    mapping = {"A": "A", "B": "B", "C": "C"}  # first appearance: same order as the reference
    agree = record("word_speaker_agreement", sum(mapping[r] == h for r, h in pairs) / len(pairs))
    assert agree >= 0.80  # measured 0.895
