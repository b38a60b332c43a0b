"""Live transcription over WebSocket (/openai/v1/realtime), driven by the official openai
SDK's realtime client against the session's API over uvicorn, with the local engine.

Audio is appended as fast as the socket takes it: the server's VAD works on the audio's own
time, so turns and transcripts are the same as at real-time pace (the benchmark streams at
real-time pace to measure latency)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from openai import OpenAI
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from audiosvc.media import decode
from audiosvc.realtime.audio import from_engine_rate
from audiosvc.settings import Settings
from tests.groq_server import DEFAULT_API_KEY, GroqServer
from tests.measures import reference_turns, wer
from tests.service.harness import Api

pytestmark = pytest.mark.engine

SAMPLES = Path(__file__).resolve().parent.parent.parent / "samples"
SHORT = (SAMPLES / "short.txt").read_text()


def _audio(fmt: str, name: str = "short.wav", silence: float = 1.5) -> bytes:
    pcm = decode(SAMPLES / name).pcm
    pcm = np.concatenate([pcm, np.zeros(int(16000 * silence), np.int16)])
    return from_engine_rate(pcm, fmt)


def _session(fmt: str = "audio/pcm", turn_detection: Any = "default") -> dict[str, Any]:
    audio_in: dict[str, Any] = {
        "format": {"type": fmt, "rate": 24000} if fmt == "audio/pcm" else {"type": fmt},
        "transcription": {"model": "whisper-1", "language": "en"},
    }
    if turn_detection != "default":
        audio_in["turn_detection"] = turn_detection
    return {"type": "transcription", "audio": {"input": audio_in}}


@pytest.fixture
def sdk(api: Api) -> Iterator[OpenAI]:
    with OpenAI(api_key="unused", base_url=f"{api.url}/openai/v1") as client:
        yield client


def _append_all(conn: Any, data: bytes, step: int) -> None:
    for i in range(0, len(data), step):
        conn.input_audio_buffer.append(audio=base64.b64encode(data[i : i + step]).decode())


def _until_transcribed(conn: Any) -> list[Any]:
    """Events until every turn of the audio sent has its final transcript. A clear sent
    after the audio marks its end: events come in order, so every turn of the audio has
    been committed once ``cleared`` arrives."""
    conn.input_audio_buffer.clear()
    seen: list[Any] = []
    committed = finished = 0
    cleared = False
    for ev in conn:
        seen.append(ev)
        if ev.type == "input_audio_buffer.committed":
            committed += 1
        elif ev.type == "input_audio_buffer.cleared":
            cleared = True
        elif ev.type.startswith("conversation.item.input_audio_transcription.") and (
            ev.type.endswith((".completed", ".failed"))
        ):
            finished += 1
        elif ev.type == "error":
            raise AssertionError(ev.error.message)
        if cleared and finished == committed:
            break
    return seen


def _check_turns(events: list[Any]) -> str:
    """Each turn's events come in the protocol's order; its deltas add up to the start of
    its final transcript. Returns the turns' transcripts joined."""
    order: dict[str, list[str]] = {}
    deltas: dict[str, str] = {}
    finals: list[str] = []
    for ev in events:
        item = getattr(ev, "item_id", None)
        if item:
            order.setdefault(item, []).append(ev.type.rsplit(".", 1)[-1])
        if ev.type.endswith("transcription.delta"):
            deltas[item] = deltas.get(item, "") + ev.delta
        if ev.type.endswith("transcription.completed"):
            finals.append(ev.transcript)
            assert ev.usage.type == "duration" and ev.usage.seconds > 0
            assert ev.transcript.split()[: len(deltas.get(item, "").split())] == deltas.get(
                item, ""
            ).split() or not deltas.get(item)
    for item, steps in order.items():
        named = [s for s in steps if s != "delta"]
        assert named[:2] == ["speech_started", "speech_stopped"] or named[0] == "committed"
        assert named[-1] == "completed", (item, steps)
    return " ".join(finals)


