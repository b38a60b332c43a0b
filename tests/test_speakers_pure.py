"""Speaker diarization's pure functions: attribution of words and segments to speakers,
labels and names, clustering, turns from window activity, windows and mel features."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audiosvc.names import MAX_SPEAKER_NAME_CHARS, clean_speaker_name
from audiosvc.speakers import clustering, embedding, features, naming, segmentation, turns
from audiosvc.speakers.attribution import LabelledTurn, attribute
from audiosvc.speakers.clustering import SpeakerCount
from audiosvc.speakers.turns import Turn
from audiosvc.transcript import Segment, Transcript, Word

# --- helpers -------------------------------------------------------------------------------


def _words(*spec: tuple[str, float, float]) -> list[Word]:
    return [Word(word=w, start=s, end=e) for w, s, e in spec]


def _segment(words: list[Word], *, id: int = 0, tokens: list[int] | None = None) -> Segment:
    return Segment(
        id=id,
        start=words[0].start,
        end=words[-1].end,
        text=" " + " ".join(w.word for w in words),
        tokens=tokens or [],
        words=words,
    )


def _transcript(segments: list[Segment]) -> Transcript:
    return Transcript(
        duration=max((s.end for s in segments), default=0.0) + 1.0,
        text=" ".join(s.text.strip() for s in segments),
        segments=segments,
    )


def _turn(start: float, end: float, speaker: str) -> LabelledTurn:
    return LabelledTurn(start=start, end=end, speaker=speaker)


# --- attribution ---------------------------------------------------------------------------


def test_word_goes_to_the_speaker_covering_most_of_it() -> None:
    words = _words(("one", 0.0, 1.0), ("two", 1.0, 2.0))
    # "one": A covers 0.3 s, B covers 0.7 s. "two": A covers 0.6 s (two turns), B 0.4 s.
    turns_ = [
        _turn(0.0, 0.3, "A"),
        _turn(0.3, 1.4, "B"),
        _turn(1.4, 1.7, "A"),
        _turn(1.7, 1.7, "B"),
        _turn(1.7, 2.0, "A"),
    ]
    out = attribute(_transcript([_segment(words)]), turns_)
    assert [w.speaker for w in out.words] == ["B", "A"]


def test_word_in_no_turn_gets_the_nearest_turns_speaker() -> None:
    words = _words(("early", 0.0, 0.2), ("gap", 3.2, 3.4), ("late", 9.0, 9.5))
    turns_ = [_turn(1.0, 2.0, "A"), _turn(3.8, 5.0, "B")]
    out = attribute(_transcript([_segment(w) for w in [[x] for x in words]]), turns_)
    # "early" is nearest A; "gap" is 1.3 s after A's end and 0.5 s before B's start.
    assert [w.speaker for w in out.words] == ["A", "B", "B"]
    assert [s.speaker for s in out.segments] == ["A", "B", "B"]


def test_nearest_turn_is_found_behind_a_longer_earlier_turn() -> None:
    # A long turn of A with a short backchannel of B inside it; a word after both, in a gap:
    # A's turn ends 1 s before the word, B's 4 s before it. The nearest turn is A's.
    words = _words(("after", 6.0, 6.5))
    turns_ = [_turn(0.0, 5.0, "A"), _turn(1.0, 2.0, "B"), _turn(20.0, 30.0, "C")]
    out = attribute(_transcript([_segment(words)]), turns_)
    assert out.words[0].speaker == "A"
    assert out.segments[0].speaker == "A"


def test_segment_split_where_its_words_change_speaker() -> None:
    words = _words(
        ("Yes,", 0.0, 0.4),
        ("right.", 0.5, 0.9),
        ("And", 1.2, 1.4),
        ("then?", 1.5, 2.0),
        ("Okay.", 2.4, 2.8),
    )
    other = _words(("Next.", 4.0, 4.5))
    transcript = _transcript(
        [_segment(words, id=0, tokens=[1, 2, 3]), _segment(other, id=1, tokens=[4, 5])]
    )
    turns_ = [_turn(0.0, 1.0, "A"), _turn(1.1, 2.2, "B"), _turn(2.3, 5.0, "A")]
    out = attribute(transcript, turns_)

    assert [s.id for s in out.segments] == [0, 1, 2, 3]
    assert [s.speaker for s in out.segments] == ["A", "B", "A", "A"]
    assert [s.text for s in out.segments] == [" Yes, right.", " And then?", " Okay.", " Next."]
    # The pieces' texts join back to the original words.
    pieces = out.segments[:3]
    assert " ".join(p.text.strip() for p in pieces) == "Yes, right. And then? Okay."
    assert [w.word for p in pieces for w in p.words or []] == [w.word for w in words]
    # Times from the words: each piece from its first word's start to its last word's end.
    assert [(p.start, p.end) for p in pieces] == [(0.0, 0.9), (1.2, 2.0), (2.4, 2.8)]
    # Tokens cannot be divided by word: dropped on the pieces, kept on an unsplit segment.
    assert [p.tokens for p in pieces] == [[], [], []]
    assert out.segments[3].tokens == [4, 5]
    # Every word of a piece carries the piece's speaker.
    for s in out.segments:
        assert {w.speaker for w in s.words or []} == {s.speaker}
    # The transcript's own text and duration are untouched.
    assert (out.text, out.duration) == (transcript.text, transcript.duration)


def test_split_pieces_of_a_no_space_language_join_without_spaces() -> None:
    words = _words(("我们", 0.0, 0.5), ("开会", 0.5, 1.0), ("好的", 1.5, 2.0), ("。", 2.0, 2.1))
    seg = Segment(start=0.0, end=2.1, text="我们开会好的。", words=words)
    transcript = Transcript(language="zh", duration=3.0, text="我们开会好的。", segments=[seg])
    out = attribute(transcript, [_turn(0.0, 1.2, "A"), _turn(1.2, 2.5, "B")])
    assert [(s.speaker, s.text.strip()) for s in out.segments] == [
        ("A", "我们开会"),
        ("B", "好的。"),
    ]


def test_segment_without_words_goes_whole_to_the_speaker_covering_most_of_it() -> None:
    segments = [
        Segment(id=0, start=0.0, end=4.0, text=" Mostly B.", tokens=[7, 8]),
        Segment(id=1, start=4.0, end=6.0, text=" All A."),
    ]
    turns_ = [_turn(0.0, 1.5, "A"), _turn(1.5, 4.0, "B"), _turn(4.0, 7.0, "A")]
    out = attribute(_transcript(segments), turns_)
    assert [(s.id, s.speaker, s.text, s.start, s.end) for s in out.segments] == [
        (0, "B", " Mostly B.", 0.0, 4.0),
        (1, "A", " All A.", 4.0, 6.0),
    ]
    assert out.segments[0].tokens == [7, 8]
    assert all(s.words is None for s in out.segments)


def test_no_turns_means_no_speaker_and_nothing_lost() -> None:
    words = _words(("a", 0.0, 0.5), ("b", 0.6, 1.0), ("c", 1.5, 2.0))
    transcript = _transcript(
        [
            _segment(words[:2], id=0, tokens=[1]),
            _segment(words[2:], id=1),
            Segment(id=2, start=3.0, end=4.0, text=" no words"),
        ]
    )
    out = attribute(transcript, [])
    assert not out.has_speakers
    assert [s.speaker for s in out.segments] == [None, None, None]
    assert [w.speaker for w in out.words] == [None, None, None]
    assert [(s.id, s.text, s.start, s.end, s.tokens) for s in out.segments] == [
        (s.id, s.text, s.start, s.end, s.tokens) for s in transcript.segments
    ]
    assert [w.word for w in out.words] == ["a", "b", "c"]


@st.composite
def _transcripts_and_turns(draw: st.DrawFn) -> tuple[Transcript, list[LabelledTurn]]:
    t = 0.0
    words: list[Word] = []
    for i in range(draw(st.integers(0, 30))):
        t += draw(st.floats(0.0, 1.0))
        length = draw(st.floats(0.0, 1.0))
        words.append(Word(word=f"w{i}", start=t, end=t + length))
        t += length
    segments: list[Segment] = []
    rest = words
    while rest:
        n = draw(st.integers(1, 6))
        chunk, rest = rest[:n], rest[n:]
        if draw(st.booleans()):
            segments.append(_segment(chunk, id=len(segments), tokens=[1, 2]))
        else:  # no word times: its text only
            segments.append(
                Segment(
                    id=len(segments),
                    start=chunk[0].start,
                    end=chunk[-1].end,
                    text=" " + " ".join(w.word for w in chunk),
                )
            )
    turn_list = [
        _turn(s, s + d, k)
        for s, d, k in draw(
            st.lists(
                st.tuples(st.floats(0.0, 40.0), st.floats(0.0, 10.0), st.sampled_from("ABC")),
                max_size=12,
            )
        )
    ]
    return _transcript(segments), turn_list


def _word_texts(transcript: Transcript) -> list[str]:
    """Every word in order: word timestamps where a segment has them, else its text."""
    return [
        w
        for s in transcript.segments
        for w in ([x.word for x in s.words] if s.words else s.text.split())
    ]


@settings(max_examples=300, deadline=None)
@given(_transcripts_and_turns())
def test_attribution_keeps_every_word_in_order(
    case: tuple[Transcript, list[LabelledTurn]],
) -> None:
    transcript, turn_list = case
    out = attribute(transcript, turn_list)
    assert _word_texts(out) == _word_texts(transcript)
    assert [(w.word, w.start, w.end) for w in out.words] == [
        (w.word, w.start, w.end) for w in transcript.words
    ]
    assert [s.id for s in out.segments] == list(range(len(out.segments)))
    speakers = {t.speaker for t in turn_list}
    for s in out.segments:
        if turn_list:
            assert s.speaker in speakers
        else:
            assert s.speaker is None
        for w in s.words or []:
            assert w.speaker == s.speaker
        if s.words:  # a piece's text is its words
            assert s.text.split() == [w.word for w in s.words]
    assert len(out.segments) >= len(transcript.segments)


def _overlap(turn_list: list[LabelledTurn], start: float, end: float) -> dict[str, float]:
    out: dict[str, float] = {}
    for t in turn_list:
        shared = min(end, t.end) - max(start, t.start)
        if shared > 0:
            out[t.speaker] = out.get(t.speaker, 0.0) + shared
    return out


def _distance(turn_list: list[LabelledTurn], speaker: str, middle: float) -> float:
    return min(
        max(t.start - middle, middle - t.end, 0.0) for t in turn_list if t.speaker == speaker
    )


def _assert_best_speaker(
    turn_list: list[LabelledTurn], start: float, end: float, got: str | None
) -> None:
    """``got`` covers most of [start, end]; when nobody covers any of it, ``got`` has a turn
    nearest to its middle (ties either way)."""
    assert got is not None
    overlap = _overlap(turn_list, start, end) if end > start else {}
    if overlap:
        assert overlap.get(got, 0.0) >= max(overlap.values()) - 1e-6, (start, end, got, overlap)
    else:
        middle = (start + end) / 2
        best = min(_distance(turn_list, t.speaker, middle) for t in turn_list)
        assert _distance(turn_list, got, middle) <= best + 1e-9, (start, end, got, best)


@settings(max_examples=300, deadline=None)
@given(_transcripts_and_turns())
def test_attribution_picks_most_overlap_else_nearest(
    case: tuple[Transcript, list[LabelledTurn]],
) -> None:
    transcript, turn_list = case
    if not turn_list:
        return
    out = attribute(transcript, turn_list)
    words = iter(out.words)
    for s in transcript.segments:
        if s.words:
            for w in s.words:
                _assert_best_speaker(turn_list, w.start, w.end, next(words).speaker)
    unsplit = [s for s in out.segments if not s.words]
    for s in unsplit:
        _assert_best_speaker(turn_list, s.start, s.end, s.speaker)


# --- labels and names ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("index", "label"),
    [
        (0, "A"),
        (1, "B"),
        (25, "Z"),
        (26, "AA"),
        (27, "AB"),
        (51, "AZ"),
        (52, "BA"),
        (701, "ZZ"),
        (702, "AAA"),
        (703, "AAB"),
    ],
)
def test_letter_label(index: int, label: str) -> None:
    assert naming.letter_label(index) == label


def test_letter_labels_are_distinct_and_in_order() -> None:
    labels = [naming.letter_label(i) for i in range(2000)]
    assert len(set(labels)) == len(labels)
    assert labels == sorted(labels, key=lambda s: (len(s), s))


def test_labels_in_order_of_first_appearance() -> None:
    turn_list = [Turn(5.0, 6.0, 0), Turn(0.0, 1.0, 2), Turn(2.0, 3.0, 1), Turn(7.0, 8.0, 2)]
    assert naming.labels(turn_list) == {2: "A", 1: "B", 0: "C"}
    assert naming.labels([]) == {}


def test_labels_use_known_names_and_skip_letters_taken_by_names() -> None:
    turn_list = [Turn(0.0, 1.0, 0), Turn(1.0, 2.0, 1), Turn(2.0, 3.0, 2), Turn(3.0, 4.0, 3)]
    # Speaker 1 is known as "Ana"; speaker 3 was named "A" by someone: letters skip "A".
    assert naming.labels(turn_list, {1: "Ana", 3: "A"}) == {0: "B", 1: "Ana", 2: "C", 3: "A"}
    assert naming.labels(turn_list, {0: "B"}) == {0: "B", 1: "A", 2: "C", 3: "D"}


def test_labels_past_z() -> None:
    turn_list = [Turn(float(k), float(k) + 0.5, k) for k in range(28)]
    out = naming.labels(turn_list)
    assert [out[k] for k in (0, 25, 26, 27)] == ["A", "Z", "AA", "AB"]


def _orthonormal(n: int, dim: int, seed: int) -> np.ndarray:
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(dim, n)))
    out: np.ndarray = q.T.astype(np.float32)
    return out


def _unit(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)
    return out


def test_match_known_pairs_each_voice_with_its_reference() -> None:
    basis = _orthonormal(4, 16, seed=1)
    voices = basis[:3]  # three voices found
    # References of voice 2 and voice 0 (slightly different recordings).
    references = _unit(np.stack([basis[2] + 0.2 * basis[3], basis[0] + 0.3 * basis[3]]))
    assert naming.match_known(voices, references, ["Ana", "Bo"]) == {2: "Ana", 0: "Bo"}


def test_match_known_one_name_per_voice() -> None:
    basis = _orthonormal(3, 16, seed=2)
    voices = basis[:2]
    # Both references resemble voice 0; voice 0 gets the closer one, the other one names
    # nobody (voice 1 is too different from it).
    references = _unit(np.stack([basis[0] + 0.1 * basis[2], basis[0] + 0.4 * basis[2]]))
    assert naming.match_known(voices, references, ["Ana", "Bo"]) == {0: "Ana"}
    # A reference may resemble two voices: it names one of them only.
    both = _unit(np.stack([basis[0] + 0.9 * basis[1]]))
    assert naming.match_known(voices, both, ["Cy"]) == {0: "Cy"}


def test_match_known_below_the_threshold_names_nobody() -> None:
    basis = _orthonormal(3, 16, seed=3)
    voices = basis[:2]
    sim = naming.NAME_SIMILARITY
    just_below = _unit(
        np.stack([(sim - 0.02) * basis[0] + math.sqrt(1 - (sim - 0.02) ** 2) * basis[2]])
    )
    just_above = _unit(
        np.stack([(sim + 0.02) * basis[1] + math.sqrt(1 - (sim + 0.02) ** 2) * basis[2]])
    )
    assert naming.match_known(voices, just_below, ["Ana"]) == {}
    assert naming.match_known(voices, just_above, ["Bo"]) == {1: "Bo"}
    assert naming.match_known(voices, np.zeros((0, 16), np.float32), []) == {}
    assert naming.match_known(np.zeros((0, 16), np.float32), voices, ["x", "y"]) == {}


def test_renamed_replaces_labels_on_segments_and_words() -> None:
    a = [Word(word="hi", start=0.0, end=0.5, speaker="A")]
    b = [Word(word="yo", start=1.0, end=1.5, speaker="B")]
    c = [Word(word="ok", start=2.0, end=2.5, speaker="C")]
    transcript = Transcript(
        duration=3.0,
        text="hi yo ok",
        segments=[
            Segment(id=0, start=0.0, end=0.5, text=" hi", words=a, speaker="A"),
            Segment(id=1, start=1.0, end=1.5, text=" yo", words=b, speaker="B"),
            Segment(id=2, start=2.0, end=2.5, text=" ok", words=c, speaker="C"),
            Segment(id=3, start=2.6, end=2.9, text=" (no words)", speaker="A"),
        ],
    )
    out = naming.renamed(transcript, {"A": "Ana María", "C": "Cy", "Z": "Zed"})
    assert [s.speaker for s in out.segments] == ["Ana María", "B", "Cy", "Ana María"]
    assert [w.speaker for w in out.words] == ["Ana María", "B", "Cy"]
    assert out.segments[3].words is None
    assert [(s.text, s.start, s.end) for s in out.segments] == [
        (s.text, s.start, s.end) for s in transcript.segments
    ]
    # The input is not changed.
    assert [s.speaker for s in transcript.segments] == ["A", "B", "C", "A"]
    assert naming.renamed(transcript, {}) == transcript


def test_clean_speaker_name_collapses_whitespace() -> None:
    assert clean_speaker_name("  Ana \t María\n ") == "Ana María"
    assert clean_speaker_name("Dr. O'Brien-Smith") == "Dr. O'Brien-Smith"
    assert clean_speaker_name("李雷") == "李雷"
    assert clean_speaker_name("x" * MAX_SPEAKER_NAME_CHARS) == "x" * MAX_SPEAKER_NAME_CHARS
    # The length is counted after collapsing.
    assert clean_speaker_name(" " * 10 + "y" * MAX_SPEAKER_NAME_CHARS + " " * 10) == "y" * 64


@pytest.mark.parametrize(
    "name",
    [
        "",
        "   ",
        "\n\t",
        "x" * (MAX_SPEAKER_NAME_CHARS + 1),
        "a " * 33,  # 65 characters once collapsed
        "<b>Ana</b>",
        "Ana <",
        "Ana > Bo",
        "Tom & Jerry",
        "Ana\x00",
        "Ana\x07Bo",
        "\x1b[31mAna",
        "Ana\x7f",
        "Ana\u200bBo",  # zero-width space (a format character)
    ],
)
def test_clean_speaker_name_refuses(name: str) -> None:
    with pytest.raises(ValueError):
        clean_speaker_name(name)


# --- clustering ----------------------------------------------------------------------------

_DIM = 32


def _groups(sizes: list[int], *, seed: int = 0, noise: float = 0.15) -> np.ndarray:
    """Unit vectors scattered around orthogonal directions, one group per size, in blocks."""
    rng = np.random.default_rng(seed)
    directions = _orthonormal(len(sizes), _DIM, seed=seed + 100)
    points = [
        directions[k] + noise * rng.normal(size=(n, _DIM)) / math.sqrt(_DIM)
        for k, n in enumerate(sizes)
    ]
    return _unit(np.concatenate(points))


def _directions(sizes: list[int], seed: int = 0) -> np.ndarray:
    return _orthonormal(len(sizes), _DIM, seed=seed + 100)


def test_three_separated_groups_give_three_centroids() -> None:
    sizes = [30, 20, 25]
    centres = clustering.centroids(_groups(sizes), SpeakerCount(), threshold=0.4)
    assert centres.shape == (3, _DIM)
    assert np.allclose(np.linalg.norm(centres, axis=1), 1.0, atol=1e-5)
    # Each centroid is one of the directions, each direction has a centroid.
    similarity = centres @ _directions(sizes).T
    assert sorted(similarity.argmax(1).tolist()) == [0, 1, 2]
    assert similarity.max(1).min() > 0.95


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (SpeakerCount(exactly=2), 2),
        (SpeakerCount(exactly=3), 3),
        (SpeakerCount(at_least=4), 4),
        (SpeakerCount(at_least=2), 3),
        (SpeakerCount(at_most=2), 2),
        (SpeakerCount(at_most=5), 3),
        (SpeakerCount(at_least=1, at_most=3), 3),
    ],
)
def test_speaker_count_constraints(count: SpeakerCount, expected: int) -> None:
    centres = clustering.centroids(_groups([30, 20, 25]), count, threshold=0.4)
    assert centres.shape == (expected, _DIM)
    assert np.allclose(np.linalg.norm(centres, axis=1), 1.0, atol=1e-5)


def test_one_embedding_is_one_speaker() -> None:
    one = _groups([1])
    centres = clustering.centroids(one, SpeakerCount(), threshold=0.4)
    assert centres.shape == (1, _DIM)
    assert np.allclose(centres, one, atol=1e-5)


def test_no_embeddings_no_speakers() -> None:
    assert clustering.centroids(np.zeros((0, _DIM), np.float32), SpeakerCount(), 0.4).shape == (
        0,
        _DIM,
    )


def test_more_than_max_clustered_still_finds_the_speakers() -> None:
    sizes = [70, 50, 60]
    embeddings = _groups(sizes, seed=5)
    # Interleave the groups, as speakers alternate in a conversation.
    order = np.random.default_rng(6).permutation(len(embeddings))
    centres = clustering.centroids(embeddings[order], SpeakerCount(), 0.4, max_clustered=25)
    assert centres.shape == (3, _DIM)
    similarity = centres @ _directions(sizes, seed=5).T
    assert sorted(similarity.argmax(1).tolist()) == [0, 1, 2]
    fixed = clustering.centroids(embeddings[order], SpeakerCount(exactly=2), 0.4, max_clustered=25)
    assert fixed.shape == (2, _DIM)


def test_assign_goes_to_the_most_similar_centroid() -> None:
    centres = _orthonormal(3, _DIM, seed=7)
    embeddings = _unit(centres[[2, 0, 1, 0]] + 0.1 * centres[[0, 1, 2, 2]])
    out = clustering.assign(embeddings, np.array([0, 1, 2, 3]), centres)
    assert out.tolist() == [2, 0, 1, 0]


def test_assign_keeps_local_speakers_of_one_window_apart() -> None:
    centres = _orthonormal(2, _DIM, seed=8)
    a = _unit(0.9 * centres[0] + 0.1 * centres[1])
    b = _unit(0.8 * centres[0] + 0.3 * centres[1])
    assert (np.stack([a, b]) @ centres.T).argmax(1).tolist() == [0, 0]  # both closest to 0
    embeddings = np.stack([a, b, b])
    out = clustering.assign(embeddings, np.array([0, 0, 1]), centres)
    # In window 0 they are two people: b, less like centroid 0, goes to 1. Alone in window 1,
    # b goes to its closest centroid.
    assert out.tolist() == [0, 1, 0]


def test_assign_with_more_local_speakers_than_centroids() -> None:
    centres = _orthonormal(2, _DIM, seed=9)
    embeddings = _unit(np.stack([centres[0], centres[0] + 0.2 * centres[1], centres[1]]))
    out = clustering.assign(embeddings, np.array([0, 0, 0]), centres)
    assert sorted(out[[0, 2]].tolist()) == [0, 1] and out[0] == 0 and out[2] == 1
    assert out[1] in (0, 1)
    one = clustering.assign(embeddings, np.array([0, 0, 0]), centres[:1])
    assert one.tolist() == [0, 0, 0]


# --- turns from window activity ------------------------------------------------------------

_SR = segmentation.SAMPLE_RATE
_FRAME = segmentation.FRAME_STEP / _SR  # seconds
_TOLERANCE = 2 * _FRAME


def _activity(
    starts: list[int], truth: list[list[tuple[float, float]]], local_of: list[list[int]]
) -> np.ndarray:
    """(W, FRAMES, 3) activity of each window: local speaker ``j`` of window ``w`` is global
    speaker ``local_of[w][j]``, active where its frame's centre is in one of its spans."""
    out = np.zeros((len(starts), segmentation.FRAMES, 3), np.uint8)
    for w, start in enumerate(starts):
        centres = (start + segmentation.frame_centre(np.arange(segmentation.FRAMES))) / _SR
        for j, g in enumerate(local_of[w]):
            for a, b in truth[g]:
                out[w, (centres >= a) & (centres < b), j] = 1
    return out


