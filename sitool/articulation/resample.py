"""Sensor tracks -> the target frame rate: gap filling, anti-aliasing, resampling.

Articulatory corpora come at many rates (MOCHA 500 Hz, mngu0 200 Hz, XRMB about 146 Hz with
its own time stamps, HPRC 100 Hz). Every track is brought to the targets' frame rate
(100 Hz by default) the same way:

1. ``interpolate_gaps``: missing samples (NaN; readers turn corpus sentinels into NaN) are
   filled by linear interpolation in time, held constant at the ends; the longest gap per
   column is reported so that the caller can drop utterances whose gaps are too long.
2. ``resample_track``: when the source rate is above the target rate, a zero-phase low-pass
   (Butterworth, order 8, applied forwards and backwards) with its cut-off at 0.4 x the
   target rate (40 Hz for 100 Hz targets: articulatory movement lies well below 20 Hz)
   removes what would alias; then the track is linearly interpolated at the target frame
   times ``t_i = i / target_rate`` from its own time stamps. This handles integer ratios,
   non-integer ones (XRMB) and irregular time stamps alike.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

CUTOFF_FRACTION = 0.4      # low-pass cut-off as a fraction of the target rate
FILTER_ORDER = 8


def nan_runs(missing: np.ndarray) -> list[tuple[int, int]]:
    """``(start, stop)`` index pairs of the runs of True in a 1-D boolean array."""
    padded = np.concatenate([[False], missing, [False]])
    change = np.flatnonzero(padded[1:] != padded[:-1])
    return list(zip(change[0::2].tolist(), change[1::2].tolist()))


def interpolate_gaps(values: np.ndarray, times: np.ndarray | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Fill NaN samples of ``values`` ``[N, C]`` column by column.

    Interior gaps are interpolated linearly in time (``times`` ``[N]`` in s, default the
    sample index); leading/trailing gaps hold the nearest valid value; an all-NaN column stays
    NaN. Returns ``(filled [N, C], longest_gap [C])`` where ``longest_gap`` counts samples
    (N for an all-NaN column).
    """
    values = np.array(values, dtype=np.float64, copy=True)
    if values.ndim == 1:
        values = values[:, None]
    n = len(values)
    x = np.arange(n, dtype=np.float64) if times is None else np.asarray(times, dtype=np.float64)
    longest = np.zeros(values.shape[1], dtype=np.int64)
    for c in range(values.shape[1]):
        missing = ~np.isfinite(values[:, c])
        if not missing.any():
            continue
        if missing.all():
            longest[c] = n
            continue
        longest[c] = max(stop - start for start, stop in nan_runs(missing))
        good = ~missing
        values[missing, c] = np.interp(x[missing], x[good], values[good, c])
    return values, longest


def lowpass(values: np.ndarray, rate: float, cutoff: float) -> np.ndarray:
    """Zero-phase Butterworth low-pass of ``values`` ``[N, C]`` along time."""
    sos = signal.butter(FILTER_ORDER, cutoff, btype="low", fs=rate, output="sos")
    n = len(values)
    padlen = min(3 * (2 * len(sos) + 1), n - 1)
    if padlen < 1:
        return values
    return signal.sosfiltfilt(sos, values, axis=0, padlen=padlen)


def frame_count(duration_s: float, frame_rate: float) -> int:
    """Frames of a track covering ``[0, duration_s]`` at ``frame_rate``: t_i = i / rate."""
    return int(np.floor(duration_s * frame_rate + 1e-6)) + 1


def resample_track(values: np.ndarray, times: np.ndarray, target_rate: float = 100.0,
                   n_frames: int | None = None) -> np.ndarray:
    """Resample a gap-free track ``[N, C]`` with time stamps ``times`` ``[N]`` (s).

    Returns float64 ``[M, C]`` at ``t_i = i / target_rate``, ``M = n_frames`` or the frames
    up to the last time stamp. Frames outside the stamps hold the first/last value.
    """
    values = np.asarray(values, dtype=np.float64)
    times = np.asarray(times, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    if len(times) != len(values):
        raise ValueError(f"{len(times)} time stamps for {len(values)} samples")
    if len(times) > 1:
        rate = 1.0 / float(np.median(np.diff(times)))
        if rate > target_rate * 1.0001:
            values = lowpass(values, rate, CUTOFF_FRACTION * target_rate)
    if n_frames is None:
        n_frames = frame_count(float(times[-1]), target_rate)
    grid = np.arange(n_frames) / target_rate
    return np.stack([np.interp(grid, times, values[:, c]) for c in range(values.shape[1])],
                    axis=1)
