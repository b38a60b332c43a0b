"""Make ``samples/conversation.flac`` and ``samples/panel.flac``: speakers to tell apart.

Test recordings for speaker diarization, each with its references beside it:

* ``conversation.flac`` - three speakers, a little over a minute;
* ``panel.flac`` - four speakers, about a minute;
* ``<name>.rttm`` - who speaks when: an RTTM ``SPEAKER`` line per turn, the times of the
  trimmed speech as placed in the mix;
* ``<name>.txt`` - the words, a line per turn in order of start time: ``A: the words``.

Speaker A is the project's own Piper voice (``en_US-joe-medium``); the others are espeak-ng
voices, run by this script as ``make_spanish.py`` runs it, told apart by accent and pitch.
Speakers are labelled A, B, C, D in order of first appearance. Turns last 1 to 15 s, with a few
quick exchanges, and one or two short backchannels ("yes, right", "okay") that overlap the
end of the turn before them. espeak-ng is needed only to remake the files; they are committed,
so running and testing the project never needs it.

Deterministic: Piper's sampling noise is off, espeak-ng has none, and every gap, overlap and
the noise floor come from a seeded generator, so a rerun with the same espeak-ng, onnxruntime
and PyAV builds gives the same bytes. The script checks its own output and fails loudly.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from make_samples import check_script  # noqa: E402

from audiosvc.encode import encode_audio  # noqa: E402
from audiosvc.media import decode  # noqa: E402
from audiosvc.tts import PiperTTS  # noqa: E402

RATE = 16_000  # what audiosvc.media.decode gives, and what the files are written at
FRAME_S = 0.02  # trimming looks at the energy of 20 ms frames
TRIM_DB = 45.0  # a turn's edge frames this far under its loudest frame are its silence
TURN_DBFS = -22.0  # every turn's RMS level
NOISE_DBFS = -60.0  # RMS level of the noise floor under the whole recording
EDGE_S = 0.5  # silence (noise floor only) before the first word and after the last
GAP_S = (0.3, 0.9)  # between turns
QUICK_GAP_S = (0.2, 0.5)  # before a turn of a quick exchange
OVERLAP_S = (0.3, 0.6)  # a backchannel starts this long before the turn before it ends
PIPER_SENTENCE_PAUSE_S = 0.15  # Piper leaves only ~0.17 s between sentences; espeak more
TURN_S = (1.0, 15.0)
QUICK_TURN_S = (1.0, 2.0)
MAX_BYTES = 2_500_000


@dataclass(frozen=True)
class Voice:
    """Piper's joe voice at ``piper_speed`` (``espeak`` empty), or espeak-ng with these
    arguments (``-s`` is words a minute, ``-p`` pitch from 0 to 99, default 50)."""

    espeak: tuple[str, ...] = ()
    piper_speed: float = 1.0


# Median pitch measured on the recordings: A about 95 Hz, B 100 Hz, C 230 Hz. A and B
# are told apart by timbre (neural against formant synthesis) and accent more than by pitch.
VOICES = {
    "A": Voice(),
    "B": Voice(("-v", "en-gb", "-s", "150")),
    "C": Voice(("-v", "en-us+f3", "-p", "60", "-s", "150")),
    # Klatt synthesis: en-us+m3 was one voice with B to the speaker embedder (cosine 0.92).
    "D": Voice(("-v", "en-us+klatt", "-p", "40", "-s", "150")),
}


@dataclass(frozen=True)
class Turn:
    speaker: str
    text: str
    quick: bool = False  # part of a quick exchange: a short gap before it
    backchannel: bool = False  # overlaps the end of the turn before it


CONVERSATION = [
    Turn(
        "A",
        "Thanks for coming, everyone. I wanted to talk about the new office plan before we "
        "leave for the week.",
    ),
    Turn(
        "B",
        "Sure. I went through the drawings yesterday, and I think the kitchen is far too "
        "small for the whole team.",
    ),
    Turn(
        "C",
        "I agree with that. We could move the big printer out into the hallway and give the "
        "kitchen a lot more room.",
    ),
    Turn("A", "Would that be safe enough?", quick=True),
    Turn("C", "I think so.", quick=True),
    Turn("B", "We should ask the manager.", quick=True),
    Turn("A", "Good idea. Can you ask today?", quick=True),
    Turn("B", "Yes, I will do it after lunch."),
    Turn(
        "C",
        "There is something else I wanted to mention. Many people have told me that the "
        "meeting rooms are always booked, even when nobody is using them. I would like us to "
        "give the room to somebody else when nobody arrives after a few minutes.",
    ),
    Turn("B", "Yes, right.", backchannel=True),
    Turn(
        "A",
        "That sounds fair to me. Let us try it for a while and see how people feel about it.",
    ),
    Turn(
        "B",
        "And what about the tables near the windows? Everybody wants to sit there, and last time "
        "it turned into a long argument.",
    ),
    Turn("C", "Maybe we could share them and take turns."),
    Turn(
        "A",
        "I like that. I will write it down and send the notes to everyone this afternoon. "
        "Is there anything else?",
    ),
    Turn("B", "No, I think we are done for today."),
    Turn("C", "Okay.", backchannel=True),
    Turn("A", "Great, thank you all."),
]

PANEL = [
    Turn(
        "A",
        "Welcome back, everyone. Today we are talking about working from home, and what it "
        "means for small teams.",
    ),
    Turn(
        "B",
        "The biggest change for me is how we talk to each other. Conversations that used to "
        "happen in the hallway now have to be written down.",
    ),
    Turn("C", "That is true, but our decisions are much clearer because they are written down."),
    Turn(
        "D",
        "I am not so sure. People feel lonely, and some of them stop asking questions when "
        "they get stuck.",
    ),
    Turn("A", "How do you deal with that?", quick=True),
    Turn("D", "We call each other every morning.", quick=True),
    Turn("C", "Every single morning?", quick=True),
    Turn("D", "Most days, yes.", quick=True),
    Turn(
        "B",
        "We tried something similar, and it helped a lot. The trick is to keep them short and "
        "friendly.",
    ),
    Turn("C", "Yes, right.", backchannel=True),
    Turn(
        "A",
        "Now, which tools would you keep, and which would you throw away?",
    ),
    Turn(
        "C",
        "I would keep the calendar and the chat, but I would happily throw away most of our "
        "long meetings.",
    ),
    Turn("D", "Okay.", backchannel=True),
    Turn(
        "B",
        "I would keep the video meetings. It really helps to see faces when the news is bad.",
    ),
    Turn("A", "That is a good place to stop. Thank you all for joining us."),
]


@dataclass(frozen=True)
class Recording:
    turns: list[Turn]
    seconds: tuple[float, float]  # the range its duration must fall in
    seed: int  # of its gaps, overlaps and noise floor


RECORDINGS = {
    "conversation": Recording(CONVERSATION, (60.0, 75.0), seed=20_250_301),
    "panel": Recording(PANEL, (55.0, 66.0), seed=20_250_302),
}


def check_texts(turns: list[Turn]) -> None:
    """No digits or number words (``make_samples.check_script``), and no capital letter inside
    a sentence but the word "I": no proper nouns, no abbreviations."""
    check_script([t.text for t in turns])
    for turn in turns:
        for sentence in re.split(r"(?<=[.!?])\s+", turn.text):
            for word in sentence.split()[1:]:
                if word[0].isupper() and word.rstrip(",.?!") != "I":
                    raise SystemExit(f"capitalized word {word!r} in the script: {turn.text!r}")
    if not 1 <= sum(t.backchannel for t in turns) <= 2:
        raise SystemExit("the script needs one or two backchannels")
    speakers = list(dict.fromkeys(t.speaker for t in turns))
    if speakers != sorted(VOICES)[: len(speakers)]:
        raise SystemExit(f"speakers first appear in the order {speakers}, not A, B, C, D")


# --- speech ----------------------------------------------------------------------------------


class Speaker:
    """Speaks a turn with its voice, as 16 kHz mono int16 PCM decoded by the project."""

    def __init__(self, espeak: str, tmp: Path) -> None:
        self.espeak = espeak
        self.tmp = tmp
        self.piper = PiperTTS("en_US-joe-medium", noise_scale=0.0, noise_w_scale=0.0)

    def __call__(self, voice: Voice, text: str) -> np.ndarray:
        wav = self.tmp / "turn.wav"
        if voice.espeak:
            subprocess.run([self.espeak, *voice.espeak, "-w", str(wav), text], check=True)
        else:
            rate = self.piper.sample_rate
            pause = np.zeros(round(PIPER_SENTENCE_PAUSE_S * rate), dtype=np.int16)
            parts: list[np.ndarray] = []
            for sentence in self.piper.synthesize(text, speed=voice.piper_speed):
                parts += [pause, sentence] if parts else [sentence]
            wav.write_bytes(encode_audio(np.concatenate(parts), rate, "wav"))
        return decode(wav).pcm  # to 16 kHz mono through the project's own decoder


def trim(pcm: np.ndarray) -> np.ndarray:
    """Cut a turn's leading and trailing silence: the 20 ms frames, at either end, whose energy
    is more than TRIM_DB under the loudest frame's."""
    frame = round(FRAME_S * RATE)
    n = len(pcm) // frame
    frames = pcm[: n * frame].astype(np.float64).reshape(n, frame)
    energy_db = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-9)
    loud = np.flatnonzero(energy_db > energy_db.max() - TRIM_DB)
    return pcm[loud[0] * frame : (loud[-1] + 1) * frame]