def _spans(turn_list: list[Turn], speaker: int) -> list[tuple[float, float]]:
    return [(t.start, t.end) for t in turn_list if t.speaker == speaker]


def _close(got: list[tuple[float, float]], want: list[tuple[float, float]]) -> bool:
    return len(got) == len(want) and all(
        abs(g0 - w0) <= _TOLERANCE and abs(g1 - w1) <= _TOLERANCE
        for (g0, g1), (w0, w1) in zip(got, want, strict=True)
    )


def _run(
    seconds: float, truth: list[list[tuple[float, float]]], local_of: list[list[int]]
) -> list[Turn]:
    samples = int(seconds * _SR)
    starts = segmentation.window_starts(samples, 5 * _SR)
    assert len(starts) == len(local_of)
    activity = _activity(starts, truth, local_of)
    speaker_of = np.array([row + [-1] * (3 - len(row)) for row in local_of])
    active = turns.timeline(samples, starts, activity, speaker_of, len(truth))
    assert active.shape == (turns.grid_size(samples), len(truth))
    return turns.turns_of(active, samples / _SR)


def test_two_agreeing_windows_give_the_turns() -> None:
    truth = [[(0.5, 6.0), (13.0, 14.0)], [(7.0, 12.4)]]
    # Local speaker 1 of the first window is local speaker 0 of the second (and vice versa).
    got = _run(15.0, truth, [[0, 1], [1, 0]])
    assert _close(_spans(got, 0), truth[0]), got
    assert _close(_spans(got, 1), truth[1]), got
    assert [t.start for t in got] == sorted(t.start for t in got)


