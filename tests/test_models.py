"""Local model resolution and the verified assembly of the split base model."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from audiosvc.errors import ModelNotAvailableError
from audiosvc.models import BASE, TINY_EN, assemble_model, model_path, resolve_model
from audiosvc.settings import Settings


@pytest.mark.parametrize(
    ("name", "task", "language", "expected"),
    [
        (None, "transcribe", "en", TINY_EN),
        (None, "transcribe", None, BASE),
        ("auto", "transcribe", "de", BASE),
        (None, "translate", None, BASE),
        ("whisper-large-v3", "transcribe", "en", BASE),
        ("whisper-large-v3-turbo", "translate", None, BASE),
        ("tiny.en", "transcribe", "en", TINY_EN),
        ("tiny.en", "transcribe", None, TINY_EN),
    ],
)
def test_resolve(name: str | None, task: str, language: str | None, expected: str) -> None:
    assert resolve_model(name, task, language) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "task", "language", "message"),
    [
        ("gpt-4o", "transcribe", None, "not available"),
        ("tiny.en", "translate", None, "English-only"),
        ("tiny.en", "transcribe", "fr", "English-only"),
    ],
)
def test_unusable_models_are_clear_errors(
    name: str, task: str, language: str | None, message: str
) -> None:
    with pytest.raises(ModelNotAvailableError, match=message) as err:
        resolve_model(name, task, language)  # type: ignore[arg-type]
    assert err.value.param == "model" and err.value.status == 400


def test_base_model_is_assembled_once_and_verified(settings: Settings) -> None:
    path = model_path(BASE, settings.model_cache_dir)
    model = path / "model.bin"
    assert {p.name for p in path.iterdir()} >= {"model.bin", "config.json", "tokenizer.json"}
    mtime = model.stat().st_mtime_ns
    assert model_path(BASE, settings.model_cache_dir) == path
    assert model.stat().st_mtime_ns == mtime  # not rebuilt on the second call


def test_a_part_that_does_not_verify_is_refused(tmp_path: Path) -> None:
    parts = []
    for i, data in enumerate([b"first half ", b"second half"]):
        part = tmp_path / f"model.bin.part{i + 1}"
        part.write_bytes(data)
        parts.append(part)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        (tmp_path / name).write_text("{}")
    good = hashlib.sha256(b"first half second half").hexdigest()
    assemble_model(tuple(parts), tmp_path / "ok", good)
    assert (tmp_path / "ok" / "model.bin").read_bytes() == b"first half second half"

    parts[1].write_bytes(b"second HALF")  # a damaged download
    with pytest.raises(ModelNotAvailableError, match="does not verify"):
        assemble_model(tuple(parts), tmp_path / "bad", good)
    assert not (tmp_path / "bad" / "model.bin").exists()
    assert not list((tmp_path / "bad").glob(".model.bin.*"))  # no partial file left behind
