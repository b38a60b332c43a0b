"""The speaker embedder's front end: log10 mel power, 40 Slaney bands, 25 ms Hamming windows
in 32 ms FFT frames every 10 ms (librosa's ``melspectrogram(n_fft=512, hop_length=160,
win_length=400, window="hamming", center=False)``, replicated and checked against librosa
when the model was chosen). Pure functions; frames are computed only where they are needed.
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.fft

SAMPLE_RATE = 16_000
N_FFT = 512
HOP = 160
WIN_LENGTH = 400
N_MELS = 40


def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    f_sp = 200.0 / 3
    min_log_hz, logstep = 1000.0, np.log(6.4) / 27.0
    mels = f / f_sp
    log_part = min_log_hz / f_sp + np.log(np.maximum(f, 1e-10) / min_log_hz) / logstep
    return np.where(f >= min_log_hz, log_part, mels)


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    f_sp = 200.0 / 3
    min_log_hz, logstep = 1000.0, np.log(6.4) / 27.0
    min_log_mel = min_log_hz / f_sp
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)


@functools.cache
def mel_filters() -> np.ndarray:
    """(N_MELS, N_FFT // 2 + 1) Slaney-scale, Slaney-normalised triangular filters."""
    fft_hz = np.linspace(0, SAMPLE_RATE / 2, 1 + N_FFT // 2)
    edges = _mel_to_hz(
        np.linspace(_hz_to_mel(np.array(0.0)), _hz_to_mel(np.array(SAMPLE_RATE / 2)), N_MELS + 2)
    )
    widths = np.diff(edges)
    ramps = edges[:, None] - fft_hz[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (edges[2 : N_MELS + 2] - edges[:N_MELS]))[:, None]
    return weights.astype(np.float32)


@functools.cache
def _window() -> np.ndarray:
    k = np.arange(WIN_LENGTH)
    hamming = 0.54 - 0.46 * np.cos(2 * np.pi * k / WIN_LENGTH)  # periodic, as librosa
    padded = np.zeros(N_FFT, np.float32)
    left = (N_FFT - WIN_LENGTH) // 2
    padded[left : left + WIN_LENGTH] = hamming
    return padded


def frame_count(samples: int) -> int:
    """How many 10 ms frames a signal of ``samples`` has (frame j starts at sample 160 j)."""
    return 0 if samples < N_FFT else 1 + (samples - N_FFT) // HOP


def log_mel(pcm: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """(len(frames), N_MELS) log10 mel power of the given frame indices of ``pcm`` (int16 or
    float, 16 kHz mono); each frame j covers samples [160 j, 160 j + 512)."""
    if len(frames) == 0:
        return np.zeros((0, N_MELS), np.float32)
    starts = np.asarray(frames, dtype=np.int64) * HOP
    block = np.asarray(pcm[starts[:, None] + np.arange(N_FFT)[None, :]], dtype=np.float32)
    if pcm.dtype == np.int16:
        block *= 1.0 / 32768.0
    spectrum = scipy.fft.rfft(block * _window(), axis=1)
    power = (spectrum.real**2 + spectrum.imag**2).astype(np.float32)
    out: np.ndarray = np.log10(power @ mel_filters().T + 1e-10).astype(np.float32)
    return out