def test_the_openai_sdk_transcribes_a_stream_live(sdk: OpenAI) -> None:
    with sdk.realtime.connect(extra_query={"intent": "transcription"}) as conn:
        first = conn.recv()
        assert first.type == "session.created"
        assert first.session.type == "transcription"
        conn.session.update(session=_session())
        assert conn.recv().type == "session.updated"
        _append_all(conn, _audio("audio/pcm"), 4800)  # 100 ms a frame
        events = _until_transcribed(conn)
    text = _check_turns(events)
    assert wer(SHORT, text) <= 0.10  # measured 0.0
    partials = [e for e in events if e.type.endswith("transcription.delta")]
    assert partials  # words came while the turn was still being spoken
    stops = [e for e in events if e.type == "input_audio_buffer.speech_stopped"]
    assert stops and all(e.audio_end_ms > 0 for e in stops)


@pytest.mark.parametrize("fmt", ["audio/pcmu", "audio/pcma"])
def test_telephone_audio_is_transcribed(sdk: OpenAI, fmt: str) -> None:
    with sdk.realtime.connect(extra_query={"intent": "transcription"}) as conn:
        conn.session.update(session=_session(fmt))
        _append_all(conn, _audio(fmt), 1600)  # 200 ms a frame at 8 kHz
        events = _until_transcribed(conn)
    assert wer(SHORT, _check_turns(events)) <= 0.15  # measured 0.0 (both)


def test_without_turn_detection_the_client_commits(sdk: OpenAI) -> None:
    with sdk.realtime.connect(extra_query={"intent": "transcription"}) as conn:
        conn.session.update(session=_session(turn_detection=None))
        _append_all(conn, _audio("audio/pcm"), 48000)
        conn.input_audio_buffer.commit()
        events = _until_transcribed(conn)
    assert not [e for e in events if e.type.startswith("input_audio_buffer.speech")]
    assert wer(SHORT, _check_turns(events)) <= 0.10  # measured 0.0


def _raw(api: Api, **kwargs: Any) -> Any:
    return connect(f"ws://127.0.0.1:{api.port}/openai/v1/realtime?intent=transcription", **kwargs)


def _next(ws: Any, kind: str) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = json.loads(ws.recv(timeout=60))
        if message["type"] == kind:
            return message


BAD_EVENTS = [
    ("not json", "invalid_json", None),
    (json.dumps(["a", "list"]), "invalid_value", "type"),
    (json.dumps({"type": "no.such.event", "event_id": "evt_1"}), "unknown_event", "type"),
    (json.dumps({"type": "input_audio_buffer.append", "audio": "%%%"}), "invalid_value", "audio"),
    (json.dumps({"type": "input_audio_buffer.append", "audio": "AA=="}), "invalid_value", "audio"),
    (json.dumps({"type": "input_audio_buffer.append", "audio": 5}), "invalid_value", "audio"),
    (json.dumps({"type": "input_audio_buffer.commit"}), "input_audio_buffer_commit_empty", None),
    (
        json.dumps({"type": "session.update", "session": {"type": "realtime"}}),
        "invalid_value",
        "session.type",
    ),
    (
        json.dumps(
            {
                "type": "session.update",
                "session": {"audio": {"input": {"format": {"type": "audio/mp3"}}}},
            }
        ),
        "invalid_value",
        "session.audio.input.format.type",
    ),
    (
        json.dumps(
            {
                "type": "session.update",
                "session": {"audio": {"input": {"transcription": {"language": "klingon"}}}},
            }
        ),
        "invalid_value",
        "session.audio.input.transcription.language",
    ),
    (
        '{"type": "input_audio_buffer.append", "audio": "' + "A" * 2_000_000 + '"}',
        "event_too_large",
        None,
    ),
]


