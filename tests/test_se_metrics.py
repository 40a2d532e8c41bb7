"""SE measures of ``sitool.scoring.se_metrics``: ESTOI, PESQ-NB, and the composite CSIG, CBAK,
COVL (Hu & Loizou 2008) with their LLR, WSS and segmental-SNR parts, on known pairs."""

import numpy as np
import pytest
from scipy.signal import lfilter

from sitool.scoring import se_metrics


def vowel_pair(seed=0, seconds=1.5, snr_db=5.0, rate=16000):
    """A speech-like clean signal (120 Hz pulses through two formant resonators, a syllable
    envelope) and the same plus white noise at ``snr_db`` (whole-signal power ratio)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    excitation = np.zeros(n)
    excitation[::rate // 120] = 1.0
    excitation += 0.01 * rng.standard_normal(n)
    x = excitation
    for f, bw in ((700, 130), (1200, 170)):
        r = np.exp(-np.pi * bw / rate)
        x = lfilter([1.0], [1.0, -2 * r * np.cos(2 * np.pi * f / rate), r * r], x)
    t = np.arange(n) / rate
    clean = x * (0.1 + np.sin(np.pi * 3 * t) ** 2)
    clean = 0.3 * clean / np.max(np.abs(clean))
    noise = rng.standard_normal(n)
    noise *= np.sqrt(np.mean(clean ** 2) / np.mean(noise ** 2)) * 10 ** (-snr_db / 20)
    return clean, clean + noise


def test_parts_match_an_independent_implementation():
    """LLR, WSS and segSNR of a fixed pair equal pysepm's (a port of Loizou's MATLAB code that
    its authors checked against it; pysepm-evo 0.1.1, run once to get these numbers)."""
    clean, noisy = vowel_pair()
    out = se_metrics.composite(noisy, clean)
    assert out["llr"] == pytest.approx(6.891548, rel=1e-5)
    assert out["wss"] == pytest.approx(19.074777, rel=1e-6)
    assert out["segsnr"] == pytest.approx(1.653194, rel=1e-6)


def test_scaled_clean_speech_has_known_parts_and_composites():
    """1.1 x clean: the LPC envelope and spectral slopes are unchanged (LLR = WSS = 0) and
    every frame's SNR is 20 log10(1 / 0.1) = 20 dB; the composites are then the published
    regression of PESQ alone."""
    clean, _ = vowel_pair()
    out = se_metrics.composite(1.1 * clean, clean)
    assert out["llr"] == pytest.approx(0, abs=1e-6) and out["wss"] == pytest.approx(0, abs=1e-6)
    assert out["segsnr"] == pytest.approx(20.0, abs=1e-6)
    pesq = out["pesq_nb"]
    assert 3.5 < pesq <= 4.6
    assert out["csig"] == pytest.approx(min(5.0, 3.093 + 0.603 * pesq))
    assert out["cbak"] == pytest.approx(min(5.0, 1.634 + 0.478 * pesq + 0.063 * 20.0))
    assert out["covl"] == pytest.approx(min(5.0, 1.594 + 0.805 * pesq))


def test_measures_fall_with_the_snr():
    scores = {snr: se_metrics.composite(vowel_pair(snr_db=snr)[1], vowel_pair()[0])
              for snr in (20.0, 0.0)}
    for key in ("pesq_nb", "cbak", "segsnr"):
        assert scores[20.0][key] > scores[0.0][key], key
    for key in ("llr", "wss"):
        assert scores[20.0][key] < scores[0.0][key], key
    for key in ("csig", "cbak", "covl"):
        assert all(1.0 <= s[key] <= 5.0 for s in scores.values())
    clean, noisy = vowel_pair(snr_db=0.0)
    assert se_metrics.estoi(clean, clean) == pytest.approx(1.0, abs=1e-6)
    assert 0.0 < se_metrics.estoi(noisy, clean) < 0.9
    assert se_metrics.pesq_nb(np.zeros_like(clean), clean) is None
