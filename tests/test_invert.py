"""``sitool invert``: output files, CSV header, downmix/resample notes and errors.

The file handling is tested with a stand-in inverter (its outputs are a known function of the
audio it receives, so the test also checks what audio reaches the model); a trained tiny model
is exercised in tests/test_invert_model.py.
"""

import logging
import sys

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from click.testing import CliRunner

from sitool.audio import resample
from sitool.cli import main
from sitool.errors import SitoolError
from sitool.invert import invert_files, targets_csv
from sitool.testing.data_dirs import TOY_TARGETS, toy_utterance
from sitool.testing.stand_in_inverter import StandInInverter, hop_levels, stand_in_inference


@pytest.fixture
def inverter():
    """Target k of frame i = (k + 1) * mean |audio| over that 10 ms hop; enhanced = 0.5 x audio."""
    return StandInInverter(hop_levels, enhance=lambda audio: 0.5 * audio)


@pytest.fixture
def stand_in(monkeypatch, tmp_path, inverter):
    monkeypatch.setitem(sys.modules, "sitool.inference", stand_in_inference(inverter))
    model = tmp_path / "exp" / "toy"
    model.mkdir(parents=True)
    return model


def _stereo_44k(path, seconds=1.5):
    audio, _ = toy_utterance(np.random.default_rng(0), seconds, rate=44100)
    stereo = np.stack([audio, 0.5 * audio], axis=1)
    sf.write(path, stereo, 44100, subtype="PCM_24")
    return audio


def test_invert_stereo_44k(stand_in, inverter, tmp_path, caplog):
    wav = tmp_path / "rec.wav"
    left = _stereo_44k(wav)
    with caplog.at_level(logging.INFO):
        results = invert_files([wav], stand_in, tmp_path / "out", plot=True)
    notes = caplog.text
    assert "downmixing 2 channels to mono" in notes and "resampling 44100 Hz -> 16000 Hz" in notes
    (out,) = results
    audio16 = inverter.calls[0]
    assert len(audio16) == 24000                              # 1.5 s at 16 kHz
    targets = np.load(out.npy)
    assert targets.shape == (150, 3) and targets.dtype == np.float32
    # the model saw the channel mean (0.75 x the left channel) at 16 kHz
    np.testing.assert_allclose(audio16, resample(0.75 * left, 44100, 16000), atol=1e-4)
    table = pd.read_csv(out.csv)
    assert list(table.columns) == ["time [s]", "LA [mm]", "LP [mm]", "TTCD [mm]"]
    np.testing.assert_allclose(table["time [s]"], np.arange(150) / 100.0, atol=1e-9)
    np.testing.assert_allclose(table["LP [mm]"], targets[:, 1], rtol=1e-5)
    enhanced, rate = sf.read(out.enhanced)
    assert rate == 16000 and len(enhanced) == 24000
    assert out.png.stat().st_size > 10_000
    # finished outputs are reused, --overwrite redoes them
    invert_files([wav], stand_in, tmp_path / "out", plot=True)
    assert len(inverter.calls) == 1
    invert_files([wav], stand_in, tmp_path / "out", plot=True, overwrite=True)
    assert len(inverter.calls) == 2


def test_targets_csv_format():
    text = targets_csv(np.array([[1.0, 2.5, -3.0], [1.5, 2.0, 0.25]], np.float32), TOY_TARGETS)
    assert text == "time [s],LA [mm],LP [mm],TTCD [mm]\n0.0000,1,2.5,-3\n0.0100,1.5,2,0.25\n"


def test_invert_errors(stand_in, tmp_path):
    wav = tmp_path / "a.wav"
    _stereo_44k(wav, 0.5)
    with pytest.raises(SitoolError, match="exp/missing: model dir not found"):
        invert_files([wav], tmp_path / "exp" / "missing", tmp_path / "out")
    with pytest.raises(SitoolError, match="nothere.wav: audio file not found"):
        invert_files([tmp_path / "nothere.wav"], stand_in, tmp_path / "out")
    (tmp_path / "sub").mkdir()
    _stereo_44k(tmp_path / "sub" / "a.wav", 0.5)
    with pytest.raises(SitoolError, match="same name"):
        invert_files([wav, tmp_path / "sub" / "a.wav"], stand_in, tmp_path / "out")
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all")
    with pytest.raises(SitoolError, match="bad.wav: unreadable audio"):
        invert_files([bad], stand_in, tmp_path / "out")
    short = tmp_path / "click.wav"
    sf.write(short, np.zeros(100, dtype=np.float32), 16000)
    with pytest.raises(SitoolError, match=r"click.wav: 6.2 ms of audio; at least 25 ms"):
        invert_files([short], stand_in, tmp_path / "out")


def test_invert_cli(stand_in, tmp_path):
    wav = tmp_path / "b.flac"
    audio, _ = toy_utterance(np.random.default_rng(1), 0.8)
    sf.write(wav, audio, 16000)
    res = CliRunner().invoke(main, ["invert", str(wav), "--model", str(stand_in),
                                    "--out", str(tmp_path / "o"), "--checkpoint", "last"])
    assert res.exit_code == 0, res.output
    assert str(tmp_path / "o" / "b.npy") in res.output
    assert str(tmp_path / "o" / "b_enhanced.wav") in res.output
    res = CliRunner().invoke(main, ["invert", str(wav), "--model", str(tmp_path / "nope"),
                                    "--out", str(tmp_path / "o")])
    assert res.exit_code == 1 and "model dir not found" in res.output