def test_bad_events_get_errors_and_the_session_goes_on(api: Api) -> None:
    with _raw(api, max_size=None) as ws:
        _next(ws, "session.created")
        for frame, code, param in BAD_EVENTS:
            ws.send(frame)
            error = _next(ws, "error")["error"]
            assert (error["code"], error["param"]) == (code, param), (frame[:80], error)
            assert error["message"]
            if '"evt_1"' in frame:
                assert error["event_id"] == "evt_1"  # the client's event it answers
        # Still a working session: a turn is transcribed.
        data = _audio("audio/pcm")
        for i in range(0, len(data), 48000):
            chunk = base64.b64encode(data[i : i + 48000]).decode()
            ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": chunk}))
        done = _next(ws, "conversation.item.input_audio_transcription.completed")
        assert done["transcript"]


@pytest.fixture
def tight(service_settings: Settings) -> Iterator[Api]:
    """An API that holds one live session at a time and closes one idle for 1.5 s."""
    server = Api(
        service_settings.model_copy(
            update={"realtime_max_sessions": 1, "realtime_idle_seconds": 1.5}
        )
    ).start()
    yield server
    server.stop()


def test_a_session_over_the_limit_is_refused_and_an_idle_one_closed(tight: Api) -> None:
    with _raw(tight) as first:
        _next(first, "session.created")
        with _raw(tight) as second:
            error = _next(second, "error")["error"]
            assert error["code"] == "session_limit_reached"
            with pytest.raises(Exception) as closed:
                second.recv(timeout=10)
            assert "1013" in str(closed.value)
        error = _next(first, "error")["error"]  # then nothing for 1.5 s
        assert error["code"] == "idle_timeout"
        with pytest.raises(Exception) as closed:
            first.recv(timeout=10)
        assert "1000" in str(closed.value) and "idle" in str(closed.value)
    with _raw(tight) as again:  # the slot is free again
        _next(again, "session.created")


@pytest.fixture
def keyed(service_settings: Settings) -> Iterator[Api]:
    server = Api(service_settings.model_copy(update={"api_keys": "sk-live"})).start()
    yield server
    server.stop()


def test_keys_come_as_a_header_or_as_a_browsers_subprotocol(keyed: Api) -> None:
    with pytest.raises(InvalidStatus) as refused:
        _raw(keyed).__enter__()
    assert refused.value.response.status_code == 403
    with pytest.raises(InvalidStatus):
        _raw(keyed, additional_headers={"Authorization": "Bearer sk-wrong"}).__enter__()
    with _raw(keyed, additional_headers={"Authorization": "Bearer sk-live"}) as ws:
        _next(ws, "session.created")
        assert ws.subprotocol is None  # none offered, none chosen
    browser = ["realtime", "openai-insecure-api-key.sk-live", "openai-beta.realtime-v1"]
    with _raw(keyed, subprotocols=browser) as ws:  # type: ignore[arg-type]
        _next(ws, "session.created")
        assert ws.subprotocol == "realtime"  # never the key
    client = OpenAI(api_key="sk-live", base_url=f"{keyed.url}/openai/v1")
    with client.realtime.connect(extra_query={"intent": "transcription"}) as conn:
        assert conn.recv().type == "session.created"


def test_a_client_that_leaves_mid_turn_frees_its_session(tight: Api) -> None:
    with _raw(tight) as ws:
        _next(ws, "session.created")
        data = _audio("audio/pcm", silence=0)[: 24000 * 2 * 3]  # 3 s, still speaking
        ws.send(json.dumps({"type": "input_audio_buffer.append",
                            "audio": base64.b64encode(data).decode()}))  # fmt: skip
        _next(ws, "input_audio_buffer.speech_started")
    # Gone mid-turn: the one slot is free at once for the next session.
    with _raw(tight) as again:
        _next(again, "session.created")
    assert httpx.get(f"{tight.url}/healthz").status_code in (200, 503)


