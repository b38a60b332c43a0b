"""A live session's input audio, in the formats the Realtime protocol names, to the engine's
16 kHz mono int16 PCM. Pure functions over numpy arrays.

* ``audio/pcm``: 16-bit little-endian mono at 24 kHz (the protocol's only PCM rate);
* ``audio/pcmu`` and ``audio/pcma``: G.711 mu-law and A-law at 8 kHz (telephony).
"""

from __future__ import annotations

from typing import Final, Literal

import numpy as np
from scipy.signal import resample_poly

from audiosvc.media import SAMPLE_RATE

Format = Literal["audio/pcm", "audio/pcmu", "audio/pcma"]
RATES: Final[dict[str, int]] = {"audio/pcm": 24000, "audio/pcmu": 8000, "audio/pcma": 8000}
BYTES_PER_SAMPLE: Final[dict[str, int]] = {"audio/pcm": 2, "audio/pcmu": 1, "audio/pcma": 1}


def _ulaw_table() -> np.ndarray:
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    exponent = (u >> 4) & 0x07
    mantissa = u & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(u & 0x80, -magnitude, magnitude).astype(np.int16)


def _alaw_table() -> np.ndarray:
    a = np.arange(256, dtype=np.int32) ^ 0x55
    exponent = (a >> 4) & 0x07
    mantissa = a & 0x0F
    magnitude = np.where(
        exponent == 0, (mantissa << 4) + 8, ((mantissa << 4) + 0x108) << np.maximum(exponent - 1, 0)
    )
    return np.where(a & 0x80, magnitude, -magnitude).astype(np.int16)


_TABLES: Final[dict[str, np.ndarray]] = {"audio/pcmu": _ulaw_table(), "audio/pcma": _alaw_table()}


def samples(data: bytes, fmt: str) -> np.ndarray:
    """The int16 samples ``data`` holds, at the format's own rate. PCM with an odd byte count
    is the caller's error (a sample cut in two): raises ValueError."""
    if fmt == "audio/pcm":
        if len(data) % 2:
            raise ValueError("16-bit PCM comes in whole samples: an even number of bytes")
        return np.frombuffer(data, dtype="<i2").astype(np.int16)
    decoded: np.ndarray = _TABLES[fmt][np.frombuffer(data, dtype=np.uint8)]
    return decoded


def to_engine_rate(pcm: np.ndarray, rate: int) -> np.ndarray:
    """``pcm`` at ``rate`` resampled to 16 kHz (polyphase, with its anti-aliasing filter)."""
    if rate == SAMPLE_RATE or not len(pcm):
        return pcm.astype(np.int16, copy=False)
    g = np.gcd(rate, SAMPLE_RATE)
    out: np.ndarray = resample_poly(pcm.astype(np.float32), SAMPLE_RATE // g, rate // g)
    return np.clip(np.round(out), -32768, 32767).astype(np.int16)


def from_engine_rate(pcm: np.ndarray, fmt: str) -> bytes:
    """16 kHz int16 PCM as bytes of ``fmt`` (for audio sent back: the voice's answer)."""
    rate = RATES[fmt]
    g = np.gcd(rate, SAMPLE_RATE)
    out = pcm.astype(np.float32)
    if rate != SAMPLE_RATE:
        out = resample_poly(out, rate // g, SAMPLE_RATE // g)
    linear = np.clip(np.round(out), -32768, 32767).astype(np.int16)
    if fmt == "audio/pcm":
        return linear.astype("<i2").tobytes()
    return encode_g711(linear, fmt)


def encode_g711(linear: np.ndarray, fmt: str) -> bytes:
    """The code whose decoded value is nearest each sample (the tables are monotonic in
    magnitude per sign, so a search over the sorted decoded values finds it)."""
    table = _TABLES[fmt].astype(np.int32)
    order = np.argsort(table, kind="stable")
    values = table[order]
    x = linear.astype(np.int32)
    i = np.clip(np.searchsorted(values, x), 1, len(values) - 1)
    nearer_left = (x - values[i - 1]) <= (values[i] - x)
    codes = order[np.where(nearer_left, i - 1, i)]
    return codes.astype(np.uint8).tobytes()
