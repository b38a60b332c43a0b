"""stable-ts's word times on the samples, as JSON for ``bench/word_times.py --stable-ts``.

stable-ts needs torch, which the project keeps out of its lock, so this runs in a venv of
its own, given the project's tiny.en model directory:

    python3 -m venv /tmp/sts && /tmp/sts/bin/pip install torch==2.13.0 stable-ts==2.19.1 \\
        faster-whisper==1.2.1
    .venv/bin/python -c "from audiosvc.models import model_path; from audiosvc.settings \\
        import Settings; print(model_path('tiny.en', Settings().model_cache_dir))"
    .venv/bin/python bench/word_times.py --pcm /tmp/pcm
    /tmp/sts/bin/python bench/stable_ts_words.py MODEL_DIR /tmp/stable-ts.json /tmp/pcm
    .venv/bin/python bench/word_times.py --stable-ts /tmp/stable-ts.json

The samples are read as the 16 kHz PCM that ``bench/word_times.py --pcm DIR`` wrote (this
venv has no PyAV); stable-ts runs with its defaults on the same faster-whisper model, beam 5,
English. It imports torchaudio only to resample and save audio, neither of which happens
for 16 kHz input: PyPI's torchaudio is built for another torch, so an empty module stands in.
"""

import json
import sys
import types
from pathlib import Path

_audio = types.ModuleType("torchaudio")
_audio.functional = types.ModuleType("torchaudio.functional")  # type: ignore[attr-defined]
sys.modules.setdefault("torchaudio", _audio)
sys.modules.setdefault("torchaudio.functional", _audio.functional)  # type: ignore[attr-defined]

import numpy as np  # noqa: E402
import stable_whisper  # noqa: E402


def main() -> None:
    model_dir, out, pcm_dir = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    model = stable_whisper.load_faster_whisper(
        model_dir, device="cpu", compute_type="int8", cpu_threads=2, local_files_only=True
    )
    found = {}
    for pcm_file in sorted(pcm_dir.glob("*.pcm")):
        pcm = np.fromfile(pcm_file, dtype=np.int16).astype(np.float32) / 32768
        result = model.transcribe(pcm, language="en", beam_size=5, vad=False)
        found[pcm_file.stem] = [
            (w.word.strip(), w.start, w.end) for s in result.segments for w in s.words
        ]
    out.write_text(json.dumps(found))


if __name__ == "__main__":
    main()
