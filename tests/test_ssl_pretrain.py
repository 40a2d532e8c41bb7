"""pretrain-ssl (HuBERT-style masked prediction of MFCC clusters) and the linear probe."""

import dataclasses

import numpy as np
import pytest
import torch
import yaml
from click.testing import CliRunner

import sitool.ssl.pretrain as pretrain_mod
from sitool.cli import main
from sitool.config import _all_keys, load_config
from sitool.errors import SitoolError
from sitool.io import read_yaml
from sitool.ssl.encoder import load_ssl_encoder
from sitool.ssl.pretrain import (PretrainConfig, frames_for, mfcc_features, pretrain_ssl,
                                 span_mask)
from sitool.ssl.probe import format_probe, probe_ssl
from sitool.testing.data_dirs import make_toy_data_dir
from sitool.testing.ssl_model import make_tiny_ssl_model

CONF = "conf/pretrain_ssl.yaml"
TINY = ["model.hidden_size=32", "model.num_layers=2", "model.num_heads=2",
        "model.intermediate_size=64", "model.conv_dim=8", "model.conv_pos_kernel=8",
        "model.conv_pos_groups=2", "clusters.num_clusters=8", "train.batch_seconds=6",
        "train.crop_seconds=1.5", "train.lr=3e-3", "train.valid_fraction=0.2",
        "noise.data=null"]   # the toy corpora have no noise dir (denoising: its own test)


def _config(*overrides):
    return load_config(PretrainConfig, CONF, TINY + list(overrides))


@pytest.fixture(scope="module")
def toy_train(tmp_path_factory):
    return make_toy_data_dir(tmp_path_factory.mktemp("data") / "train", num_utts=10,
                             num_speakers=2, seconds=(1.5, 2.5))


def test_conf_file_names_every_key():
    with open(CONF) as f:
        data = yaml.safe_load(f)
    flat = []

    def walk(node, prefix=""):
        for key, value in node.items():
            flat.append(prefix + key)
            if isinstance(value, dict):
                walk(value, prefix + key + ".")

    walk(data)
    assert sorted(flat) == sorted(_all_keys(PretrainConfig))
    assert dataclasses.asdict(load_config(PretrainConfig, CONF)) == dataclasses.asdict(
        PretrainConfig())
    with pytest.raises(SitoolError, match="did you mean 'train.steps'"):
        load_config(PretrainConfig, CONF, ["train.step=3"])


def test_mfcc_targets_align_with_model_frames(tmp_path):
    model = load_ssl_encoder(make_tiny_ssl_model(tmp_path / "m"))
    rng = np.random.default_rng(0)
    for n in (400, 719, 720, 16000, 16123):
        wav = rng.standard_normal(n).astype(np.float32) * 0.1
        assert frames_for(n) == int(model.frame_lengths(torch.tensor([n]))[0])
        feats = mfcc_features(wav)
        assert feats.shape == (frames_for(n), 39) and np.all(np.isfinite(feats))


def test_span_mask_covers_about_prob():
    mask = span_mask([200, 120], 200, 0.65, 10, np.random.default_rng(0))
    assert not mask[1, 120:].any()
    assert 0.3 < mask[0].mean() < 0.7 and 0.3 < mask[1, :120].mean() < 0.7


