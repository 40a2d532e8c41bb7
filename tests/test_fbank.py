"""``model.frontend: fbank``: the log-mel filterbank reference — features, training without any
SSL model, decoding, and its reference rows in ``sitool score`` and RESULTS.md."""

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from sitool.config import from_dict
from sitool.datadir import DataDir
from sitool.decode import decode
from sitool.errors import SitoolError
from sitool.models.config import FbankConfig
from sitool.models.fbank import FbankFrontend
from sitool.scoring.score import score_experiments
from sitool.testing.decode_dirs import with_correlation, write_decode_dir
from sitool.testing.noisy_dirs import make_noisy_copy
from sitool.testing.training_setup import make_toy_setup, toy_config
from sitool.training.checkpoint import load_checkpoint
from sitool.training.config import TrainConfig, check_config, load_train_config
from sitool.training.trainer import train

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.usefixtures("one_thread")


def test_log_mel_matches_torchaudio_and_is_batch_independent():
    import torchaudio

    rng = np.random.default_rng(0)
    long, short = (0.1 * rng.standard_normal(n).astype(np.float32) for n in (16000, 9000))
    raw = FbankFrontend(FbankConfig(normalise="none"))
    reference = torchaudio.transforms.MelSpectrogram(
        16000, n_fft=400, hop_length=160, f_min=20.0, f_max=8000.0, n_mels=40,
        mel_scale="htk", power=2.0)(torch.from_numpy(long)).T
    np.testing.assert_allclose(raw.features(long), np.log(reference.numpy() + 1e-6), atol=1e-4)

    frontend = FbankFrontend(FbankConfig())
    alone = frontend.features(short)
    assert alone.shape == (9000 // 160 + 1, 40)     # centred frames: frame k at k * 10 ms
    np.testing.assert_allclose(alone.mean(0), 0.0, atol=1e-4)
    np.testing.assert_allclose(alone.std(0), 1.0, atol=1e-3)
    wav = torch.zeros(2, 16000)
    wav[0], wav[1, :9000] = torch.from_numpy(long), torch.from_numpy(short)
    feats, frames = frontend.from_audio(wav, torch.tensor([16000, 9000]))
    assert feats.shape == (1, 2, 101, 40) and frames.tolist() == [101, 57]
    np.testing.assert_allclose(feats[0, 1, :57].numpy(), alone, atol=1e-5)
    assert torch.all(feats[0, 1, 57:] == 0)


def test_fbank_is_for_si_models_and_checks_its_bands():
    cfg = from_dict(TrainConfig, {"model": {"type": "joint", "frontend": "fbank"}}, "t")
    with pytest.raises(SitoolError, match="frontend fbank is for model.type si"):
        check_config(cfg, "t.yaml")
    cfg = from_dict(TrainConfig, {"model": {"frontend": "fbank", "fbank": {"f_max": 9000}}}, "t")
    with pytest.raises(SitoolError, match="f_max"):
        check_config(cfg, "t.yaml")


def test_recipe_configs_and_default_models():
    for name, train_sets in [("train_si_fbank", ["data/train"]),
                             ("train_si_fbank_multi", ["data/train", "data/train_multi"])]:
        for conf in (REPO / "conf" / f"{name}.yaml", REPO / "conf" / "gpu_large" / f"{name}.yaml"):
            cfg = load_train_config(conf)
            assert cfg.model.frontend == "fbank" and cfg.model.type == "si", conf
            assert cfg.data.train_sets == train_sets
            assert not cfg.model.uses_cache       # run.sh's model.ssl.cache override is moot
    run_sh = (REPO / "run.sh").read_text()
    assert 'models="joint si_clean si_multi si_fbank si_fbank_multi"' in run_sh


def test_fbank_model_trains_decodes_and_is_a_reference_row(tmp_path, monkeypatch):
    def no_ssl(*args, **kwargs):
        raise AssertionError("an fbank model must not touch an SSL model")

    paths = make_toy_setup(tmp_path)
    train_noisy = make_noisy_copy(paths["train"], tmp_path / "data" / "train_noisy")
    dev_noisy = make_noisy_copy(paths["dev"], tmp_path / "data" / "dev_noisy", seed=5)
    monkeypatch.setattr("sitool.models.model.load_encoder", no_ssl)
    monkeypatch.setattr("sitool.models.frontend.SSLGeometry.from_pretrained", no_ssl)
    config = toy_config("si", tmp_path / "no_such_ssl", [paths["train"], train_noisy],
                        [paths["dev"]], epochs=4, cache=str(tmp_path / "no_such_cache"),
                        model={"frontend": "fbank", "fbank": {"n_mels": 24}})
    exp = train(from_dict(TrainConfig, config, "test config"), tmp_path / "exp" / "si_fbank",
                progress=False)
    history = load_checkpoint(exp / "checkpoints" / "last.pt")["history"]
    assert history[-1]["train_loss"] < 0.9 * history[0]["train_loss"]
    assert "log-mel fbank (24 bands" in (exp / "train.log").read_text()

    outs = decode(exp, [paths["dev"], dev_noisy], progress=False)
    for out in outs:
        meta = yaml.safe_load((out / "decode.yaml").read_text())
        assert meta["frontend"] == "fbank" and meta["model_type"] == "si"
        data = DataDir(meta["data_dir"])
        for utt in data.utts:
            pred = np.load(out / "tv" / f"{utt}.npy")
            assert pred.shape == data.target_array(utt).shape and np.all(np.isfinite(pred))

    def predict(rho):
        def fn(utt, ref):
            rng = np.random.default_rng(sum(map(ord, utt)))
            return np.stack([with_correlation(ref[:, j], rho, rng) for j in range(ref.shape[1])], 1)
        return fn

    for name, rho in [("si_clean", 0.5), ("joint", 0.6)]:
        for data in (paths["dev"], dev_noisy):
            write_decode_dir(tmp_path / "exp" / name, data, predict(rho),
                             model="joint" if name == "joint" else "si")
    result = score_experiments(baselines=[tmp_path / "exp" / "si_clean"],
                               exp_root=tmp_path / "exp", results=tmp_path / "RESULTS.md",
                               make_plots=False)
    rows = [line for line in result.text.splitlines() if line.startswith("si_fbank")]
    assert rows and all("[fbank ref.]" in r for r in rows)
    assert "[fbank ref.] = reference on log-mel filterbanks" in result.text
    block = result.text.split("== dev: clean ==")[1].split("==")[0]
    assert [line.split()[0] for line in block.splitlines()[3:6]] == ["si_clean", "joint", "si_fbank"]
    text = (tmp_path / "RESULTS.md").read_text()
    assert "| si_clean | joint | si_fbank [fbank ref.] | joint vs si_clean |" in text
    assert "## Relative improvement over the filterbank reference si_fbank (%)" in text
    assert ("Relative to the log-mel filterbank reference si_fbank at 0 dB: **joint** "
            "+18.6 % in non-babble noise (0.506 → 0.600)") in text
    assert "| si_fbank | si (fbank) |" in text