def test_overlapping_speech_gives_overlapping_turns() -> None:
    truth = [[(1.0, 8.0)], [(6.0, 12.0)]]
    got = _run(15.0, truth, [[0, 1], [0, 1]])
    assert _close(_spans(got, 0), truth[0]), got
    assert _close(_spans(got, 1), truth[1]), got
    (a,), (b,) = _spans(got, 0), _spans(got, 1)
    assert b[0] < a[1]  # both speak from 6 s to 8 s


def test_a_local_speaker_of_unknown_identity_is_ignored() -> None:
    truth = [[(0.5, 4.0)], [(7.0, 9.0)]]
    samples = 15 * _SR
    starts = segmentation.window_starts(samples, 5 * _SR)
    activity = _activity(starts, truth, [[0, 1], [0, 1]])
    speaker_of = np.array([[0, -1, -1], [0, -1, -1]])
    got = turns.turns_of(turns.timeline(samples, starts, activity, speaker_of, 2), 15.0)
    assert _close(_spans(got, 0), truth[0]), got
    assert _spans(got, 1) == []


def test_turns_of_grid() -> None:
    active = np.zeros((100, 2), bool)
    active[10:20, 0] = True
    active[15:30, 1] = True
    active[90:100, 0] = True
    duration = 95 * _FRAME
    got = turns.turns_of(active, duration)
    assert [t.speaker for t in got] == [0, 1, 0]
    assert all(t.end <= duration for t in got)
    assert got[2].end == round(duration, 3)
    assert abs((got[0].end - got[0].start) - 10 * _FRAME) < 0.002
    assert abs((got[1].end - got[1].start) - 15 * _FRAME) < 0.002
    assert abs(got[1].start - got[0].start - 5 * _FRAME) < 0.002
    assert turns.turns_of(np.zeros((50, 3), bool), 1.0) == []


