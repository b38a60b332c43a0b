"""Shared helpers for the benchmark scripts (not a test: they print figures)."""

from __future__ import annotations

import os
import re
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import jiwer

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
T = TypeVar("T")


def normalize(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split())


def wer(reference: str, hypothesis: str) -> float:
    return float(jiwer.wer(normalize(reference), normalize(hypothesis)))


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def rotated(items: Sequence[T], round_: int) -> list[T]:
    """The run order of round ``round_``: ``items`` rotated by the round number, so that no
    variant always runs first (with two variants: alternating)."""
    k = round_ % len(items)
    return [*items[k:], *items[:k]]


def spread(values: Sequence[float], digits: int = 1) -> str:
    """``min-max`` of repeated runs, to show the noise around a median."""
    return f"{min(values):.{digits}f}-{max(values):.{digits}f}"


def measured_row(
    name: str,
    secs: Sequence[float],
    cpu: Sequence[float],
    texts: Sequence[str],
    reference: str,
    base: tuple[float, float, float],
) -> list[str]:
    """A table row (wall s, runs, x base, CPU s, x base CPU, WER %, WER - base) of one
    variant's runs against ``base`` = (wall s, CPU s, WER %) medians. The WER shows its
    range when the runs differ."""
    wers = [wer(reference, t) * 100 for t in texts]
    w = median(wers)
    shown = f"{w:.2f}" if len(set(wers)) == 1 else f"{w:.2f} ({spread(wers, 2)})"
    return [
        name,
        f"{median(secs):.1f}",
        spread(secs),
        f"{median(secs) / base[0]:.2f}",
        f"{median(cpu):.1f}",
        f"{median(cpu) / base[1]:.2f}",
        shown,
        f"{w - base[2]:+.2f}",
    ]


def table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)
