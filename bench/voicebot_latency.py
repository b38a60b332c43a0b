"""Voice-bot latency on the local engine: a 5-second utterance -> transcript -> spoken reply,
through the running service (/openai/v1/audio/transcriptions, then /speech streamed).
Reports p50 and p95 over repeated runs, and the time to the first audio byte, against the
raw engines called in one process (faster-whisper on the clip, Piper's first sentence).
Target: p50 under 1.5 s on 2 cores."""

from __future__ import annotations

import argparse
import statistics
import time

import httpx
import numpy as np
from _common import table
from _service import service

from audiosvc.encode import encode_audio
from audiosvc.providers.local import load_model
from audiosvc.settings import Settings
from audiosvc.tts import PiperTTS

UTTERANCE = (
    "Can you move my meeting with the design team to tomorrow afternoon and tell everyone, please?"
)
REPLY = "Sure. Your meeting with the design team is now tomorrow afternoon. Anything else?"


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="5 runs")
    args = parser.parse_args()
    runs = 5 if args.quick else args.runs

    tts = PiperTTS()
    pcm = np.concatenate(list(tts.synthesize(UTTERANCE)))
    wav = encode_audio(pcm, tts.sample_rate, "wav", out_rate=16_000)
    seconds = len(pcm) / tts.sample_rate

    # Baseline: the engines alone, in this process, models loaded.
    model = load_model("tiny.en", Settings(cpu_threads=2))
    audio16 = np.frombuffer(wav[44:], dtype=np.int16).astype(np.float32) / 32768
    raw: list[float] = []
    for _ in range(runs):
        t0 = time.perf_counter()
        list(model.transcribe(audio16, language="en", beam_size=5, word_timestamps=True)[0])
        next(iter(tts.synthesize(REPLY)))
        raw.append(time.perf_counter() - t0)

    stt: list[float] = []
    first: list[float] = []
    total: list[float] = []
    with (
        service({"AUDIOSVC_CPU_THREADS": "2"}) as svc,
        httpx.Client(base_url=svc.url, timeout=60) as client,
    ):

        def once() -> tuple[float, float, float]:
            t0 = time.perf_counter()
            r = client.post(
                "/openai/v1/audio/transcriptions",
                files={"file": ("utterance.wav", wav)},
                data={"model": "whisper-large-v3-turbo", "language": "en"},
            )
            r.raise_for_status()
            t1 = time.perf_counter()
            with client.stream(
                "POST",
                "/openai/v1/audio/speech",
                json={"model": "tts-1", "voice": "joe", "input": REPLY, "response_format": "wav"},
            ) as s:
                received, t2 = 0, 0.0
                for chunk in s.iter_bytes():
                    received += len(chunk)
                    if not t2 and received > 44:  # past the WAV header: audio
                        t2 = time.perf_counter()
            return t1 - t0, t2 - t0, time.perf_counter() - t0

        once()  # warm: models load on the first request
        for _ in range(runs):
            a, b, c = once()
            stt.append(a)
            first.append(b)
            total.append(c)
    print(
        f"{runs} runs, utterance {seconds:.1f} s, tiny.en (language given), Piper joe, "
        "1 worker with 2 threads"
    )
    rows = [["measure", "p50 s", "p95 s", "x raw p50"]]
    base = statistics.median(raw)
    rows.append(
        [
            "raw engines: transcript + first reply sentence",
            f"{base:.2f}",
            f"{pct(raw, 95):.2f}",
            "1.00",
        ]
    )
    for name, xs in [
        ("service: transcript", stt),
        ("service: to the first audio byte of the reply", first),
        ("service: reply fully received", total),
    ]:
        rows.append(
            [
                name,
                f"{statistics.median(xs):.2f}",
                f"{pct(xs, 95):.2f}",
                f"{statistics.median(xs) / base:.2f}",
            ]
        )
    print(table(rows))


if __name__ == "__main__":
    main()
