"""Live transcription latency: conversation.flac (72.5 s, 3 voices, many turns) streamed at
real-time pace, 100 ms per append, into /openai/v1/realtime sessions (server VAD, 500 ms
silence window) on the local engine, 2 cores.

* End of speech to final transcript: from the moment the turn could be known to have ended
  (the stream position the server's ``speech_stopped`` names: the last voiced frame plus
  the silence window, sent at real-time pace) to the turn's ``completed`` event.
* Partial lag: from the moment a word's audio had been sent to the delta that carries it.
  Word times come from the same engine run offline on the file, with word timestamps.
* Sessions at once: the same with N simultaneous sessions, each starting 1.3 s after the
  last (the same file in lockstep would end every turn at the same instant); the table
  shows when p95 stays within 2x a single session's (the target).
* A voice-bot session on the same stream (no chat endpoint: it reads each turn back): from
  the end of speech, as above, to the first audio byte of the answer.

The baseline of every ratio is the single session in the same run."""

from __future__ import annotations

import argparse
import base64
import json
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from _common import ROOT, SAMPLES, table, wer

sys.path.insert(0, str(ROOT))

import numpy as np
from websockets.sync.client import connect

from audiosvc.media import decode
from audiosvc.realtime.audio import from_engine_rate
from audiosvc.realtime.partials import _same
from audiosvc.redis_server import EmbeddedRedis
from audiosvc.settings import Settings
from tests.service.harness import Api

STEP_MS = 100
BYTES_PER_MS = 48  # 24 kHz, 16-bit


def offline_words(pcm: np.ndarray, settings: Settings) -> list[tuple[str, float]]:
    """(word, end second) of the whole file, by the engine with word timestamps."""
    from audiosvc import pipeline
    from audiosvc.chunking import ChunkPlan
    from audiosvc.providers.base import TranscribeOptions
    from audiosvc.service import provider_for

    result = pipeline.run_chunk(
        pcm,
        ChunkPlan(0, 0, len(pcm)),
        TranscribeOptions(language="en", word_timestamps=True),
        provider_for(settings),
        settings,
    )
    return [(w.word.strip(), w.end) for w in result.words]


def session(
    url: str, data: bytes, out: dict[str, Any], bot: bool = False, delay: float = 0.0
) -> None:
    """Stream ``data`` at real-time pace after ``delay`` seconds; record when each stream
    position was sent and when each event arrived."""
    time.sleep(delay)
    sent_at: list[float] = []  # wall time at which each 100 ms step had been sent
    events: list[tuple[float, dict[str, Any]]] = []
    query = "model=audiosvc-voice" if bot else "intent=transcription"
    with connect(f"{url}?{query}", max_size=None) as ws:

        def read() -> None:
            try:
                for message in ws:
                    events.append((time.perf_counter(), json.loads(message)))
            except Exception:
                return

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        ws.send(json.dumps({"type": "session.update", "session": {
                "type": "realtime" if bot else "transcription",
                "audio": {"input": {"transcription": {"language": "en"}}}}}))  # fmt: skip
        step = STEP_MS * BYTES_PER_MS
        start = time.perf_counter()
        for k, i in enumerate(range(0, len(data), step)):
            due = start + k * STEP_MS / 1000
            time.sleep(max(0.0, due - time.perf_counter()))
            chunk = base64.b64encode(data[i : i + step]).decode()
            ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": chunk}))
            sent_at.append(time.perf_counter())
        deadline = time.perf_counter() + 60
        while time.perf_counter() < deadline:
            stops = sum(e["type"] == "input_audio_buffer.speech_stopped" for _, e in events)
            done = sum(e["type"].endswith("transcription.completed") for _, e in events)
            if stops and done >= stops:
                break
            time.sleep(0.05)
    out["sent_at"], out["events"] = sent_at, events