def test_with_a_remote_provider_each_turn_is_one_request(service_settings: Settings) -> None:
    """Groq has no streaming input: a turn is sent when it ends, and no partial decodes are
    sent at all (each would be a request, and a bill)."""
    with GroqServer() as groq:
        remote = Api(
            service_settings.model_copy(
                update={
                    "provider": "groq",
                    "base_url": groq.url,
                    "api_key": DEFAULT_API_KEY,
                    "max_retries": 0,
                }
            )
        ).start()
        try:
            client = OpenAI(api_key="unused", base_url=f"{remote.url}/openai/v1")
            with client.realtime.connect(extra_query={"intent": "transcription"}) as conn:
                conn.session.update(session=_session())
                _append_all(conn, _audio("audio/pcm"), 4800)
                events = _until_transcribed(conn)
        finally:
            remote.stop()
        turns = [e for e in events if e.type == "input_audio_buffer.committed"]
        finals = [e for e in events if e.type.endswith("transcription.completed")]
        assert len(finals) == len(turns) >= 1
        assert all(f.transcript.startswith("tone") for f in finals)  # the stand-in's words
        deltas = [e for e in events if e.type.endswith("transcription.delta")]
        assert len(deltas) <= len(turns)  # only each final's own text, no partials
        uploads = [r for r in groq.requests if r.path.endswith("/audio/transcriptions")]
        assert len(uploads) == len(turns)


def _bot_session(fmt: str = "audio/pcm") -> dict[str, Any]:
    shape = {"type": fmt, "rate": 24000} if fmt == "audio/pcm" else {"type": fmt}
    return {
        "type": "realtime",
        "audio": {
            "input": {"format": {"type": "audio/pcm", "rate": 24000},
                      "transcription": {"language": "en"}},
            "output": {"format": shape},
        },
    }  # fmt: skip


def _until(conn: Any, kind: str, seen: list[Any]) -> Any:
    for ev in conn:
        seen.append(ev)
        if ev.type == "error":
            raise AssertionError(ev.error.message)
        if ev.type == kind:
            return ev
    raise AssertionError(f"the session ended before {kind}")


def test_a_voice_bot_answers_each_turn_in_speech(sdk: OpenAI) -> None:
    """The session's chat endpoint (the test server: 'You said: ...') answers the turn; the
    answer's text comes with its audio, which the engine hears as that text."""
    seen: list[Any] = []
    with sdk.realtime.connect(model="audiosvc-voice") as conn:
        assert conn.recv().session.type == "realtime"
        conn.session.update(session=_bot_session())
        words = decode(SAMPLES / "short.wav").pcm[: 16000 * 4]  # one turn: 4 s, then quiet
        data = from_engine_rate(np.concatenate([words, np.zeros(16000, np.int16)]), "audio/pcm")
        _append_all(conn, data, 4800)
        heard = _until(conn, "conversation.item.input_audio_transcription.completed", seen)
        done = _until(conn, "response.done", seen)
    assert done.response.status == "completed"
    kinds = [e.type for e in seen]
    first = kinds.index("response.created")
    assert kinds[first:].index("response.output_audio.delta") > kinds[first:].index(
        "response.content_part.added"
    )
    said = next(e for e in seen if e.type == "response.output_audio_transcript.done").transcript
    assert said.startswith("You said:") and heard.transcript.split()[0] in said
    pcm24 = b"".join(base64.b64decode(e.delta) for e in seen if e.type.endswith("audio.delta"))
    spoken = np.frombuffer(pcm24, "<i2")
    from audiosvc.realtime.audio import to_engine_rate
    from audiosvc.realtime.engine import transcribe_turn

    settings = Settings(api_key=None, cpu_threads=2, redis_url="redis://unused")
    heard_back = transcribe_turn(to_engine_rate(spoken, 24000), settings, "en", None)
    assert wer(said, heard_back) <= 0.3  # measured 0.0
    assert done.response.output[0].content[0].transcript == said


