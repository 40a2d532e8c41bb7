"""``sitool.invert_outputs``: --format parsing, the MATLAB writer, the blind SNR estimate."""

import math

import numpy as np
import pytest

from sitool.errors import SitoolError
from sitool.invert_outputs import estimate_snr, parse_formats, save_mat
from sitool.testing.data_dirs import TOY_TARGETS, toy_utterance


def test_parse_formats():
    assert parse_formats(None) == ("npy", "csv")
    assert parse_formats(["mat", "npy,csv", "mat"]) == ("mat", "npy", "csv")
    with pytest.raises(SitoolError, match="--format xlsx: unknown; choose from npy, csv, mat"):
        parse_formats(["npy,xlsx"])


def test_mat_file_round_trip(tmp_path):
    from scipy.io import loadmat

    targets = np.arange(12, dtype=np.float32).reshape(4, 3) / 7
    save_mat(tmp_path / "a.mat", targets, TOY_TARGETS)
    mat = loadmat(tmp_path / "a.mat")
    np.testing.assert_allclose(mat["targets"], targets, rtol=1e-7)
    np.testing.assert_allclose(mat["time"][:, 0], [0, 0.01, 0.02, 0.03])
    assert [str(u[0]) for u in mat["units"][0]] == ["mm", "mm", "mm"]


@pytest.mark.parametrize("snr_db", [20.0, 5.0])
def test_snr_estimate_tracks_the_true_snr(snr_db):
    """Toy speech with pauses plus white noise at a known whole-utterance SNR."""
    rng = np.random.default_rng(0)
    speech, _ = toy_utterance(rng, 1.5)
    speech = np.concatenate([np.zeros(4000, np.float32), speech, np.zeros(4000, np.float32)])
    noise = rng.standard_normal(speech.size)
    noise *= math.sqrt(np.mean(speech ** 2) / np.mean(noise ** 2)) * 10 ** (-snr_db / 20)
    blind = estimate_snr(speech + noise)
    assert blind["method"].startswith("frame powers")
    assert abs(blind["db"] - snr_db) < 3.0
    oracle = estimate_snr(speech + noise, enhanced=speech)   # a perfect SE model
    assert oracle["db"] == pytest.approx(snr_db, abs=0.05)