def normalize(pcm: np.ndarray) -> np.ndarray:
    """Float samples (full scale 1.0) scaled to an RMS of TURN_DBFS."""
    x = pcm.astype(np.float64) / 32768
    gain = 10 ** (TURN_DBFS / 20) / float(np.sqrt(np.mean(x**2)))
    return x * gain


# --- mixing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Placed:
    turn: Turn
    start: float  # seconds
    duration: float


@dataclass(frozen=True)
class Mixed:
    pcm: np.ndarray  # int16
    placed: list[Placed]
    peak: float  # of the float mix, full scale 1.0


def mix(turns: list[Turn], speak: Speaker, seed: int) -> Mixed:
    rng = np.random.default_rng(seed)
    audio = [normalize(trim(speak(VOICES[t.speaker], t.text))) for t in turns]
    starts: list[int] = []
    end = round(EDGE_S * RATE)  # where the latest turn so far ends, in samples
    for i, (turn, x) in enumerate(zip(turns, audio, strict=True)):
        if not i:
            start = end
        elif turn.backchannel:
            start = starts[-1] + len(audio[i - 1]) - round(rng.uniform(*OVERLAP_S) * RATE)
        else:
            start = end + round(rng.uniform(*(QUICK_GAP_S if turn.quick else GAP_S)) * RATE)
        starts.append(start)
        end = max(end, start + len(x))
    out = np.zeros(end + round(EDGE_S * RATE))
    for start, x in zip(starts, audio, strict=True):
        out[start : start + len(x)] += x
    peak = float(np.abs(out).max())
    out += rng.normal(0.0, 10 ** (NOISE_DBFS / 20), len(out))
    pcm = np.clip(np.round(out * 32768), -32768, 32767).astype(np.int16)
    placed = [
        Placed(t, s / RATE, len(x) / RATE) for t, s, x in zip(turns, starts, audio, strict=True)
    ]
    return Mixed(pcm, sorted(placed, key=lambda p: p.start), peak)


