"""The CLI as a user runs it: a real process, real files, the local engine."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
import srt
import webvtt

from tests.conftest import SAMPLES
from tests.measures import wer

pytestmark = pytest.mark.engine


def run(
    *args: str | Path, cwd: Path | None = None, **settings: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDIOSVC_")}
    env.pop("GROQ_API_KEY", None)
    env["AUDIOSVC_CPU_THREADS"] = "2"
    env.update(settings)
    return subprocess.run(
        [sys.executable, "-m", "audiosvc.cli", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
        check=False,
    )


def test_srt_to_stdout_is_only_the_result() -> None:
    p = run("transcribe", SAMPLES / "short.wav", "--language", "en", "--format", "srt")
    assert p.returncode == 0, p.stderr
    subs = list(srt.parse(p.stdout))
    assert subs and subs[0].index == 1
    text = " ".join(s.content for s in subs)
    assert wer((SAMPLES / "short.txt").read_text(), text) <= 0.05  # measured 0.0
    assert "Traceback" not in p.stderr


def test_vtt_to_a_file(tmp_path: Path) -> None:
    out = tmp_path / "short.vtt"
    p = run("transcribe", SAMPLES / "short.wav", "--language", "en", "-f", "vtt", "-o", out)
    assert p.returncode == 0, p.stderr
    assert p.stdout == ""
    captions = webvtt.from_buffer(io.StringIO(out.read_text()))
    assert len(captions) >= 2


def test_several_files_into_a_directory_and_bad_ones_reported(tmp_path: Path) -> None:
    bad = tmp_path / "notes.mp3"
    bad.write_text("not audio at all")
    empty = tmp_path / "empty.m4a"
    empty.write_bytes(b"")
    out = tmp_path / "out"
    p = run(
        "transcribe", bad, SAMPLES / "short.wav", empty, "--language", "en", "-f", "json", "-o", out
    )
    assert p.returncode == 1
    assert (out / "short.json").exists()
    lines = p.stderr.strip().splitlines()
    assert lines == [
        "audiosvc: error: notes.mp3: not a recognized audio or video file "
        "(or damaged beyond reading)",
        "audiosvc: error: empty.m4a: the file is empty",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "docx"], "Invalid response_format 'docx'"),
        (["--model", "tiny.en", "--task", "translate"], "English-only"),
        (["--chunk-seconds", "5"], "chunk length"),
    ],
)
def test_bad_options_are_one_line_errors(args: list[str], message: str) -> None:
    p = run("transcribe", SAMPLES / "short.wav", *args)
    assert p.returncode != 0
    assert message in p.stderr and "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("command", ["serve", "api", "worker", "transcribe"])
@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("AUDIOSVC_OVERLAP_SECONDS", "20", "overlap must be"),
        ("AUDIOSVC_PORT", "eighty", "valid integer"),
    ],
)
def test_bad_settings_fail_the_start_in_one_line(
    command: str, name: str, value: str, message: str, tmp_path: Path
) -> None:
    """Settings are validated when they load: the service does not start with them, rather
    than fail a user's request later."""
    args = [command, SAMPLES / "short.wav"] if command == "transcribe" else [command]
    p = run(*args, AUDIOSVC_DATA_DIR=str(tmp_path), **{name: value})
    assert p.returncode == 2
    assert p.stderr.startswith(f"audiosvc: error: bad configuration: {name}: ")
    assert message in p.stderr and len(p.stderr.strip().splitlines()) == 1


def test_groq_without_a_key_says_so() -> None:
    p = run("transcribe", SAMPLES / "short.wav", "--provider", "groq")
    assert p.returncode == 2
    assert "GROQ_API_KEY" in p.stderr and "Traceback" not in p.stderr


def test_speakers_from_the_command_line() -> None:
    """--speakers: a paragraph per turn, A: B: C:, in the order they first speak."""
    from tests.measures import reference_turns, speaker_word_accuracy

    p = run("transcribe", SAMPLES / "conversation.flac", "--language", "en", "--speakers")
    assert p.returncode == 0, p.stderr
    turns = [para.split(": ", 1) for para in p.stdout.strip().split("\n\n")]
    assert [s for s, _ in turns][:3] == ["A", "B", "C"]
    words = [(s, w) for s, said in turns for w in said.split()]
    reference = reference_turns(SAMPLES / "conversation.txt")
    assert speaker_word_accuracy(reference, words) >= 0.85  # measured 0.916


def test_a_given_number_of_speakers_from_the_command_line() -> None:
    p = run(
        "transcribe", SAMPLES / "conversation.flac", "--language", "en", "--speakers", "2",
        "-f", "vtt",
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    voices = {c.voice for c in webvtt.from_buffer(io.StringIO(p.stdout))}
    assert voices == {"A", "B"}
    bad = run("transcribe", SAMPLES / "short.wav", "--speakers", "0")
    assert bad.returncode == 2 and "--speakers" in bad.stderr