# --- segmentation windows ------------------------------------------------------------------


def test_window_starts_short_file_is_one_window() -> None:
    for samples in (0, 1, 16_000, segmentation.WINDOW):
        assert segmentation.window_starts(samples, 5 * _SR) == [0]


def test_window_starts_last_window_flush_with_the_end() -> None:
    window = segmentation.WINDOW
    assert segmentation.window_starts(15 * _SR, 5 * _SR) == [0, 5 * _SR]
    assert segmentation.window_starts(window + 1, 5 * _SR) == [0, 1]
    assert segmentation.window_starts(17 * _SR, 5 * _SR) == [0, 5 * _SR, 7 * _SR]


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 2 * 3600 * _SR),
    st.integers(1_000, segmentation.WINDOW),
)
def test_window_starts_cover_the_file(samples: int, step: int) -> None:
    starts = segmentation.window_starts(samples, step)
    assert starts[0] == 0
    assert all(0 < b - a <= step for a, b in itertools.pairwise(starts))
    assert starts[-1] + segmentation.WINDOW == max(samples, segmentation.WINDOW)


def test_decode_powerset() -> None:
    scores = np.full((2, 7, 7), -10.0, np.float32)
    for c in range(7):
        scores[0, c, c] = 0.0
        scores[1, c, 6 - c] = 0.0
    activity = segmentation.decode_powerset(scores)
    assert activity.shape == (2, 7, 3) and activity.dtype == np.uint8
    expected = [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1]]
    assert activity[0].tolist() == expected
    assert activity[1].tolist() == expected[::-1]


