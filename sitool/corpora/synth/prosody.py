"""F0 contours and voicing of a synthetic utterance (pure numpy).

The F0 contour replaces the one of VocalTractLab's gestural score (which is the same for
every utterance): a per-utterance level drawn around the speaker's mean, a declination over
the utterance, and 1-3 Gaussian pitch accents, in semitones::

    F0(t) = level * 2 ** ((declination * t / T + sum_k a_k exp(-(t - c_k)^2 / (2 w_k^2))) / 12)

Voicing is read from the glottis parameters that drive the synthesis: the vocal folds are
set to phonate when the relative vibration amplitude ``RA`` is at least 0.5 and the lung
pressure is at least half of the utterance's maximum. It is the source setting, not an
acoustic measurement (a voiced stop closure may devoice acoustically as pressure builds up).
"""

from __future__ import annotations

import numpy as np

F0_LIMITS_HZ = (50.0, 450.0)
LEVEL_SD_ST = 1.0             # utterance level around the speaker mean, semitones (s.d.)
DECLINATION_ST = (-4.0, -1.0)  # total declination over the utterance, semitones
ACCENT_WIDTH_S = (0.06, 0.15)  # Gaussian width (s.d.) of an accent, seconds
RA_VOICED = 0.5
PRESSURE_VOICED = 0.5          # fraction of the utterance's maximum lung pressure


def f0_contour(rng: np.random.Generator, times: np.ndarray, mean_hz: float,
               accent_st: float) -> np.ndarray:
    """F0 in Hz at ``times`` (seconds, 1-D) for one utterance; shape like ``times``."""
    duration = max(float(times[-1]), 1e-3) if len(times) else 1e-3
    level = mean_hz * 2.0 ** (rng.normal(0.0, LEVEL_SD_ST) / 12.0)
    semitones = rng.uniform(*DECLINATION_ST) * times / duration
    for _ in range(int(rng.integers(1, 4))):
        centre = rng.uniform(0.1, 0.9) * duration
        width = rng.uniform(*ACCENT_WIDTH_S)
        height = rng.uniform(1.0, max(1.0, accent_st))
        semitones = semitones + height * np.exp(-0.5 * ((times - centre) / width) ** 2)
    return np.clip(level * 2.0 ** (semitones / 12.0), *F0_LIMITS_HZ)


def voicing(relative_amplitude: np.ndarray, lung_pressure: np.ndarray) -> np.ndarray:
    """1.0 where the glottis is set to phonate, else 0.0 (same shape as the inputs)."""
    peak = float(np.max(lung_pressure)) if lung_pressure.size else 0.0
    voiced = (relative_amplitude >= RA_VOICED) & (lung_pressure >= PRESSURE_VOICED * peak) \
        & (lung_pressure > 0)
    return voiced.astype(np.float32)
