"""Scoring metrics against hand-computed values: PPMC (incl. constant tracks), RMSE, trimming,
SI-SDR, PESQ, STOI."""

import math

import numpy as np
import pytest

from sitool.errors import SitoolError
from sitool.scoring import metrics
from sitool.scoring.aggregate import relative_improvement
from sitool.testing.data_dirs import toy_utterance
from sitool.testing.decode_dirs import with_correlation


def test_ppmc_and_rmse_hand_computed():
    pred = np.array([1.0, 2.0, 3.0, 4.0])
    ref = np.array([2.0, 4.0, 5.0, 4.0])
    # deviations p = (-1.5, -0.5, 0.5, 1.5), r = (-1.75, 0.25, 1.25, 0.25):
    # sum(pr) = 3.5, sum(p^2) = 5, sum(r^2) = 4.75  ->  r = 3.5 / sqrt(23.75)
    result = metrics.ppmc(pred, ref)
    assert result.status == metrics.OK
    assert result.value == pytest.approx(3.5 / math.sqrt(23.75), abs=1e-12)
    # errors (-1, -2, -2, 0): mean square 9/4
    assert metrics.rmse(pred, ref) == pytest.approx(1.5)
    # PPMC ignores offset and positive gain; a sign flip negates it
    assert metrics.ppmc(3 * pred + 7, ref).value == pytest.approx(result.value)
    assert metrics.ppmc(-pred, ref).value == pytest.approx(-result.value)


def test_constant_tracks_rule():
    ref = np.array([1.0, 2.0, 0.5, 3.0])
    flat = np.full(4, 2.5)
    excluded = metrics.ppmc(ref, flat)
    assert excluded.value is None and excluded.status == metrics.CONST_REF
    collapsed = metrics.ppmc(flat, ref)
    assert collapsed.value == 0.0 and collapsed.status == metrics.CONST_PRED
    # float32 round-off on a flat track is still flat
    wobble = (np.full(100, 120.0) + np.float32(1e-5) * np.sin(np.arange(100))).astype(np.float32)
    assert metrics.is_constant(wobble)
    assert not metrics.is_constant(np.array([0.0, 1e-3, 0.0]))


def test_with_correlation_is_exact():
    rng = np.random.default_rng(0)
    ref = np.sin(np.linspace(0, 6, 200)) + 0.1 * rng.standard_normal(200)
    for rho in (0.95, 0.4, 0.0, -0.3):
        pred = with_correlation(ref, rho, rng, offset=2.0, gain=0.5)
        assert metrics.ppmc(pred, ref).value == pytest.approx(rho, abs=1e-9)


def test_trim_to_shorter_within_tolerance():
    # contract: 50 ms + 1 frame; at 100 Hz that is 6 frames
    assert metrics.length_tolerance_frames(100.0) == 6
    pred, ref = np.zeros((106, 2)), np.ones((100, 2))
    p, r = metrics.trim_to_shorter(pred, ref, 100.0)
    assert p.shape == r.shape == (100, 2)
    with pytest.raises(SitoolError, match=r"exp/x/tv/u1\.npy: prediction has 107 frames"):
        metrics.trim_to_shorter(np.zeros((107, 2)), ref, 100.0, where="exp/x/tv/u1.npy")


def test_si_sdr_known_values():
    rng = np.random.default_rng(1)
    ref = rng.standard_normal(16000)
    ref -= ref.mean()
    noise = rng.standard_normal(16000)
    noise -= noise.mean()
    noise -= ref * np.dot(noise, ref) / np.dot(ref, ref)      # orthogonal to ref
    noise *= np.linalg.norm(ref) / np.linalg.norm(noise) / math.sqrt(10)   # 10 dB below
    assert metrics.si_sdr(ref + noise, ref) == pytest.approx(10.0, abs=1e-9)
    assert metrics.si_sdr(0.3 * (ref + noise) + 0.2, ref) == pytest.approx(10.0, abs=1e-9)
    # identity: no error at all -> the documented cap, never inf
    assert metrics.si_sdr(ref, ref) == metrics.SI_SDR_CAP_DB
    assert metrics.si_sdr(np.zeros(16000), ref) == -metrics.SI_SDR_CAP_DB


def test_pesq_stoi_identity_and_noise():
    audio, _ = toy_utterance(np.random.default_rng(2), 2.0)
    assert metrics.pesq_wb(audio, audio) == pytest.approx(4.64, abs=0.01)
    assert metrics.stoi(audio, audio) == pytest.approx(1.0, abs=1e-6)
    noisy = audio + 0.05 * np.random.default_rng(3).standard_normal(audio.size).astype(np.float32)
    assert metrics.pesq_wb(noisy, audio) < 3.0
    assert metrics.stoi(noisy, audio) < 0.95
    # too short for STOI (fewer than 30 frames of speech): None, not pystoi's 1e-5
    assert metrics.stoi(audio[:3000], audio[:3000]) is None
    # silence: PESQ finds no utterance
    assert metrics.pesq_wb(np.zeros(32000, np.float32), np.zeros(32000, np.float32)) is None


def test_relative_improvement():
    assert relative_improvement(0.6, 0.4) == pytest.approx(50.0)
    assert relative_improvement(0.3, 0.4) == pytest.approx(-25.0)
    assert math.isnan(relative_improvement(0.5, 0.0))
    assert math.isnan(relative_improvement(0.5, -0.1))
