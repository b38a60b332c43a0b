"""Voice-bot latency on the local engine: a 5-second utterance -> transcript -> spoken reply,
through the running service (/openai/v1/audio/transcriptions, then /speech streamed).
Reports p50 and p95 over repeated runs, and the time to the first audio byte, against the
raw engines called in this process with the same model and settings (faster-whisper on the
clip, Piper's first sentence). After a warm-up of both, each run times the raw engines and
the service once, alternating which goes first. Target: p50 under 1.5 s on 2 cores."""

from __future__ import annotations

import argparse
import statistics
import time

import httpx
import numpy as np
from _common import rotated, table
from _service import service

from audiosvc.encode import encode_audio
from audiosvc.providers.local import _FALLBACK_TEMPERATURES, load_model
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
    parser.add_argument("--model", default="tiny.en", help="local model, in both paths")
    parser.add_argument("--quick", action="store_true", help="5 runs")
    args = parser.parse_args()
    runs = 5 if args.quick else args.runs

    tts = PiperTTS()
    pcm = np.concatenate(list(tts.synthesize(UTTERANCE)))
    wav = encode_audio(pcm, tts.sample_rate, "wav", out_rate=16_000)
    seconds = len(pcm) / tts.sample_rate

    # Baseline: the engines alone, in this process, as the worker runs them.
    settings = Settings(cpu_threads=2)
    model = load_model(args.model, settings)
    audio16 = np.frombuffer(wav[44:], dtype=np.int16).astype(np.float32) / 32768

    def raw_once() -> tuple[float, float]:
        t0 = time.perf_counter()
        segments, _ = model.transcribe(
            audio16,
            language=None if args.model.endswith(".en") else "en",
            beam_size=settings.beam_size,
            word_timestamps=False,  # json needs no word times: the service aligns none
            temperature=list(_FALLBACK_TEMPERATURES),
        )
        list(segments)
        t1 = time.perf_counter()
        next(iter(tts.synthesize(REPLY)))
        return t1 - t0, time.perf_counter() - t0

    raw_stt: list[float] = []
    raw: list[float] = []
    stt: list[float] = []
    first: list[float] = []
    total: list[float] = []
    with (
        service({"AUDIOSVC_CPU_THREADS": "2"}) as svc,
        httpx.Client(base_url=svc.url, timeout=60) as client,
    ):

        def service_once() -> tuple[float, float, float]:
            t0 = time.perf_counter()
            r = client.post(
                "/openai/v1/audio/transcriptions",
                files={"file": ("utterance.wav", wav)},
                data={"model": args.model, "language": "en", "response_format": "json"},
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

        def timed_service() -> None:
            a, b, c = service_once()
            stt.append(a)
            first.append(b)
            total.append(c)

        def timed_raw() -> None:
            a, b = raw_once()
            raw_stt.append(a)
            raw.append(b)

        raw_once()  # warm-up, not timed
        service_once()  # warm: models load on the first request
        for i in range(runs):
            for step in rotated([timed_raw, timed_service], i):
                step()
    print(
        f"{runs} runs, alternating; utterance {seconds:.1f} s, {args.model} (language given), "
        "Piper joe, a speech worker (1 process, 2 threads) and an io worker; "
        "target: first audio byte p50 under 1.5 s"
    )
    rows = [["measure", "p50 s", "p95 s", "x raw p50", "against"]]
    base_stt, base = statistics.median(raw_stt), statistics.median(raw)
    for name, xs, ref, against in [
        ("raw engine: transcript", raw_stt, base_stt, "itself"),
        ("raw engines: transcript + first reply sentence", raw, base, "itself"),
        ("service: transcript", stt, base_stt, "raw transcript"),
        ("service: to the first audio byte of the reply", first, base, "raw + first sentence"),
        ("service: reply fully received", total, base, "raw + first sentence"),
    ]:
        rows.append(
            [
                name,
                f"{statistics.median(xs):.2f}",
                f"{pct(xs, 95):.2f}",
                f"{statistics.median(xs) / ref:.2f}",
                against,
            ]
        )
    print(table(rows))
    print(
        "service overhead, p50 minus raw p50: transcript "
        f"{statistics.median(stt) - base_stt:.2f} s, first audio byte "
        f"{statistics.median(first) - base:.2f} s"
    )


if __name__ == "__main__":
    main()