def overlap_seconds(placed: list[Placed]) -> float:
    """Time during which two or more speakers speak at once."""
    active = np.zeros(round(max(p.start + p.duration for p in placed) * 1000) + 1, dtype=int)
    for p in placed:
        active[round(p.start * 1000) : round((p.start + p.duration) * 1000)] += 1
    return float(np.count_nonzero(active > 1)) / 1000


# --- files -----------------------------------------------------------------------------------


def write(name: str, mixed: Mixed) -> Path:
    path = HERE / f"{name}.flac"
    path.write_bytes(encode_audio(mixed.pcm, RATE, "flac"))
    (HERE / f"{name}.rttm").write_text(
        "".join(
            f"SPEAKER {name} 1 {p.start:.3f} {p.duration:.3f} <NA> <NA> {p.turn.speaker} "
            "<NA> <NA>\n"
            for p in mixed.placed
        ),
        encoding="utf-8",
    )
    (HERE / f"{name}.txt").write_text(
        "".join(f"{p.turn.speaker}: {' '.join(p.turn.text.split())}\n" for p in mixed.placed),
        encoding="utf-8",
    )
    return path


def check(name: str, path: Path, mixed: Mixed, seconds: tuple[float, float]) -> list[str]:
    problems = []
    duration = decode(path).duration
    if not seconds[0] <= duration <= seconds[1]:
        problems.append(f"{name} lasts {duration:.1f} s, not {seconds[0]:g} to {seconds[1]:g} s")
    for p in mixed.placed:
        low, high = QUICK_TURN_S if p.turn.quick else TURN_S
        if not low <= p.duration <= high and not p.turn.backchannel:
            problems.append(f"{name}: a turn lasts {p.duration:.2f} s: {p.turn.text!r}")
    if mixed.peak >= 1.0:
        problems.append(f"{name}: the mix clips (peak {mixed.peak:.2f})")
    if path.stat().st_size > MAX_BYTES:
        problems.append(f"{name}: {path.stat().st_size} bytes, over {MAX_BYTES}")
    return problems


def summary(path: Path, mixed: Mixed) -> str:
    counts = Counter(p.turn.speaker for p in mixed.placed)
    speech = dict.fromkeys(counts, 0.0)
    for p in mixed.placed:
        speech[p.turn.speaker] += p.duration
    per_speaker = ", ".join(f"{s} {counts[s]} ({speech[s]:.1f} s)" for s in sorted(counts))
    md5 = hashlib.md5(path.read_bytes()).hexdigest()
    return (
        f"{path.name}: {len(mixed.pcm) / RATE:.2f} s, {path.stat().st_size} bytes, md5 {md5}\n"
        f"  turns per speaker (speech): {per_speaker}\n"
        f"  overlap {overlap_seconds(mixed.placed):.2f} s, peak of the mix {mixed.peak:.2f}"
    )


def main() -> int:
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        print(
            "espeak-ng is not installed; conversation.flac and panel.flac are kept as committed",
            file=sys.stderr,
        )
        return 1
    problems: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        speak = Speaker(espeak, Path(tmp))
        for name, recording in RECORDINGS.items():
            check_texts(recording.turns)
            mixed = mix(recording.turns, speak, recording.seed)
            path = write(name, mixed)
            problems += check(name, path, mixed, recording.seconds)
            print(summary(path, mixed))
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
