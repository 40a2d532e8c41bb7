"""Source features from audio: F0, periodicity and aperiodicity at the target frame rate.

A simple, robust estimator based on the normalised cross-correlation function (NCCF):

0. Hum: the signal is first high-passed at ``HUM_CUTOFF_HZ`` = 200 Hz (Butterworth order 4,
   zero-phase, so about -64 dB at 50/60 Hz and -35 dB at 120 Hz). Real recordings often carry
   mains hum (50/60 Hz and harmonics); a hum is perfectly periodic, so without this step the
   NCCF locks onto it in silence and fricatives (F0 = 60 Hz where there is no voice). Voiced
   speech keeps its harmonics above the cut-off, which carry its period even for low voices
   (the fundamental itself is not needed). Every step below uses the high-passed signal.
1. Level: the RMS of each frame (40 ms window centred on ``t_i = i / frame_rate``) of the
   full-band signal, in dB relative to the loud frames of the utterance (99th percentile);
   ``weight = clip((level_db - silence_db) / -silence_db, 0, 1)`` so silence (more than
   ``silence_db`` = 40 dB below the loud frames) weighs 0 and loud frames 1.
2. Correlation: the signal is low-passed at 1 kHz (where voicing harmonics dominate) and for
   each frame the NCCF ``r(tau) = sum a[n] a[n+tau] / sqrt(sum a[n]^2 sum a[n+tau]^2)`` over
   lags ``tau`` between ``rate / f0_max`` and ``rate / f0_min`` is computed (by FFT). The
   peak is the shortest-lag local maximum reaching 0.9 x the largest one (against octave
   errors), refined by parabolic interpolation; ``corr = max(r(peak), 0)``.
3. Outputs, one row per frame:
   - ``F0`` (Hz): ``rate / peak lag`` where the frame is voiced (``corr >= 0.5`` and
     ``weight >= 0.25``), 5-frame median-smoothed; unvoiced frames are linearly interpolated
     between voiced neighbours (held at the ends) so the track is continuous; 0 everywhere
     when no frame is voiced.
   - ``periodicity`` (0-1): ``corr * weight`` - loud, periodic frames near 1.
   - ``aperiodicity`` (0-1): ``(1 - corr) * weight`` - loud noise-like frames (fricatives,
     bursts) near 1; silence has both near 0.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

SOURCE_NAMES = ("F0", "periodicity", "aperiodicity")
SOURCE_UNITS = ("Hz", "1", "1")
SOURCE_DESCRIPTIONS = {
    "F0": "fundamental frequency from the audio (NCCF), interpolated through unvoiced "
          "frames (Hz)",
    "periodicity": "periodic energy share: NCCF peak x loudness weight, 0-1",
    "aperiodicity": "aperiodic energy share: (1 - NCCF peak) x loudness weight, 0-1",
}

VOICING_THRESHOLD = 0.5
MIN_VOICED_WEIGHT = 0.25
OCTAVE_TOLERANCE = 0.9
CHUNK_FRAMES = 256
HUM_CUTOFF_HZ = 200.0
HUM_FILTER_ORDER = 4


def remove_hum(x: np.ndarray, rate: int) -> np.ndarray:
    """``x`` high-passed above mains hum (module docstring, step 0)."""
    if len(x) <= 3 * (2 * HUM_FILTER_ORDER + 1):
        return x
    sos = signal.butter(HUM_FILTER_ORDER, HUM_CUTOFF_HZ, btype="high", fs=rate, output="sos")
    return signal.sosfiltfilt(sos, x)


def _frames(x: np.ndarray, centres: np.ndarray, start_offset: int, length: int) -> np.ndarray:
    """``[T, length]`` segments ``x[c + start_offset : c + start_offset + length]``, zero-padded."""
    pad = length + abs(start_offset) + 1
    padded = np.concatenate([np.zeros(pad), x, np.zeros(pad)])
    index = centres[:, None] + start_offset + pad + np.arange(length)[None, :]
    return padded[index]


def _nccf(segments: np.ndarray, window: int, max_lag: int) -> np.ndarray:
    """NCCF ``[T, max_lag + 1]`` of segments ``[T, window + max_lag]`` for lags 0..max_lag."""
    head = segments[:, :window]
    nfft = 1 << int(np.ceil(np.log2(2 * window + max_lag)))
    cross = np.fft.irfft(np.conj(np.fft.rfft(head, nfft)) * np.fft.rfft(segments, nfft), nfft)
    cross = cross[:, : max_lag + 1]
    power = np.cumsum(np.concatenate([np.zeros((len(segments), 1)), segments ** 2], axis=1),
                      axis=1)
    lagged_energy = power[:, window: window + max_lag + 1] - power[:, : max_lag + 1]
    head_energy = power[:, window: window + 1]
    return cross / np.sqrt(np.maximum(head_energy * lagged_energy, 1e-20))


def _pick_peaks(r: np.ndarray, min_lag: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``r`` ``[T, L]``: (refined peak lag, peak value) searched from ``min_lag``."""
    n, lags = r.shape
    peak_lag = np.full(n, np.nan)
    peak_val = np.zeros(n)
    inner = r[:, min_lag:-1]
    local_max = (inner >= r[:, min_lag - 1:-2]) & (inner >= r[:, min_lag + 1:])
    best = np.max(np.where(local_max, inner, -np.inf), axis=1)
    for i in np.flatnonzero(np.isfinite(best) & (best > 0)):
        candidates = np.flatnonzero(local_max[i] & (inner[i] >= OCTAVE_TOLERANCE * best[i]))
        k = int(candidates[0]) + min_lag
        left, mid, right = r[i, k - 1], r[i, k], r[i, k + 1]
        denom = left - 2 * mid + right
        shift = 0.5 * (left - right) / denom if denom < 0 else 0.0
        peak_lag[i] = k + float(np.clip(shift, -0.5, 0.5))
        peak_val[i] = mid
    return peak_lag, peak_val


