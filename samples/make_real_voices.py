"""Make ``samples/real_voices.flac``: real people's voices, for word times that hold on real
speech; ``real_voices.tsv`` says where each recording lies in it (seconds) and what it says.

The recordings are Codec 2's test recordings of real speakers (Debian's ``codec2-examples``,
``/usr/share/codec2/wav``; LGPL-2.1, as Codec 2): several speakers, men and women, 8 kHz
telephone-band speech with its own background noise, each saying a sentence or a radio call.
They are put one after another, each at its own level, with 0.6 to 1.2 s between them of a
quiet noise floor (seeded), so a word stretched over a pause, or given no time, shows.
``ve9qrp`` is left out, as the project's guide asks, and so are ``f2400``/``m2400`` (the
same sentences as ``forig``/``morig``, coded) and the long recordings of radio noise in which
the local models hear no words (``david4``, ``vk2tpm_004``).

The reference texts are the sentences the speakers read (as both tiny.en and base hear
them, but for "ragdoll", which base hears as "it to you on the old"); ``vk5qi`` spells its
call sign, written as the models write it, with the count it says.

codec2-examples is needed only to remake the file: ``apt-get install codec2-examples``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from audiosvc.encode import encode_audio  # noqa: E402
from audiosvc.media import decode  # noqa: E402

SOURCE = Path("/usr/share/codec2/wav")
RATE = 16_000
GAP_S = (0.6, 1.2)
NOISE_DBFS = -62.0
EDGE_S = 0.5

# (recording, what is said), in the order they are put in the file.
RECORDINGS = [
    ("hts1a", "The Navy attacked the big task force."),
    ("forig", "Don't throw trash on the street."),
    ("mmt1", "It's easy to tell the depth of a well."),
    ("big_dog", "The big dog left to chew on the old ragdoll."),
    ("morig", "That frog jumped through the weeds."),
    ("hts2a", "These days, a chicken is a red dish."),
    ("cross", "They took the cross-town bus."),
    (
        "vk5qi",
        "This is Victor Kilo 5, Quebec India, Victor Kilo 5, Quebec India, testing 1, 2, 3, 4,"
        " 5, 5, 4, 3, 2, 1.",
    ),
]


def main() -> None:
    if not SOURCE.is_dir():
        sys.exit(f"{SOURCE} is missing: apt-get install codec2-examples")
    rng = np.random.default_rng(19)
    noise_rms = 32768 * 10 ** (NOISE_DBFS / 20)

    def floor(seconds: float) -> np.ndarray:
        return rng.normal(0, noise_rms, int(seconds * RATE))

    parts = [floor(EDGE_S)]
    rows = []
    for k, (name, text) in enumerate(RECORDINGS):
        if k:
            parts.append(floor(rng.uniform(*GAP_S)))
        start = sum(map(len, parts)) / RATE
        parts.append(decode(SOURCE / f"{name}.wav").pcm.astype(np.float64))
        rows.append(f"{start:.3f}\t{start + len(parts[-1]) / RATE:.3f}\t{name}\t{text}")
    parts.append(floor(EDGE_S))
    pcm = np.clip(np.concatenate(parts), -32768, 32767).astype(np.int16)
    (HERE / "real_voices.flac").write_bytes(encode_audio(pcm, RATE, "flac"))
    (HERE / "real_voices.tsv").write_text("start\tend\trecording\ttext\n" + "\n".join(rows) + "\n")
    print(f"real_voices.flac: {len(pcm) / RATE:.2f} s, {len(RECORDINGS)} recordings")


if __name__ == "__main__":
    main()