def test_speaking_over_the_bot_stops_its_answer(sdk: OpenAI) -> None:
    seen: list[Any] = []
    with sdk.realtime.connect(model="audiosvc-voice") as conn:
        conn.session.update(session=_bot_session())
        pcm = decode(SAMPLES / "short.wav").pcm
        turn = np.concatenate([pcm[: 16000 * 4], np.zeros(16000, np.int16)])
        _append_all(conn, from_engine_rate(turn, "audio/pcm"), 4800)
        _until(conn, "response.output_audio.delta", seen)  # the bot has started to speak
        _append_all(conn, from_engine_rate(pcm[16000 * 4 : 16000 * 7], "audio/pcm"), 4800)
        done = _until(conn, "response.done", seen)
    assert done.response.status == "cancelled"
    assert done.response.status_details.reason == "turn_detected"
    kinds = [e.type for e in seen]
    barge = kinds.index("input_audio_buffer.speech_started", kinds.index("response.created"))
    # Nothing more of the answer after the user spoke: only its closing events.
    after = kinds[barge + 1 :]
    assert "response.output_audio.delta" not in after
    assert after[-1] == "response.done"


def test_a_client_cancels_an_answer_and_truncates_what_it_played(api: Api) -> None:
    with _raw(api) as ws:
        ws.close()  # (a transcription session cannot answer: checked below)
    with connect(f"ws://127.0.0.1:{api.port}/openai/v1/realtime?model=x") as ws:
        _next(ws, "session.created")
        ws.send(json.dumps({"type": "session.update", "session": _bot_session()}))
        ws.send(json.dumps({"type": "response.cancel"}))
        assert _next(ws, "error")["error"]["code"] == "response_cancel_not_active"
        ws.send(json.dumps({"type": "response.create"}))
        assert _next(ws, "error")["error"]["code"] == "nothing_to_answer"
        data = from_engine_rate(
            np.concatenate([decode(SAMPLES / "short.wav").pcm[: 16000 * 4],
                            np.zeros(16000, np.int16)]), "audio/pcm")  # fmt: skip
        for i in range(0, len(data), 48000):
            chunk = base64.b64encode(data[i : i + 48000]).decode()
            ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": chunk}))
        delta = _next(ws, "response.output_audio.delta")
        ws.send(json.dumps({"type": "response.create"}))
        assert _next(ws, "error")["error"]["code"] == "conversation_already_has_active_response"
        ws.send(json.dumps({"type": "response.cancel"}))
        done = _next(ws, "response.done")["response"]
        assert done["status"] == "cancelled"
        assert done["status_details"]["reason"] == "client_cancelled"
        item = delta["item_id"]
        ws.send(json.dumps({"type": "conversation.item.truncate", "item_id": item,
                            "content_index": 0, "audio_end_ms": 100}))  # fmt: skip
        assert _next(ws, "conversation.item.truncated")["audio_end_ms"] == 100
        ws.send(json.dumps({"type": "conversation.item.truncate", "item_id": item,
                            "content_index": 0, "audio_end_ms": 10**7}))  # fmt: skip
        assert _next(ws, "error")["error"]["param"] == "audio_end_ms"
    with _raw(api) as ws:
        _next(ws, "session.created")
        ws.send(json.dumps({"type": "response.create"}))
        assert _next(ws, "error")["error"]["code"] == "unsupported_in_transcription_session"


def test_a_conversation_streamed_live_reads_as_it_does_offline(sdk: OpenAI) -> None:
    """Seventeen turns, some of a second or less: short turns once made the fitted decode
    loop ("Great. Thank you all. Great. Thank you all...", WER 13%)."""
    reference = " ".join(t for _, t in reference_turns(SAMPLES / "conversation.txt"))
    with sdk.realtime.connect(extra_query={"intent": "transcription"}) as conn:
        conn.session.update(session=_session())
        _append_all(conn, _audio("audio/pcm", "conversation.flac"), 24000)
        events = _until_transcribed(conn)
    assert wer(reference, _check_turns(events)) <= 0.06  # measured 0.028 (offline: 0.014)