# --- embedder windows ----------------------------------------------------------------------


def test_pick_windows_tiles_few_frames() -> None:
    frames = np.array([3, 4, 5, 9, 10])
    (window,) = embedding.pick_windows(frames, max_windows=3)
    assert len(window) == embedding.FRAMES
    assert window.tolist() == (frames.tolist() * 16)[: embedding.FRAMES]
    assert embedding.pick_windows(np.array([], int), 3) == []


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 2000), st.integers(1, 10), st.integers(0, 500))
def test_pick_windows(count: int, max_windows: int, offset: int) -> None:
    frames = np.arange(count) * 2 + offset  # sorted, not contiguous
    windows = embedding.pick_windows(frames, max_windows)
    assert 1 <= len(windows) <= max_windows
    for w in windows:
        assert len(w) == embedding.FRAMES
        assert set(w.tolist()) <= set(frames.tolist())
    if count >= embedding.FRAMES:
        position = {int(f): i for i, f in enumerate(frames)}
        firsts = [position[int(w[0])] for w in windows]
        for w, first in zip(windows, firsts, strict=True):
            assert w.tolist() == frames[first : first + embedding.FRAMES].tolist()
        assert firsts == sorted(set(firsts))
        # Overlapping by at most half a window.
        assert all(b - a >= embedding.FRAMES // 2 for a, b in itertools.pairwise(firsts))
        assert firsts[0] == 0
        if max_windows > 1:  # spread to the end of the speech
            assert firsts[-1] + embedding.FRAMES > count - embedding.FRAMES // 2


# --- mel features --------------------------------------------------------------------------


def test_mel_filters_shape_and_every_filter_nonnegative_and_nonempty() -> None:
    filters = features.mel_filters()
    assert filters.shape == (features.N_MELS, features.N_FFT // 2 + 1) == (40, 257)
    assert (filters >= 0).all()
    assert (filters.sum(1) > 0).all()
    # Triangles in increasing order of frequency.
    peaks = filters.argmax(1)
    assert (np.diff(peaks) >= 0).all() and peaks[-1] > peaks[0]


def _sine(hz: float, seconds: float = 0.5, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * features.SAMPLE_RATE)) / features.SAMPLE_RATE
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def _band_of(hz: float) -> int:
    """The band whose triangle weighs ``hz`` (an FFT bin's frequency) the most."""
    bin_ = round(hz * features.N_FFT / features.SAMPLE_RATE)
    return int(features.mel_filters()[:, bin_].argmax())


@pytest.mark.parametrize("hz", [250.0, 1000.0, 3000.0])
def test_log_mel_of_a_sine_peaks_at_its_band(hz: float) -> None:
    pcm = _sine(hz)
    n = features.frame_count(len(pcm))
    assert n == 1 + (len(pcm) - features.N_FFT) // features.HOP
    mel = features.log_mel(pcm, np.arange(n))
    assert mel.shape == (n, features.N_MELS) and mel.dtype == np.float32
    assert features.mel_filters()[_band_of(hz), round(hz * 512 / 16000)] > 0
    assert set(mel.argmax(1).tolist()) == {_band_of(hz)}


def test_log_mel_of_1_khz_is_band_13() -> None:
    # Slaney mel: 1 kHz is mel 15; 42 edges from 0 to mel(8 kHz) = 45.25, so band 13 peaks
    # at mel 15.45 (band 12 at 14.35).
    assert _band_of(1000.0) == 13
    mel = features.log_mel(_sine(1000.0), np.array([0, 5, 10]))
    assert mel.argmax(1).tolist() == [13, 13, 13]


def test_log_mel_int16_is_scaled_like_float() -> None:
    as_int = np.round(_sine(440.0) * 32767).astype(np.int16)
    as_float = as_int.astype(np.float32) / 32768
    frames = np.array([0, 7, 20])
    assert np.allclose(
        features.log_mel(as_int, frames), features.log_mel(as_float, frames), atol=1e-3
    )
    assert features.log_mel(as_float, np.array([], int)).shape == (0, features.N_MELS)
    assert features.frame_count(features.N_FFT - 1) == 0
