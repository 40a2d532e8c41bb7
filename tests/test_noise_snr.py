"""The SNR definition: ITU-T P.56 active speech level (peak-relative thresholds) vs noise RMS."""

import math

import numpy as np
import pytest

from sitool.errors import SitoolError
from sitool.noise.snr import (active_speech_level, measure_snr, mixture_gain, noise_power,
                              power_db)

RATE = 16000


def tone(seconds, freq=220.0, amp=0.3):
    t = np.arange(int(seconds * RATE)) / RATE
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_continuous_signal_is_fully_active_and_level_is_its_power():
    x = tone(2.0)
    level = active_speech_level(x)
    assert level.activity > 0.97  # only the envelope's 30 ms attack is below threshold
    assert level.db == pytest.approx(power_db(0.3 ** 2 / 2), abs=0.15)


def test_pauses_are_excluded_with_200ms_hangover():
    # 0.5 s bursts separated by 0.5 s of digital silence: P.56 counts each burst, the 0.2 s
    # hangover after it and the ~0.05-0.1 s the smoothed envelope takes to decay, so the
    # activity is 0.7-0.82 and the level is the energy over those active samples.
    burst = tone(0.5, amp=0.2)
    x = np.concatenate([np.concatenate([burst, np.zeros_like(burst)]) for _ in range(4)])
    level = active_speech_level(x)
    assert 0.7 < level.activity < 0.82
    energy = np.sum(x.astype(np.float64) ** 2)
    assert power_db(energy / (0.82 * x.size)) - 0.01 < level.db < power_db(energy / (0.7 * x.size))
    # ... so the active level is above the plain RMS of the whole signal
    assert level.db > power_db(noise_power(x)) + 0.8


def test_level_is_scale_invariant():
    rng = np.random.default_rng(0)
    x = tone(1.5) * np.repeat(rng.uniform(0, 1, 15), RATE // 10).astype(np.float32)
    base = active_speech_level(x).db
    for factor in (0.01, 0.5, 3.0):
        assert active_speech_level(x * factor).db == pytest.approx(base + 20 * math.log10(factor),
                                                                  abs=1e-3)


def test_gain_gives_requested_snr():
    rng = np.random.default_rng(1)
    speech = tone(1.0)
    noise = rng.standard_normal(speech.size)
    for snr in (-5.0, 0.0, 12.5):
        gain = mixture_gain(active_speech_level(speech).power, noise_power(noise), snr)
        assert measure_snr(speech, gain * noise) == pytest.approx(snr, abs=1e-6)


def test_silent_and_bad_inputs_are_clear_errors():
    with pytest.raises(SitoolError, match="silent"):
        active_speech_level(np.zeros(1000, dtype=np.float32))
    with pytest.raises(SitoolError, match="silent"):
        mixture_gain(1.0, 0.0, 0.0)
    with pytest.raises(SitoolError, match="samples"):
        measure_snr(np.ones(10), np.ones(11))