def _interpolate_unvoiced(f0: np.ndarray, voiced: np.ndarray) -> np.ndarray:
    if not voiced.any():
        return np.zeros_like(f0)
    idx = np.arange(len(f0))
    smoothed = f0.copy()
    voiced_idx = np.flatnonzero(voiced)
    values = f0[voiced_idx]
    if len(values) >= 5:
        values = signal.medfilt(values, 5)
    smoothed = np.interp(idx, voiced_idx, values)
    return smoothed


def source_features(audio: np.ndarray, rate: int, frame_rate: float = 100.0,
                    n_frames: int | None = None, f0_min: float = 60.0, f0_max: float = 400.0,
                    window_s: float = 0.04, silence_db: float = -40.0) -> np.ndarray:
    """F0 / periodicity / aperiodicity, float32 ``[n_frames, 3]`` (``SOURCE_NAMES`` order).

    ``audio`` is mono ``[samples]`` at ``rate`` Hz; frame ``i`` is centred on
    ``i / frame_rate`` s; ``n_frames`` defaults to the frames covering the audio.
    """
    x = np.asarray(audio, dtype=np.float64)
    x = remove_hum(x - x.mean(), rate) if len(x) else x
    if n_frames is None:
        n_frames = int(np.floor(len(x) / rate * frame_rate + 1e-6)) + 1
    window = int(round(window_s * rate))
    min_lag = max(2, int(np.floor(rate / f0_max)))
    max_lag = int(np.ceil(rate / f0_min)) + 1
    centres = np.round(np.arange(n_frames) * rate / frame_rate).astype(np.int64)

    level = np.sqrt(np.mean(_frames(x, centres, -window // 2, window) ** 2, axis=1))
    level_db = 20 * np.log10(level + 1e-10)
    loud = np.percentile(level_db, 99) if n_frames else 0.0
    weight = np.clip((level_db - loud - silence_db) / -silence_db, 0.0, 1.0)

    sos = signal.butter(4, min(1000.0, 0.45 * rate), btype="low", fs=rate, output="sos")
    low = signal.sosfiltfilt(sos, x) if len(x) > 30 else x
    lag = np.full(n_frames, np.nan)
    corr = np.zeros(n_frames)
    for start in range(0, n_frames, CHUNK_FRAMES):
        stop = min(start + CHUNK_FRAMES, n_frames)
        segments = _frames(low, centres[start:stop], -window // 2, window + max_lag)
        lag[start:stop], corr[start:stop] = _pick_peaks(_nccf(segments, window, max_lag),
                                                        min_lag)
    corr = np.clip(corr, 0.0, 1.0)
    voiced = (corr >= VOICING_THRESHOLD) & (weight >= MIN_VOICED_WEIGHT) & np.isfinite(lag)
    f0 = np.where(voiced, rate / np.where(np.isfinite(lag), lag, 1.0), 0.0)
    f0 = _interpolate_unvoiced(f0, voiced)
    out = np.stack([f0, corr * weight, (1.0 - corr) * weight], axis=1)
    return out.astype(np.float32)