def measure(run: dict[str, Any], words: list[tuple[str, float]]) -> dict[str, list[Any]]:
    sent_at, events = run["sent_at"], run["events"]

    def sent(ms: float) -> float:
        return float(sent_at[min(len(sent_at) - 1, max(0, int(np.ceil(ms / STEP_MS)) - 1))])

    stopped: dict[str, float] = {}
    finals: list[float] = []
    lags: list[float] = []
    first_audio: list[float] = []
    last_stop: float | None = None
    answered: set[str] = set()
    pointer = 0
    for t, e in events:
        if e["type"] == "input_audio_buffer.speech_stopped":
            stopped[e["item_id"]] = last_stop = sent(e["audio_end_ms"])
        elif e["type"] == "response.output_audio.delta" and e["response_id"] not in answered:
            answered.add(e["response_id"])
            if last_stop is not None:
                first_audio.append(t - last_stop)
        elif e["type"].endswith("transcription.completed") and e["item_id"] in stopped:
            finals.append(t - stopped[e["item_id"]])
        elif e["type"].endswith("transcription.delta") and e["item_id"] not in stopped:
            for w in e["delta"].split():  # a partial: each word's audio was sent when?
                for j in range(pointer, min(pointer + 8, len(words))):
                    if _same(words[j][0], w):
                        lags.append(t - sent(words[j][1] * 1000))
                        pointer = j + 1
                        break
    text = " ".join(e["transcript"] for _, e in events if e["type"].endswith("completed"))
    return {"final": finals, "lag": lags, "first_audio": first_audio, "text": [text]}


def turns_apart(pcm: np.ndarray, count: int = 8) -> bytes:
    """The conversation's first ``count`` turns (by its reference RTTM), each followed by
    3 s of silence: time for the bot to answer before the next one."""
    from tests.measures import read_rttm

    pieces = []
    for start, end, _ in read_rttm(SAMPLES / "conversation.rttm")[:count]:
        pieces += [pcm[int(start * 16000) : int(end * 16000)], np.zeros(48000, np.int16)]
    return from_engine_rate(np.concatenate(pieces), "audio/pcm")


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 2, 3, 4])
    args = parser.parse_args()
    pcm = decode(SAMPLES / "conversation.flac").pcm
    pcm = np.concatenate([pcm, np.zeros(16000 * 2, np.int16)])
    data = from_engine_rate(pcm, "audio/pcm")
    with tempfile.TemporaryDirectory() as tmp:
        redis = EmbeddedRedis(Path(tmp) / "redis", die_with_parent=True).start()
        settings = Settings(
            data_dir=Path(tmp) / "data", redis_url=redis.url, api_key=None, cpu_threads=2
        )
        words = offline_words(pcm, settings)
        api = Api(settings).start()
        url = f"ws://127.0.0.1:{api.port}/openai/v1/realtime"
        results: dict[int, dict[str, list[Any]]] = {}
        reference = (SAMPLES / "conversation.txt").read_text()
        reference = " ".join(line.partition(":")[2] for line in reference.splitlines())
        try:
            session(url, data[: 48000 * 5], {})  # warm-up: the model loads
            for n in args.sessions:
                runs: list[dict[str, Any]] = [{} for _ in range(n)]
                threads = [
                    threading.Thread(target=session, args=(url, data, runs[i])) for i in range(n)
                ]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                merged: dict[str, list[Any]] = {"final": [], "lag": [], "first_audio": []}
                merged["wer"] = []
                for run in runs:
                    got = measure(run, words)
                    merged["wer"].append(wer(reference, got.pop("text")[0]))
                    for key, values in got.items():
                        merged[key] += values
                results[n] = merged
            bot: dict[str, Any] = {}
            session(url, turns_apart(pcm), bot, bot=True)
            answers = measure(bot, words)["first_audio"]
        finally:
            api.stop()
            redis.stop()
    base = pct(results[args.sessions[0]]["final"], 95)
    rows = [["sessions", "turns", "speech end to final, p50 / p95 ms", "p95 vs 1 session",
             "partial lag p50 / p95 ms", "partial words", "WER"]]  # fmt: skip
    for n, r in results.items():
        f, lag = r["final"], r["lag"]
        rows.append(
            [
                str(n),
                str(len(f)),
                f"{pct(f, 50) * 1000:.0f} / {pct(f, 95) * 1000:.0f}",
                f"{pct(f, 95) / base:.2f}x",
                f"{pct(lag, 50) * 1000:.0f} / {pct(lag, 95) * 1000:.0f}",
                str(len(lag)),
                f"{100 * max(r['wer']):.1f}%",
            ]
        )
    print(table(rows))
    print("targets: speech end to final p50 <= 300 ms; sessions within 2x of one at p95")
    print(
        f"voice bot (read-back answers, Piper): speech end to first audio byte p50 "
        f"{pct(answers, 50) * 1000:.0f} ms, p95 {pct(answers, 95) * 1000:.0f} ms over "
        f"{len(answers)} answers (target p50 <= 500 ms)"
    )


if __name__ == "__main__":
    main()
