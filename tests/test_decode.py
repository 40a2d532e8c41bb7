"""sitool decode and the inference API: sharded = unsharded, outputs in the targets' units,
cache and on-the-fly inputs agree, invert() = decode, idempotence, bad inputs."""

import shutil

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from sitool.cli import main
from sitool.config import from_dict
from sitool.datadir import DataDir, TargetInfo
from sitool.decode import decode
from sitool.errors import SitoolError
from sitool.inference import load_inverter
from sitool.io import read_table, read_yaml
from sitool.models.framerate import frames_for_samples
from sitool.testing.noisy_dirs import make_noisy_copy
from sitool.testing.training_setup import make_toy_setup, toy_config
from sitool.training.checkpoint import load_checkpoint
from sitool.training.config import TrainConfig
from sitool.training.trainer import train


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def exps(tmp_path_factory):
    """A joint model (on the fly, SE head), a cached si model and an se model, briefly trained."""
    from sitool.ssl.cache_writer import cache_ssl

    root = tmp_path_factory.mktemp("decode")
    paths = make_toy_setup(root)
    paths["dev_noisy"] = make_noisy_copy(paths["dev"], root / "data" / "dev_noisy", seed=5)
    paths["train_noisy"] = make_noisy_copy(paths["train"], root / "data" / "train_noisy")
    cache = root / "dump" / "ssl" / "tiny"
    for name in ("train", "dev"):
        cache_ssl(str(paths["ssl"]), paths[name], cache / name, progress=False)

    def run(name, data):
        return train(from_dict(TrainConfig, data), root / "exp" / name, progress=False)

    paths["joint"] = run("joint", toy_config("joint", paths["ssl"], [paths["train_noisy"]],
                                             [paths["dev_noisy"]], epochs=2, freeze="cnn"))
    paths["si"] = run("si", toy_config("si", paths["ssl"], [paths["train"]], [paths["dev"]],
                                       epochs=3, cache=str(cache)))
    paths["se"] = run("se", toy_config("se", paths["ssl"], [paths["train_noisy"]],
                                       [paths["dev_noisy"]], epochs=1))
    return paths


def _outputs(out):
    tv = {u: np.load(p) for u, p in read_table(out / "tv.scp").items()}
    wav = {u: sf.read(p, dtype="float32")[0] for u, p in read_table(out / "enhanced.scp").items()}
    return tv, wav


def test_sharded_decode_equals_unsharded(exps):
    data = exps["dev_noisy"]
    (out,) = decode(exps["joint"], [data], progress=False)
    tv, wav = _outputs(out)
    assert sorted(tv) == DataDir(data).utts and sorted(wav) == DataDir(data).utts

    runner = CliRunner()
    args = ["decode", "--exp", str(exps["joint"]), str(data), "--nj", "2", "--overwrite",
            "--no-progress"]
    assert runner.invoke(main, args + ["--job", "1"]).exit_code == 0
    assert not (out / "decode.yaml").exists() and not (out / "tv.scp").exists()   # incomplete
    result = runner.invoke(main, args + ["--job", "2"])
    assert result.exit_code == 0, result.output
    assert not (out / "decode.yaml").exists() and not (out / "tv.scp").exists()   # jobs: slices only
    finish = ["decode", "--exp", str(exps["joint"]), str(data), "--nj", "2", "--no-progress"]
    result = runner.invoke(main, finish)          # the finishing call writes the tables
    assert result.exit_code == 0, result.output
    info = read_yaml(out / "decode.yaml")
    assert info["num_utts"] == 4 and info["model_type"] == "joint" and info["enhanced"]
    assert info["data_dir"] == str(data.resolve()) and info["checkpoint"] == "best"
    tv2, wav2 = _outputs(out)
    for utt in tv:
        assert np.allclose(tv[utt], tv2[utt], atol=1e-5), utt
        assert np.allclose(wav[utt], wav2[utt], atol=1e-6), utt
        assert len(wav[utt]) == len(DataDir(data).audio(utt))


