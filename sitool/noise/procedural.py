"""Seeded, procedurally generated non-babble noise types (the embedded noise set).

Each generator maps ``(rng, num_samples)`` to a float32 signal at 16 kHz whose peak is 0.9
(the level is irrelevant: mixing sets it from the SNR). The types differ in spectrum and in
temporal structure:

=========  ===================================================================  ===========
type       spectrum                                                             over time
=========  ===================================================================  ===========
white      flat                                                                 stationary
pink       power ~ 1/f (-3 dB/octave)                                           stationary
brown      power ~ 1/f^2 (-6 dB/octave), flat below 20 Hz                       stationary
hum        50 Hz mains with harmonics to 4 kHz (odd ones stronger), faint hiss  slow drift
engine     harmonics of a 25-45 Hz firing rate + low-pass noise, amplitude-    rpm changes,
           modulated at the firing rate, low-passed at ~2 kHz                   AM
impulsive  resonant clicks/knocks (0.4-5 kHz, 3-40 ms decay), ~4 per second     impulsive
           (Poisson), on a faint white floor
wind       low-pass rumble + a band-pass whistle whose centre wanders 300-1200  gusts
           Hz, both under slow random gust envelopes (up to ~25 dB swings)
=========  ===================================================================  ===========
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
from scipy.signal import butter, lfilter, sosfilt

from sitool.audio import SAMPLE_RATE
from sitool.errors import SitoolError

PEAK = 0.9


def _normalise(x: np.ndarray) -> np.ndarray:
    x = x - np.mean(x)
    return (PEAK * x / np.max(np.abs(x))).astype(np.float32)


def _coloured(rng: np.random.Generator, n: int, exponent: float, floor_hz: float = 20.0) -> np.ndarray:
    """Gaussian noise with power spectrum ~ 1/f**exponent (flat below ``floor_hz``)."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1.0 / SAMPLE_RATE)
    spectrum *= np.maximum(freqs, floor_hz) ** (-exponent / 2.0)
    spectrum[0] = 0.0
    return np.fft.irfft(spectrum, n)


def _smooth_random(rng: np.random.Generator, n: int, knot_s: float, low: float, high: float) -> np.ndarray:
    """A slow random curve: uniform values in [low, high] every ``knot_s`` seconds, joined by
    half-cosine interpolation (continuous slope at the knots is not needed for envelopes)."""
    knots = rng.uniform(low, high, size=int(n / (knot_s * SAMPLE_RATE)) + 2)
    position = np.arange(n) / (knot_s * SAMPLE_RATE)
    i = position.astype(np.int64)
    frac = 0.5 - 0.5 * np.cos(np.pi * (position - i))
    return knots[i] * (1 - frac) + knots[i + 1] * frac


def white(rng: np.random.Generator, n: int) -> np.ndarray:
    return _normalise(rng.standard_normal(n))


def pink(rng: np.random.Generator, n: int) -> np.ndarray:
    return _normalise(_coloured(rng, n, 1.0))


def brown(rng: np.random.Generator, n: int) -> np.ndarray:
    return _normalise(_coloured(rng, n, 2.0))


def _wavetable(phase: np.ndarray, amplitudes: dict[int, float], phases: dict[int, float],
               size: int = 4096) -> np.ndarray:
    """Sum of harmonics ``sum_h a_h sin(h * phase + p_h)`` via a one-period lookup table."""
    grid = 2 * np.pi * np.arange(size + 1) / size
    table = sum(a * np.sin(h * grid + phases[h]) for h, a in amplitudes.items())
    return np.interp(np.mod(phase, 2 * np.pi), grid, table)


