"""The SNR definition used everywhere in sitool (mixing, tests, scoring).

    SNR = 10 log10( P_speech / P_noise )  [dB]

* ``P_speech`` is the **active speech level** of the clean utterance, ITU-T P.56 method B:
  the mean square of the utterance over the samples where speech is active. Activity is
  decided by comparing a smoothed envelope of |x| (two one-pole filters, time constant
  30 ms) with a ladder of 15 thresholds spaced 6.02 dB apart, with a 200 ms hangover; the
  active level is where the level measured above a threshold exceeds that threshold by the
  15.9 dB margin (found by linear interpolation between the two bracketing thresholds).
* ``P_noise`` is the plain mean square of the noise that is added, over exactly the same
  span as the utterance (after looping, when the noise is shorter).

One deviation from P.56: the threshold ladder is placed relative to the signal's peak
(from peak/2 down to peak/2^15) instead of relative to digital full scale, so the measure
is scale-invariant: ``level(a * x) = level(x) + 20 log10 |a|``. That matters for corpora
recorded (or synthesised) at arbitrary levels and makes the "scale" applied against
clipping leave the SNR unchanged. No 200 Hz high-pass filter is applied.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

from sitool.audio import SAMPLE_RATE
from sitool.errors import SitoolError

P56_TIME_CONSTANT_S = 0.03   # envelope smoothing time constant
P56_HANGOVER_S = 0.2         # samples this long after the envelope drops still count as active
P56_MARGIN_DB = 15.9         # active level sits this far above the activity threshold
P56_NUM_THRESHOLDS = 15      # thresholds peak/2, peak/4, ..., peak/2**15

# A signal whose mean square is below this is treated as silent (about -150 dB re 1.0).
SILENCE_POWER = 1e-15


@dataclass(frozen=True)
class SpeechLevel:
    """Result of the P.56 measurement of one signal."""

    power: float     # mean square over the active samples (linear, signal units squared)
    activity: float  # fraction of samples counted as active, in (0, 1]

    @property
    def db(self) -> float:
        """The active level in dB relative to a full-scale (1.0) square wave."""
        return power_db(self.power)


def power_db(power: float) -> float:
    """10 log10(power); -inf for zero power."""
    return 10.0 * math.log10(power) if power > 0 else -math.inf


def _energy(x: np.ndarray) -> float:
    """Sum of squares of a float64 vector (einsum, not BLAS dot: no thread start-up cost)."""
    return float(np.einsum("i,i->", x, x))


def noise_power(noise: np.ndarray) -> float:
    """Mean square of ``noise`` (1-D) over its whole span, computed in float64."""
    x = np.asarray(noise, dtype=np.float64)
    if x.size == 0:
        raise SitoolError("noise_power: empty signal")
    return _energy(x) / x.size


def _active_counts(envelope: np.ndarray, thresholds: np.ndarray, hangover: int) -> np.ndarray:
    """Number of active samples for each threshold: sample k is active when the envelope
    reached the threshold at some sample in [k - hangover, k]."""
    index = np.arange(envelope.size)
    counts = np.empty(thresholds.size, dtype=np.int64)
    for j, threshold in enumerate(thresholds):
        last_above = np.where(envelope >= threshold, index, -hangover - 1)
        np.maximum.accumulate(last_above, out=last_above)
        counts[j] = np.count_nonzero(index - last_above <= hangover)
    return counts


def active_speech_level(signal: np.ndarray, rate: int = SAMPLE_RATE) -> SpeechLevel:
    """ITU-T P.56 (method B) active speech level of a 1-D signal sampled at ``rate`` Hz.

    Raises ``SitoolError`` for an empty or silent signal.
    """
    x = np.asarray(signal, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise SitoolError(f"active_speech_level: expected a non-empty 1-D signal, got {x.shape}")
    total_energy = _energy(x)
    peak = float(np.max(np.abs(x)))
    if total_energy / x.size < SILENCE_POWER or peak == 0.0:
        raise SitoolError("active_speech_level: the signal is silent")
    g = math.exp(-1.0 / (rate * P56_TIME_CONSTANT_S))
    envelope = lfilter([1 - g], [1, -g], lfilter([1 - g], [1, -g], np.abs(x)))
    hangover = math.ceil(P56_HANGOVER_S * rate)
    # Ascending ladder: peak / 2**15, ..., peak / 2.
    thresholds = peak * 2.0 ** -np.arange(P56_NUM_THRESHOLDS, 0, -1)
    counts = _active_counts(envelope, thresholds, hangover)

    prev = None  # (level_db, threshold_db, count) of the previous threshold with activity
    for threshold, count in zip(thresholds, counts):
        if count == 0:
            break
        level_db = 10.0 * math.log10(total_energy / count)
        threshold_db = 20.0 * math.log10(threshold)
        delta = level_db - threshold_db
        if delta <= P56_MARGIN_DB:
            if prev is None:  # already below the margin at the lowest threshold
                return SpeechLevel(total_energy / count, count / x.size)
            prev_level, prev_threshold, prev_count = prev
            prev_delta = prev_level - prev_threshold
            frac = (prev_delta - P56_MARGIN_DB) / (prev_delta - delta)
            active_db = prev_level + frac * (level_db - prev_level)
            activity = (prev_count + frac * (count - prev_count)) / x.size
            return SpeechLevel(10.0 ** (active_db / 10.0), float(activity))
        prev = (level_db, threshold_db, count)
    # No threshold brought the margin down to 15.9 dB (a very spiky signal whose envelope
    # never reaches the upper thresholds): use the highest threshold that had activity.
    level_db, _, count = prev
    return SpeechLevel(10.0 ** (level_db / 10.0), count / x.size)


def mixture_gain(speech_power: float, noise_power_: float, snr_db: float) -> float:
    """The factor ``g`` such that speech + g * noise has the requested SNR (dB)."""
    if not speech_power > 0:
        raise SitoolError("mixture_gain: speech power must be > 0")
    if not noise_power_ > SILENCE_POWER:
        raise SitoolError("mixture_gain: the noise is silent")
    return math.sqrt(speech_power / (noise_power_ * 10.0 ** (snr_db / 10.0)))


def measure_snr(speech: np.ndarray, noise: np.ndarray, rate: int = SAMPLE_RATE) -> float:
    """SNR in dB of ``speech`` against ``noise`` (same span) by the definition above."""
    if len(speech) != len(noise):
        raise SitoolError(f"measure_snr: speech has {len(speech)} samples, noise {len(noise)}")
    return active_speech_level(speech, rate).db - power_db(noise_power(noise))
