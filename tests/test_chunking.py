"""Chunk planning: cuts in silences, overlaps only without them, no tiny tails, size limits."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audiosvc.chunking import SAMPLE_RATE, ChunkParams, plan_chunks
from audiosvc.encode import encode_audio
from audiosvc.errors import InvalidRequestError

S = SAMPLE_RATE


def _noise(seconds: float, seed: int = 0) -> np.ndarray:
    """Loud, incompressible 'speech' with no pause at all."""
    rng = np.random.default_rng(seed)
    return rng.normal(0, 4000, int(seconds * S)).clip(-32768, 32767).astype(np.int16)


def _with_silences(seconds: float, silences: list[tuple[float, float]]) -> np.ndarray:
    pcm = _noise(seconds)
    for a, b in silences:
        pcm[int(a * S) : int(b * S)] = 0
    return pcm


def _check_invariants(plans: list, n: int, p: ChunkParams) -> None:  # type: ignore[type-arg]
    max_len = p.effective_max_seconds() * S
    assert plans[0].start == 0 and plans[-1].end == n
    for prev, cur in itertools.pairwise(plans):
        assert cur.start == prev.end - cur.overlap  # contiguous, overlapping only as declared
        assert cur.overlap in (0, int(p.overlap_seconds * S))
    for c in plans:
        assert c.end - c.start <= max_len + 1
        if len(plans) > 1:
            assert c.end - c.start >= p.min_seconds * S  # never a tiny (billed-as-10-s) chunk
    assert [c.index for c in plans] == list(range(len(plans)))


def test_short_audio_is_one_chunk() -> None:
    pcm = _noise(42)
    assert [(c.start, c.end, c.overlap) for c in plan_chunks(pcm, ChunkParams())] == [
        (0, len(pcm), 0)
    ]


def test_cuts_fall_inside_the_longest_silence_near_the_target() -> None:
    silences = [(50.0, 50.4), (55.0, 56.5), (110.0, 111.0), (140.0, 140.2)]
    pcm = _with_silences(150, silences)
    p = ChunkParams(max_seconds=60, search_seconds=20)
    plans = plan_chunks(pcm, p)
    _check_invariants(plans, len(pcm), p)
    cuts = [c.end / S for c in plans[:-1]]
    assert len(cuts) == 2
    assert 55.0 < cuts[0] < 56.5  # the longest silence in [40, 60], not the nearer short one
    assert 110.0 < cuts[1] < 111.0
    assert all(c.overlap == 0 for c in plans)


def test_no_silence_means_hard_cuts_with_overlap() -> None:
    pcm = _noise(130)
    p = ChunkParams(max_seconds=50, overlap_seconds=4, search_seconds=10)
    plans = plan_chunks(pcm, p)
    _check_invariants(plans, len(pcm), p)
    assert all(c.overlap == 4 * S for c in plans[1:])
    assert plans[0].end == 50 * S


def test_no_tiny_tail_chunk() -> None:
    """Cookbook-style planning makes a 3 s last chunk here; Groq would bill it as 10 s."""
    pcm = _noise(603)
    p = ChunkParams(max_seconds=600)
    plans = plan_chunks(pcm, p)
    _check_invariants(plans, len(pcm), p)
    assert min(c.duration for c in plans) >= 10


def test_every_chunk_fits_the_upload_limit_even_for_noise() -> None:
    pcm = _noise(200)  # white noise: FLAC cannot compress it
    p = ChunkParams(max_seconds=600, max_bytes=2 * 1024 * 1024, min_seconds=10)
    plans = plan_chunks(pcm, p)
    assert len(plans) > 1
    for c in plans:
        assert len(encode_audio(pcm[c.start : c.end], S, "flac")) <= p.max_bytes  # type: ignore[operator]


def test_all_digital_silence_is_cut() -> None:
    """100 s of digital silence under a 30 s limit: at least four chunks, each within the
    limit, cut without overlap (silence is everywhere)."""
    pcm = np.zeros(S * 100, dtype=np.int16)
    p = ChunkParams(max_seconds=30, search_seconds=10)
    plans = plan_chunks(pcm, p)
    _check_invariants(plans, len(pcm), p)
    assert len(plans) >= 4
    assert all(c.overlap == 0 for c in plans)


@pytest.mark.parametrize(
    ("params", "param"),
    [
        (ChunkParams(max_seconds=15, min_seconds=10), "chunk_seconds"),
        (ChunkParams(max_seconds=-1), "chunk_seconds"),
        (ChunkParams(max_seconds=60, overlap_seconds=12), "overlap_seconds"),
    ],
)
def test_bad_parameters_are_rejected(params: ChunkParams, param: str) -> None:
    with pytest.raises(InvalidRequestError) as err:
        plan_chunks(_noise(100), params)
    assert err.value.param == param


@settings(max_examples=60, deadline=None)
@given(
    seconds=st.floats(min_value=1, max_value=400),
    max_seconds=st.sampled_from([20.0, 30.0, 60.0, 120.0]),
    silences=st.lists(
        st.tuples(st.floats(min_value=0, max_value=400), st.floats(min_value=0.05, max_value=3)),
        max_size=12,
    ),
)
def test_plans_always_cover_the_file_within_bounds(
    seconds: float, max_seconds: float, silences: list[tuple[float, float]]
) -> None:
    pcm = _with_silences(seconds, [(a, a + d) for a, d in silences])
    p = ChunkParams(max_seconds=max_seconds, search_seconds=8)
    _check_invariants(plan_chunks(pcm, p), len(pcm), p)


@settings(max_examples=40, deadline=None)
@given(
    seconds=st.floats(min_value=1, max_value=300),
    silences=st.lists(
        st.tuples(st.floats(min_value=0, max_value=300), st.floats(min_value=0.05, max_value=3)),
        max_size=8,
    ),
)
def test_new_seconds_add_up_to_the_duration(
    seconds: float, silences: list[tuple[float, float]]
) -> None:
    """Progress counts each chunk's new audio: overlaps are not counted twice."""
    pcm = _with_silences(seconds, [(a, a + d) for a, d in silences])
    plans = plan_chunks(pcm, ChunkParams(max_seconds=30, search_seconds=8))
    assert sum(p.new_seconds for p in plans) == pytest.approx(len(pcm) / S, abs=1e-9)