def hum(rng: np.random.Generator, n: int, mains_hz: float = 50.0) -> np.ndarray:
    drift_hz = _smooth_random(rng, n, 2.0, -0.05, 0.05)
    phase = 2 * np.pi * np.cumsum(mains_hz + drift_hz) / SAMPLE_RATE
    harmonics = range(1, int(4000 // mains_hz) + 1)
    phases = {h: rng.uniform(0, 2 * np.pi) for h in harmonics}
    odd = _wavetable(phase, {h: 1.0 / h for h in harmonics if h % 2}, phases)
    even = _wavetable(phase, {h: 0.4 / h for h in harmonics if h % 2 == 0}, phases)
    # The odd and even series drift in level independently (slow +-20 % wobble).
    out = _smooth_random(rng, n, 1.5, 0.8, 1.2) * odd + _smooth_random(rng, n, 1.1, 0.8, 1.2) * even
    hiss = _coloured(rng, n, 1.0)
    out += 0.03 * np.std(out) / np.std(hiss) * hiss
    return _normalise(out)


def engine(rng: np.random.Generator, n: int) -> np.ndarray:
    firing_hz = _smooth_random(rng, n, 3.0, 25.0, 45.0)  # rpm changes
    phase = 2 * np.pi * np.cumsum(firing_hz) / SAMPLE_RATE
    harmonics = sum(np.sin(h * phase + rng.uniform(0, 2 * np.pi)) / h for h in range(1, 41))
    rumble = _coloured(rng, n, 2.0)
    rumble *= np.std(harmonics) / np.std(rumble)
    modulation = 1.0 + 0.8 * np.sin(phase)  # combustion strokes modulate the noise
    out = 0.6 * harmonics + modulation * rumble
    sos = butter(4, 2000.0, btype="low", fs=SAMPLE_RATE, output="sos")
    return _normalise(sosfilt(sos, out))


def _resonator(center_hz: float, bandwidth_hz: float) -> tuple[list[float], list[float]]:
    """Two-pole resonator coefficients (b, a) at ``center_hz`` with ``bandwidth_hz``."""
    r = math.exp(-math.pi * bandwidth_hz / SAMPLE_RATE)
    theta = 2 * math.pi * center_hz / SAMPLE_RATE
    return [1 - r], [1.0, -2 * r * math.cos(theta), r * r]


def impulsive(rng: np.random.Generator, n: int, rate_hz: float = 4.0) -> np.ndarray:
    out = 1e-3 * rng.standard_normal(n)  # faint floor: -60 dB re the clicks' typical peak
    num_events = rng.poisson(rate_hz * n / SAMPLE_RATE)
    for start in np.sort(rng.integers(0, n, size=num_events)):
        decay_s = rng.uniform(0.003, 0.04)
        length = min(int(6 * decay_s * SAMPLE_RATE), n - start)
        envelope = np.exp(-np.arange(length) / (decay_s * SAMPLE_RATE))
        burst = rng.standard_normal(length) * envelope
        b, a = _resonator(rng.uniform(400.0, 5000.0), rng.uniform(100.0, 800.0))
        burst = lfilter(b, a, burst)
        burst *= 10 ** rng.uniform(-1.0, 0.0) / (np.max(np.abs(burst)) + 1e-12)
        out[start:start + length] += burst
    return _normalise(out)


def wind(rng: np.random.Generator, n: int) -> np.ndarray:
    rumble = sosfilt(butter(2, 400.0, btype="low", fs=SAMPLE_RATE, output="sos"),
                     rng.standard_normal(n))
    # Whistle: white noise through a resonator whose centre wanders; done in 50 ms blocks.
    whistle = np.zeros(n)
    centres = _smooth_random(rng, n, 1.0, 300.0, 1200.0)
    source = rng.standard_normal(n)
    block = SAMPLE_RATE // 20
    state = np.zeros(2)
    for start in range(0, n, block):
        b, a = _resonator(float(centres[start]), 60.0)
        whistle[start:start + block], state = lfilter(b, a, source[start:start + block], zi=state)
    gust = np.exp(_smooth_random(rng, n, 0.7, math.log(0.06), 0.0))  # up to ~25 dB swings
    gust_whistle = np.exp(_smooth_random(rng, n, 0.9, math.log(0.1), 0.0))
    out = gust * rumble / np.std(rumble) + 0.5 * gust_whistle * whistle / np.std(whistle)
    return _normalise(out)


GENERATORS: dict[str, Callable[[np.random.Generator, int], np.ndarray]] = {
    "white": white,
    "pink": pink,
    "brown": brown,
    "hum": hum,
    "engine": engine,
    "impulsive": impulsive,
    "wind": wind,
}


# The default embedded set: six types of different spectrum and temporal structure (brown is
# left out by default to keep the test grid small; it is close to engine/wind at low
# frequencies). ``sitool synth-noise --types`` picks any of GENERATORS.
DEFAULT_TYPES = ("white", "pink", "hum", "engine", "impulsive", "wind")


def generate(noise_type: str, rng: np.random.Generator, seconds: float) -> np.ndarray:
    """``seconds`` of the procedural ``noise_type`` at 16 kHz, float32, peak 0.9."""
    if noise_type not in GENERATORS:
        raise SitoolError(f"unknown procedural noise type {noise_type!r}; "
                          f"choose from {', '.join(GENERATORS)}")
    return GENERATORS[noise_type](rng, int(round(seconds * SAMPLE_RATE)))