def test_pretrain_loss_falls_resumes_and_loads(toy_train, tmp_path, monkeypatch):
    out = tmp_path / "exp" / "ssl_tiny"
    # 8 training utterances (2 held out), 1.5 s crops, 6 s batches: 2 steps per epoch, so
    # 7 steps = 4 epochs, the last one a single step (no speed-perturbed copies).
    config = _config("train.steps=7", "train.speed_perturb=[]")
    real_evaluate = pretrain_mod.evaluate
    calls = {"n": 0}

    def dies_in_epoch_3(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt("killed")
        return real_evaluate(*args, **kwargs)

    monkeypatch.setattr(pretrain_mod, "evaluate", dies_in_epoch_3)
    with pytest.raises(KeyboardInterrupt):
        pretrain_ssl([toy_train], out, config, progress=False)
    assert not (out / "config.json").exists()  # not a finished model dir
    assert (out / "pretrain" / "checkpoints" / "last.pt").is_file()
    monkeypatch.setattr(pretrain_mod, "evaluate", real_evaluate)

    pretrain_ssl([toy_train], out, config, progress=False)  # resumes at epoch 3
    lines = (out / "pretrain" / "train.log").read_text().splitlines()
    assert [line.split()[1] for line in lines] == ["1/4", "2/4", "3/4", "4/4"]
    assert [line.split()[3] for line in lines] == ["2", "4", "6", "7"]
    losses = [float(line.split()[5]) for line in lines]
    assert losses[-1] < losses[0] - 0.1, losses
    summary = read_yaml(out / "pretrain" / "summary.yaml")
    assert summary["num_clusters"] == 8 and 0 <= summary["valid_acc"] <= 1
    assert summary["chance"] >= 1 / 8

    encoder = load_ssl_encoder(out)
    assert encoder.num_layers == 3 and encoder.dim == 32 and encoder.frame_rate == 50
    # the recipe's model: w2v-BERT (Conformer on stacked filterbanks), 560-sample frames
    assert encoder.model.config.model_type == "wav2vec2-bert"
    assert encoder.inputs.kind == "filterbank" and encoder.use_attention_mask
    assert encoder.model.config.conv_depthwise_kernel_size == 15
    with torch.inference_mode():
        states, frames = encoder(torch.randn(2, 16000) * 0.1, torch.tensor([16000, 8000]))
    assert states[-1].shape == (2, 49, 32) and frames.tolist() == [49, 24]
    # a finished model is reused; a different config on a partial run is refused
    pretrain_ssl([toy_train], out, config, progress=False)
    (out / "config.json").unlink()
    with pytest.raises(SitoolError, match="partial pretraining with another config"):
        pretrain_ssl([toy_train], out, _config("train.steps=9", "train.speed_perturb=[]"),
                     progress=False)


def test_pretrain_cli_overrides(toy_train, tmp_path, monkeypatch):
    monkeypatch.setenv("SITOOL_PROGRESS", "1")     # bars on although stderr is no terminal
    out = tmp_path / "ssl"
    result = CliRunner().invoke(main, ["pretrain-ssl", str(toy_train), "--out", str(out),
                                       "--config", CONF, *TINY, "train.steps=1",
                                       "model.arch=hubert", "--num-threads", "1",
                                       "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "pretrain-ssl: MFCC" not in result.output          # --no-progress: no bars
    assert load_ssl_encoder(out).model.config.model_type == "hubert"
    # WavLM: waveform input (normalised), a layer-norm conv encoder, so an attention mask
    out = tmp_path / "wavlm"
    result = CliRunner().invoke(main, ["pretrain-ssl", str(toy_train), "--out", str(out),
                                       "--config", CONF, *TINY, "train.steps=2",
                                       "model.arch=wavlm", "--num-threads", "1"])
    assert result.exit_code == 0, result.output
    assert "pretrain-ssl: MFCC" in result.output              # the bars by default
    encoder = load_ssl_encoder(out)
    assert encoder.model.config.model_type == "wavlm" and encoder.inputs.kind == "waveform"
    assert encoder.inputs.normalize and encoder.use_attention_mask
    with torch.inference_mode():
        states, frames = encoder(torch.randn(2, 16000) * 0.1, torch.tensor([16000, 8000]))
    assert len(states) == 3 and states[-1].shape == (2, 49, 32) and frames.tolist() == [49, 24]
    result = CliRunner().invoke(main, ["pretrain-ssl", str(toy_train), "--out", str(out),
                                       "--config", CONF, "train.setps=1"])
    assert result.exit_code == 1 and "did you mean 'train.steps'" in result.output


def test_probe_trained_vs_random(tmp_path):
    model = make_tiny_ssl_model(tmp_path / "m", feat_extract_norm="layer")
    train = make_toy_data_dir(tmp_path / "data" / "train", num_utts=6, seed=3)
    dev = make_toy_data_dir(tmp_path / "data" / "dev", num_utts=3, seed=4)
    results = probe_ssl(model, train, dev, layers=[0, 2], random_baseline=True, progress=False)
    assert list(results) == [str(model), f"{model} (random init)"]
    first, second = results.values()
    assert set(first["per_target"]) == {"LA", "LP", "TTCD"}
    assert -1 <= first["mean_ppmc"] <= 1 and first["mean_ppmc"] != second["mean_ppmc"]
    assert first["mean_ppmc"] == pytest.approx(np.mean(list(first["per_target"].values())))
    table = format_probe(results)
    assert "random init" in table and "TTCD" in table
    result = CliRunner().invoke(main, ["probe-ssl", "--ssl-model", str(model), "--train",
                                       str(train), "--dev", str(dev), "--layers", "2",
                                       "--pooling", "mean", "--max-utts", "4"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].split() == ["model", "mean", "LA", "LP", "TTCD"]


def test_probe_fbank_row(tmp_path):
    from sitool.ssl.probe import stack_frames

    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    stacked = stack_frames(x, 1)
    assert stacked.shape == (4, 9)
    np.testing.assert_array_equal(stacked[0], [0, 1, 2, 0, 1, 2, 3, 4, 5])    # edge repeated
    np.testing.assert_array_equal(stacked[3], [6, 7, 8, 9, 10, 11, 9, 10, 11])
    model = make_tiny_ssl_model(tmp_path / "m", feat_extract_norm="layer")
    train = make_toy_data_dir(tmp_path / "data" / "train", num_utts=6, seed=3)
    dev = make_toy_data_dir(tmp_path / "data" / "dev", num_utts=3, seed=4)
    results = probe_ssl(model, train, dev, layers=[2], fbank=True, fbank_context=2,
                        progress=False)
    assert list(results) == [str(model), "log-mel fbank (±2 frames)"]
    fbank = results["log-mel fbank (±2 frames)"]
    assert fbank["pooling"] == "stack ±2" and set(fbank["per_target"]) == {"LA", "LP", "TTCD"}
    # the toy targets are smooth functions of the toy audio's spectrum: log-mel carries them
    assert fbank["mean_ppmc"] > 0.5
    result = CliRunner().invoke(main, ["probe-ssl", "--ssl-model", str(model), "--train",
                                       str(train), "--dev", str(dev), "--layers", "2",
                                       "--fbank-context", "1"])
    assert result.exit_code == 0, result.output
    last = result.stdout.splitlines()[-1]
    assert last.startswith("log-mel fbank (±1 frames)") and -1 <= float(last.split()[4]) <= 1


def test_source_columns_carry_pitch_and_voicing_on_the_model_frames():
    """The optional pitch/voicing columns of the cluster features: a 240 Hz harmonic tone
    reads one octave above 120 Hz where it sounds, periodic there and silent elsewhere."""
    from sitool.ssl.pretrain import ClusterConfig, source_columns, target_features

    rate = 16000
    t = np.arange(rate) / rate
    tone = sum(np.sin(2 * np.pi * 240 * k * t) / k for k in range(1, 6))
    wav = np.concatenate([np.zeros(rate // 2), 0.1 * tone, np.zeros(rate // 2)]).astype(np.float32)
    cols = source_columns(wav, weight=2.0)
    assert cols.shape == (frames_for(len(wav)), 3)
    voiced = slice(35, 65)                     # 0.7-1.3 s: inside the tone
    np.testing.assert_allclose(cols[voiced, 0], 2.0 * 1.0, atol=0.05)     # log2(240/120) = 1
    assert np.all(cols[voiced, 1] > 2.0 * 0.8)                           # periodic
    assert np.all(cols[:20, 1] < 0.1) and np.all(cols[-20:, 1] < 0.1)     # silence
    assert target_features(wav, ClusterConfig()).shape[1] == 39
    assert target_features(wav, ClusterConfig(source_weight=2.0)).shape[1] == 42


def test_speed_perturbation_scales_time_and_pitch():
    from sitool.ssl.pretrain import speed_perturb

    t = np.arange(16000) / 16000
    tone = np.sin(2 * np.pi * 200 * t).astype(np.float32)
    for factor in (0.9, 1.1):
        out = speed_perturb(tone, factor)
        assert abs(len(out) - 16000 / factor) <= 2
        spectrum = np.abs(np.fft.rfft(out))
        peak_hz = np.argmax(spectrum) * 16000 / len(out)
        assert abs(peak_hz - 200 * factor) < 3, (factor, peak_hz)


def test_speed_perturbed_copies_train_only(toy_train, tmp_path, monkeypatch):
    """train.speed_perturb adds one labelled copy per factor of every training utterance and
    none of the held-out ones (their copies would leak into training)."""
    from sitool.ssl.pretrain import Utterance, speed_perturbed_copies

    config = _config("train.speed_perturb=[0.9,1.1]")
    centroids = np.random.default_rng(0).standard_normal((8, 39)).astype(np.float32)
    utt = Utterance("set/u1", np.random.default_rng(1).standard_normal(16000).astype(np.float32),
                    np.zeros(49, dtype=np.int64))
    copies = speed_perturbed_copies([utt], [0.9, 1.1], centroids, config.clusters, progress=False)
    assert [c.key for c in copies] == ["set/u1@sp0.9", "set/u1@sp1.1"]
    for copy in copies:
        assert len(copy.labels) == frames_for(len(copy.wav)) and copy.labels.max() < 8
    with pytest.raises(SitoolError, match="speed_perturb"):
        speed_perturbed_copies([utt], [1.0], centroids, config.clusters)

    seen = {}
    real_epoch = pretrain_mod._train_epoch

    def spy(predictor, optimizer, scheduler, train, config, *args):
        seen["train"] = [u.key for u in train]
        return real_epoch(predictor, optimizer, scheduler, train, config, *args)

    monkeypatch.setattr(pretrain_mod, "_train_epoch", spy)
    out = tmp_path / "ssl"
    pretrain_ssl([toy_train], out, _config("train.steps=1", "train.speed_perturb=[0.9,1.1]"),
                 progress=False)
    originals = [k for k in seen["train"] if "@sp" not in k]
    assert sorted(seen["train"]) == sorted(
        originals + [f"{k}@sp{f}" for k in originals for f in ("0.9", "1.1")])
    assert (out / "config.json").is_file()


def _noise_dir(tmp_path):
    from sitool.noise.sources import NoiseSegment, write_noise_dir
    from sitool.testing.noisy_dirs import make_noise_file

    wav = make_noise_file(tmp_path / "white.wav", seconds=6.0, seed=3)
    return write_noise_dir(tmp_path / "noise_train", [
        NoiseSegment("white-train", "white", str(wav), 0.0, 6.0, "white", "non-babble")])


def test_noise_adder_mixes_at_the_drawn_snr(tmp_path):
    from sitool.datadir import DataDir
    from sitool.noise.snr import measure_snr
    from sitool.ssl.pretrain_noise import NoiseAdder, PretrainNoiseConfig

    noise_dir = _noise_dir(tmp_path)
    speech = make_toy_data_dir(tmp_path / "d", num_utts=1, seconds=(2.0, 2.0))
    data = DataDir(speech)
    wav = data.audio(data.utts[0])
    wav = (0.05 * wav / np.max(np.abs(wav))).astype(np.float32)   # quiet: no peak limiting
    adder = NoiseAdder(PretrainNoiseConfig(data=str(noise_dir), prob=1.0, snr_range=[-5.0, -5.0]))
    noisy = adder(wav, np.random.default_rng(0))
    assert noisy.shape == wav.shape and not np.allclose(noisy, wav)
    assert measure_snr(wav.astype(np.float64), noisy - wav) == pytest.approx(-5.0, abs=0.05)
    assert np.array_equal(noisy, adder(wav, np.random.default_rng(0)))   # seeded: reproducible
    loud = (0.95 * wav / np.max(np.abs(wav))).astype(np.float32)
    assert np.max(np.abs(adder(loud, np.random.default_rng(0)))) <= 0.99 + 1e-6   # peak-limited
    half = NoiseAdder(PretrainNoiseConfig(data=str(noise_dir), prob=0.5))
    rng = np.random.default_rng(1)
    changed = [not np.array_equal(half(wav, rng), wav) for _ in range(200)]
    assert 0.4 < np.mean(changed) < 0.6
    with pytest.raises(SitoolError, match="noise.prob"):
        NoiseAdder(PretrainNoiseConfig(data=str(noise_dir), prob=0.0))
    with pytest.raises(SitoolError, match="noise.snr_range"):
        NoiseAdder(PretrainNoiseConfig(data=str(noise_dir), snr_range=[10.0, 0.0]))
    with pytest.raises(SitoolError, match="noise directory not found") as err:
        NoiseAdder(PretrainNoiseConfig(data=str(tmp_path / "missing")))
    assert "noise.data=null" in str(err.value)     # the way out when no noise dir exists


def test_denoising_pretraining_adds_noise_to_the_crops_not_to_the_targets(toy_train, tmp_path,
                                                                         monkeypatch):
    """noise.data: the model sees noisy crops; the targets stay the clean audio's cluster ids,
    and the crops, batches and masks are those of clean pretraining with the same seed."""
    noise_dir = _noise_dir(tmp_path)
    seen = {}
    real_update = pretrain_mod.pretraining_update

    def spy(predictor, optimizer, pieces, config, rng):
        seen.setdefault(config.noise.data is not None, []).extend(pieces)
        return real_update(predictor, optimizer, pieces, config, rng)

    monkeypatch.setattr(pretrain_mod, "pretraining_update", spy)
    base = ["train.steps=2", "train.speed_perturb=[]"]
    pretrain_ssl([toy_train], tmp_path / "clean", _config(*base), progress=False)
    out = tmp_path / "denoising"
    pretrain_ssl([toy_train], out, _config(*base, f"noise.data={noise_dir}", "noise.prob=1.0",
                                           "noise.snr_range=[0,0]"), progress=False)
    clean, noisy = seen[False], seen[True]
    assert len(clean) == len(noisy) > 0
    for (c_wav, c_lab), (n_wav, n_lab) in zip(clean, noisy):
        assert np.array_equal(c_lab, n_lab)                    # targets of the clean crop
        assert c_wav.shape == n_wav.shape and not np.allclose(c_wav, n_wav)
    assert read_yaml(out / "pretrain" / "summary.yaml")["noise"] == {
        "data": str(noise_dir), "prob": 1.0, "snr_range": [0.0, 0.0]}
    assert read_yaml(tmp_path / "clean" / "pretrain" / "summary.yaml")["noise"] is None
    assert load_ssl_encoder(out).num_layers == 3