def test_decoded_targets_are_in_units_and_cache_matches_on_the_fly(exps, tmp_path):
    data = DataDir(exps["dev"])
    (out,) = decode(exps["si"], [data.path], progress=False)
    assert read_yaml(out / "decode.yaml")["ssl_input"].startswith("cache ")
    info = TargetInfo.read(out / "targets")
    assert info.names == data.targets.names and info.units == data.targets.units
    assert info.frame_rate == 100.0
    stats = load_checkpoint(exps["si"] / "checkpoints" / "best.pt")["normaliser"]
    mean, std = np.array(stats["mean"]), np.array(stats["std"])
    preds = {u: np.load(p) for u, p in read_table(out / "tv.scp").items()}
    for utt, pred in preds.items():
        assert pred.dtype == np.float32 and pred.shape == (
            frames_for_samples(data.num_samples(utt), 100.0), 3)
    frames = np.concatenate(list(preds.values()))
    assert np.all(np.abs(frames.mean(0) - mean) < 0.5 * std)   # de-normalised: near the train mean

    inverter = load_inverter(exps["si"])                      # SSL on the fly, same weights
    for utt, pred in preds.items():
        normalised = (pred - mean) / std
        fly = (inverter.invert(data.audio(utt)).targets - mean) / std
        assert len(fly) == len(pred)                           # one frame grid
        assert np.abs(fly - normalised).max() < 0.05           # fp16 cache vs fp32


def test_inverter_equals_decode_and_ignores_batch_mates(exps):
    data = DataDir(exps["dev_noisy"])
    (out,) = decode(exps["joint"], [data.path], progress=False)
    inverter = load_inverter(exps["joint"])
    assert inverter.has_se and inverter.target_info.names == ["LA", "LP", "TTCD"]
    a, b = (data.audio(u) for u in data.utts[:2])
    alone = inverter.invert(a)
    pair = inverter.invert_batch([b, a])
    assert np.allclose(pair[1].targets, alone.targets, atol=1e-5)
    assert np.allclose(pair[1].enhanced, alone.enhanced, atol=1e-6)
    assert alone.enhanced.shape == a.shape and alone.targets.shape == (frames_for_samples(len(a), 100.0), 3)
    assert np.allclose(np.load(out / "tv" / f"{data.utts[0]}.npy"), alone.targets, atol=1e-5)
    with pytest.raises(SitoolError, match="mono"):
        inverter.invert(np.stack([a, a], 1))
    with pytest.raises(SitoolError, match="at least 400"):
        inverter.invert(a[:100])
    with pytest.raises(SitoolError, match="NaN"):
        inverter.invert(np.full(2000, np.nan, np.float32))


def test_decode_is_idempotent_and_redoes_another_checkpoint(exps):
    data = exps["dev"]
    (out,) = decode(exps["si"], [data], progress=False)
    npy = out / "tv" / f"{DataDir(data).utts[0]}.npy"
    stamp = npy.stat().st_mtime_ns
    decode(exps["si"], [data], progress=False)
    assert npy.stat().st_mtime_ns == stamp                   # finished: reused
    decode(exps["si"], [data], checkpoint="last", progress=False)
    assert read_yaml(out / "decode.yaml")["checkpoint"] == "last"
    assert npy.stat().st_mtime_ns != stamp                   # other weights: redone


def test_se_model_decodes_enhanced_audio_only(exps):
    (out,) = decode(exps["se"], [exps["dev_noisy"]], progress=False)
    assert not (out / "tv.scp").exists() and not (out / "targets").exists()
    enhanced = read_table(out / "enhanced.scp")
    assert sorted(enhanced) == DataDir(exps["dev_noisy"]).utts
    assert read_yaml(out / "decode.yaml")["targets"] is False
    assert load_inverter(exps["se"]).target_info is None


def test_decode_input_errors(exps, tmp_path):
    with pytest.raises(SitoolError, match="data directory not found"):
        decode(exps["si"], [tmp_path / "nope"], progress=False)
    with pytest.raises(SitoolError, match="checkpoint not found"):
        decode(exps["si"], [exps["dev"]], checkpoint=str(tmp_path / "x.pt"), progress=False)
    with pytest.raises(SitoolError, match="experiment dir not found"):
        load_inverter(tmp_path / "exp_missing")
    shutil.copytree(exps["dev"], tmp_path / "dev")
    with pytest.raises(SitoolError, match="same set name"):
        decode(exps["si"], [exps["dev"], tmp_path / "dev"], progress=False)
