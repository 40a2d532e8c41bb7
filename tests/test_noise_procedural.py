"""Procedural noise types: seeded, and different in spectrum and temporal structure."""

import itertools

import numpy as np
import pytest

from sitool.errors import SitoolError
from sitool.noise.babble import make_babble
from sitool.noise.procedural import GENERATORS, generate
from sitool.noise.snr import active_speech_level

RATE = 16000
BANDS = [(0, 250), (250, 1000), (1000, 4000), (4000, 8000)]


@pytest.fixture(scope="module")
def noises():
    return {name: generate(name, np.random.default_rng(0), 6.0) for name in GENERATORS}


def band_db(x):
    spec = np.abs(np.fft.rfft(x.astype(np.float64))) ** 2
    freqs = np.fft.rfftfreq(x.size, 1 / RATE)
    return np.array([10 * np.log10(spec[(freqs >= lo) & (freqs < hi)].sum() / spec.sum() + 1e-12)
                     for lo, hi in BANDS])


def frame_level_std(x, frame=RATE // 10):
    frames = x[:x.size // frame * frame].astype(np.float64).reshape(-1, frame)
    return np.std(10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-12))


def test_types_are_seeded_and_well_formed(noises):
    for name, x in noises.items():
        assert x.dtype == np.float32 and x.size == 6 * RATE
        assert np.max(np.abs(x)) == pytest.approx(0.9, abs=1e-6)
        np.testing.assert_array_equal(generate(name, np.random.default_rng(0), 6.0), x)
        assert not np.array_equal(generate(name, np.random.default_rng(1), 6.0), x)
    with pytest.raises(SitoolError, match="unknown procedural noise type"):
        generate("rain", np.random.default_rng(0), 1.0)


def test_types_differ_in_spectrum_or_temporal_structure(noises):
    features = {n: (band_db(x), frame_level_std(x)) for n, x in noises.items()}
    for a, b in itertools.combinations(features, 2):
        spectral = np.max(np.abs(features[a][0] - features[b][0]))
        temporal = abs(features[a][1] - features[b][1])
        assert spectral > 3.0 or temporal > 2.0, (a, b, spectral, temporal)


def test_type_signatures(noises):
    assert frame_level_std(noises["white"]) < 0.5                   # stationary
    assert band_db(noises["white"])[3] > -4                         # flat: half the power above 4 kHz
    assert band_db(noises["brown"])[0] > -1                         # nearly all power below 250 Hz
    x = noises["impulsive"].astype(np.float64)
    assert np.mean(x ** 4) / np.mean(x ** 2) ** 2 > 20              # impulsive: heavy-tailed
    assert frame_level_std(noises["wind"]) > 3.0                    # gusts
    spec = np.abs(np.fft.rfft(noises["hum"].astype(np.float64))) ** 2
    freqs = np.fft.rfftfreq(noises["hum"].size, 1 / RATE)
    near_harmonic = np.abs(freqs - 50 * np.round(freqs / 50)) < 2
    assert spec[near_harmonic].sum() / spec.sum() > 0.9             # tonal: mains harmonics
    env = np.abs(noises["engine"].astype(np.float64))
    env_spec = np.abs(np.fft.rfft(env - env.mean())) ** 2
    env_freqs = np.fft.rfftfreq(env.size, 1 / RATE)
    assert 20 < env_freqs[np.argmax(env_spec[env_freqs > 5]) + np.sum(env_freqs <= 5)] < 50  # AM


def test_babble_sums_level_normalised_talkers():
    rng = np.random.default_rng(0)
    t = np.arange(RATE) / RATE
    loud = [(0.8 * np.sin(2 * np.pi * 150 * t) * (np.sin(2 * np.pi * 3 * t) > 0)).astype(np.float32)]
    quiet = [(0.01 * np.sin(2 * np.pi * 230 * t) * (np.sin(2 * np.pi * 4 * t) > 0)).astype(np.float32)]
    babble = make_babble([loud, quiet], 5.0, rng)
    assert babble.size == 5 * RATE and np.max(np.abs(babble)) == pytest.approx(0.9, abs=1e-6)
    spec = np.abs(np.fft.rfft(babble.astype(np.float64))) ** 2
    freqs = np.fft.rfftfreq(babble.size, 1 / RATE)
    power = [spec[np.abs(freqs - f) < 5].sum() for f in (150, 230)]
    # after per-talker normalisation the 40 dB level difference is gone (within 3 dB)
    assert abs(10 * np.log10(power[0] / power[1])) < 3
    assert active_speech_level(babble).activity > 0.8  # talkers fill each other's pauses
    with pytest.raises(SitoolError, match="at least 2 talkers"):
        make_babble([loud], 1.0, rng)
