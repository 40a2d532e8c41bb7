"""``sitool invert`` with a real trained model: a tiny joint (SI + SE) model trained for two
steps on a toy set with a tiny random SSL, run on a stereo 44.1 kHz recording."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from click.testing import CliRunner

from sitool.cli import main
from sitool.models.config import ModelConfig, SEConfig, SIConfig, SSLConfig
from sitool.testing.data_dirs import TOY_TARGETS, toy_utterance
from sitool.testing.ssl_model import make_tiny_ssl_model
from sitool.training.config import DataConfig, OptimConfig, TrainConfig
from sitool.training.trainer import train


@pytest.fixture(scope="module")
def tiny_joint(tmp_path_factory):
    from sitool.testing.data_dirs import make_toy_data_dir

    root = tmp_path_factory.mktemp("tiny_joint")
    toy = make_toy_data_dir(root / "data" / "toy", num_utts=4)
    ssl = make_tiny_ssl_model(root / "ssl_tiny")
    cfg = TrainConfig(
        model=ModelConfig(type="joint", ssl=SSLConfig(model=str(ssl), freeze="all"),
                          si=SIConfig(gru_units=[8]),
                          se=SEConfig(proj_dim=8, lstm_units=8, lstm_layers=1)),
        data=DataConfig(train_sets=[str(toy)], dev_sets=[str(toy)]),
        optim=OptimConfig(epochs=2, warmup_steps=0),
        device="cpu", threads=1)
    return train(cfg, root / "exp" / "train_joint", progress=False)


def test_invert_stereo_44k_with_trained_model(tiny_joint, tmp_path):
    audio, _ = toy_utterance(np.random.default_rng(5), 1.3, rate=44100)
    wav = tmp_path / "session 1.wav"
    sf.write(wav, np.stack([audio, -0.2 * audio], axis=1), 44100, subtype="PCM_16")
    out = tmp_path / "inv"
    res = CliRunner().invoke(main, ["invert", str(wav), "--model", str(tiny_joint),
                                    "--out", str(out), "--plot"])
    assert res.exit_code == 0, res.output
    # the CLI's log lines (stderr) carry the notes
    assert "session 1.wav: downmixing 2 channels to mono" in res.output
    assert "session 1.wav: resampling 44100 Hz -> 16000 Hz" in res.output
    targets = np.load(out / "session 1.npy")
    # 1.3 s at the model's 100 frames/s (the toy targets' rate), one column per target
    assert targets.dtype == np.float32 and targets.shape[1] == 3
    assert abs(targets.shape[0] - 130) <= 1 and np.all(np.isfinite(targets))
    table = pd.read_csv(out / "session 1.csv")
    assert list(table.columns) == ["time [s]"] + [f"{n} [{u}]" for n, u in
                                                  zip(TOY_TARGETS.names, TOY_TARGETS.units)]
    assert table["time [s]"].iloc[1] == pytest.approx(1 / TOY_TARGETS.frame_rate)
    np.testing.assert_allclose(table.iloc[:, 1:].to_numpy(), targets, rtol=1e-5, atol=1e-6)
    enhanced, rate = sf.read(out / "session 1_enhanced.wav")
    assert rate == 16000 and abs(len(enhanced) - round(1.3 * 16000)) <= 1
    assert (out / "session 1.png").stat().st_size > 10_000


def test_decode_then_score_real_decode_dirs(tiny_joint, tmp_path, monkeypatch):
    """Stage 5 -> stage 6 on real decode dirs: the scorer reads what sitool decode writes."""
    from sitool.decode import decode
    from sitool.scoring.score import score_experiments
    from sitool.testing.noisy_dirs import make_noise_file, make_noisy_data_dir

    toy = tiny_joint.parent.parent / "data" / "toy"
    white = make_noise_file(tmp_path / "white.wav", 3.0, seed=1)
    noisy = make_noisy_data_dir(tmp_path / "data" / "toy_noisy", toy,
                                [("white", "non-babble", white)], [5, -5])
    decode(tiny_joint, [toy, noisy], progress=False)
    monkeypatch.chdir(tmp_path)
    result = score_experiments(exps=[tiny_joint], filters=None, results=tmp_path / "RESULTS.md",
                               plots=tmp_path / "plots")
    scores = pd.read_csv(tiny_joint / "decode" / "toy_noisy" / "scores.tsv", sep="\t")
    assert len(scores) == 8 * 3 and set(scores["snr_db"]) == {5.0, -5.0}
    assert scores["ppmc"].between(-1, 1).all() and (scores["rmse"] > 0).all()
    text = (tmp_path / "RESULTS.md").read_text()
    table = text.split("### Non-babble noise")[1].split("##")[0]
    assert "| SNR [dB] | n | train_joint |" in table
    assert "| clean | 4 |" in table and "| 5 | 4 |" in table and "| -5 | 4 |" in table
    assert "over the targets LA, LP, TTCD" in text          # toy targets: no six TVs
    se = pd.read_csv(tiny_joint / "decode" / "toy_noisy" / "se_scores.tsv", sep="\t")
    assert len(se) == 8 and se["pesq"].between(1.0, 4.65).all()
    assert "ppmc_vs_snr.png" in {p.name for p in result.plots}


def test_recipe_relative_ssl_path_is_found_from_elsewhere(tmp_path, monkeypatch):
    """Recipes train with ``model.ssl.model: exp/ssl_tiny`` (relative to the recipe dir);
    ``sitool invert --model /abs/recipe/exp/TAG`` run from another directory still finds it."""
    from sitool.testing.data_dirs import make_toy_data_dir
    from sitool.training.experiment import locate_ssl_model

    recipe = tmp_path / "recipe"
    recipe.mkdir()
    monkeypatch.chdir(recipe)
    make_tiny_ssl_model(recipe / "exp" / "ssl_tiny")
    toy = make_toy_data_dir(recipe / "data" / "toy", num_utts=2)
    cfg = TrainConfig(
        model=ModelConfig(type="si", ssl=SSLConfig(model="exp/ssl_tiny", freeze="all"),
                          si=SIConfig(gru_units=[8])),
        data=DataConfig(train_sets=[str(toy)], dev_sets=[str(toy)]),
        optim=OptimConfig(epochs=1, warmup_steps=0), device="cpu", threads=1)
    exp = train(cfg, Path("exp/train_si"), progress=False)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert locate_ssl_model("exp/ssl_tiny", recipe / "exp" / "train_si") == \
        str(recipe / "exp" / "ssl_tiny")
    assert locate_ssl_model("microsoft/wavlm-large", recipe / "exp" / "train_si") == \
        "microsoft/wavlm-large"                                 # a hub id stays a hub id
    audio, _ = toy_utterance(np.random.default_rng(1), 1.0)
    sf.write(elsewhere / "a.wav", audio, 16000)
    res = CliRunner().invoke(main, ["invert", "a.wav", "--model", str(recipe / exp),
                                    "--out", "inv"])
    assert res.exit_code == 0, res.output
    assert np.isfinite(np.load(elsewhere / "inv" / "a.npy")).all()
