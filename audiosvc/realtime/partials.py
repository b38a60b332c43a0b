"""Partial transcripts of a turn still being spoken. Each new decode of the growing turn may
change its last words; what two decodes in a row agree on is taken as settled (the "local
agreement" policy of streaming Whisper) and sent as a delta. Deltas only ever add: a settled
word is never taken back, and the turn's final transcript is the authority. Pure."""

from __future__ import annotations


def agreed(previous: str, current: str) -> str:
    """The words ``previous`` and ``current`` begin with alike, as ``current`` spells them."""
    a, b = previous.split(), current.split()
    n = 0
    while n < min(len(a), len(b)) and _same(a[n], b[n]):
        n += 1
    return " ".join(b[:n])


def _same(x: str, y: str) -> bool:
    strip = ".,!?;:\"'()"
    return x.strip(strip).lower() == y.strip(strip).lower()


def delta(sent: str, settled: str) -> str:
    """What to send so the client's text (``sent`` so far) gains the words of ``settled``
    beyond it, with a leading space; nothing if ``settled`` does not extend what was sent
    (word by word, as :func:`agreed` compares them)."""
    s, t = sent.split(), settled.split()
    if len(t) <= len(s) or not all(_same(x, y) for x, y in zip(s, t, strict=False)):
        return ""
    new = " ".join(t[len(s) :])
    return " " + new if s else new
