"""Word times: durations, words over sound, words over pauses, and where utterances start and
end, on the samples (synthetic and real voices), tiny.en.

Variants, on the same audio and model:

* ``raw``: faster-whisper's own ``word_timestamps=True`` over the whole file (the baseline);
* ``audiosvc``: the pipeline with words, as jobs and the API give them;
* ``stable-ts``: stable-ts 2.19 on the same faster-whisper model with its defaults (silence
  suppression), when ``--stable-ts FILE`` names the JSON that ``bench/stable_ts_words.py``
  wrote (stable-ts needs torch, so it runs in a venv of its own: see that script).

Measures, from the audio alone (no variant's own notion of silence):

* pauses are runs of at least 0.5 s whose 20 ms frames are all under -50 dBFS (the samples
  have digital silence or a -62 dBFS floor between sentences; real recordings their own);
* an utterance is the sound between two pauses (from its first frame at -50 dBFS or over to
  its last); its onset and offset are the ground truth
  for the first word that starts in it and the last word that ends in it (edge error, ms);
* a word is over sound when its RMS is above -45 dBFS (the tests' measure); over a pause
  when a pause lies inside it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from _common import ROOT, SAMPLES, median, table

from audiosvc.media import DecodedAudio, decode
from audiosvc.pipeline import transcribe_audio
from audiosvc.providers.base import TranscribeOptions
from audiosvc.providers.local import _FALLBACK_TEMPERATURES, LocalProvider, load_model
from audiosvc.settings import Settings

sys.path.insert(0, str(ROOT))
from tests.measures import pauses, rms_dbfs, utterance_edges

FILES = ["short.wav", "real_voices.flac", "meeting.m4a"]
Word = tuple[str, float, float]


def measure(words: list[Word], pcm: np.ndarray) -> dict[str, float]:
    """The tests' measures (tests/measures.py), with the 90th percentile of the edge errors."""
    gaps = pauses(pcm)
    starts, ends = utterance_edges([(s, e) for _, s, e in words], pcm)
    return {
        "words": len(words),
        "zero": sum(e <= s for _, s, e in words),
        "under_50ms": sum(e - s < 0.05 for _, s, e in words),
        "over_sound": sum(rms_dbfs(pcm, s, e) > -45 for _, s, e in words) / len(words),
        "over_pause": sum(any(s < a and b < e for a, b in gaps) for _, s, e in words),
        "start_ms": median(starts) * 1000,
        "end_ms": median(ends) * 1000,
        "start_p90": float(np.percentile(starts, 90)) * 1000,
        "end_p90": float(np.percentile(ends, 90)) * 1000,
    }


def raw_words(audio: DecodedAudio, settings: Settings) -> list[Word]:
    model = load_model("tiny.en", settings)
    segments, _ = model.transcribe(
        audio.pcm.astype(np.float32) / 32768,
        language="en",
        beam_size=settings.beam_size,
        temperature=list(_FALLBACK_TEMPERATURES),
        word_timestamps=True,
        vad_filter=False,
    )
    return [(w.word.strip(), w.start, w.end) for s in segments for w in s.words or []]


def audiosvc_words(audio: DecodedAudio, settings: Settings) -> list[Word]:
    options = TranscribeOptions(model="tiny.en", language="en", word_timestamps=True)
    result = transcribe_audio(audio, options, LocalProvider(settings), settings)
    return [(w.word, w.start, w.end) for w in result.words]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stable-ts", type=Path, help="JSON from bench/stable_ts_words.py")
    parser.add_argument("--pcm", type=Path, help="only write the samples as 16 kHz PCM here")
    args = parser.parse_args()
    if args.pcm:
        args.pcm.mkdir(parents=True, exist_ok=True)
        for name in FILES:
            decode(SAMPLES / name).pcm.tofile(args.pcm / f"{name}.pcm")
        return
    settings = Settings(cpu_threads=2)
    others = json.loads(args.stable_ts.read_text()) if args.stable_ts else {}
    rows = [
        [
            "file",
            "variant",
            "words",
            "no duration",
            "< 50 ms",
            "over sound",
            "over a pause",
            "start err ms p50/p90",
            "end err ms p50/p90",
        ]
    ]
    for name in FILES:
        audio = decode(SAMPLES / name)
        variants = {"raw": raw_words(audio, settings), "audiosvc": audiosvc_words(audio, settings)}
        if name in others:
            variants["stable-ts"] = [tuple(w) for w in others[name]]  # type: ignore[misc]
        for variant, words in variants.items():
            m = measure(words, audio.pcm)
            rows.append(
                [
                    name,
                    variant,
                    f"{m['words']:.0f}",
                    f"{m['zero']:.0f}",
                    f"{m['under_50ms']:.0f}",
                    f"{m['over_sound']:.3f}",
                    f"{m['over_pause']:.0f}",
                    f"{m['start_ms']:.0f} / {m['start_p90']:.0f}",
                    f"{m['end_ms']:.0f} / {m['end_p90']:.0f}",
                ]
            )
    print(table(rows))


if __name__ == "__main__":
    main()
