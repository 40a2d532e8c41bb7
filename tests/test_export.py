"""``sitool export``: an exported model dir (and a Hub repo of one) predicts exactly what its
experiment does, through the Python API, ``sitool invert --model`` and ``sitool decode --exp``."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from click.testing import CliRunner

from sitool.cli import main
from sitool.errors import SitoolError
from sitool.testing.data_dirs import toy_utterance
from sitool.testing.training_setup import train_tiny_model


def _train(root, model_type, freeze):
    return train_tiny_model(root, root / "exp" / f"train_{model_type}_{freeze}", model_type,
                            freeze)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    return {"joint": _train(root, "joint", "all"), "si_finetuned": _train(root, "si", "none"),
            "root": root}


@pytest.fixture(scope="module")
def audios():
    rng = np.random.default_rng(3)
    return [toy_utterance(rng, 1.1)[0], toy_utterance(rng, 0.7)[0]]


@pytest.mark.parametrize("name", ["joint", "si_finetuned"])
def test_exported_model_predicts_exactly_what_the_experiment_does(trained, audios, tmp_path, name):
    from sitool.export import CONFIG_FILE, WEIGHTS_FILE, export_model
    from sitool.inference import load_inverter

    exp = trained[name]
    out = export_model(exp, tmp_path / "model", license="cc-by-4.0")
    meta = json.loads((out / CONFIG_FILE).read_text())
    assert meta["targets"]["names"] == ["LA", "LP", "TTCD"] and meta["license"] == "cc-by-4.0"
    assert (out / WEIGHTS_FILE).is_file() and (out / "README.md").is_file()
    assert (out / "ssl" / "config.json").is_file()
    if name == "joint":       # frozen local SSL: bundled whole
        assert meta["ssl"]["encoder"] == "frozen" and any((out / "ssl").glob("*.safetensors"))
    else:                     # fine-tuned: its weights are in model.safetensors, ssl/ is the architecture
        assert meta["ssl"]["encoder"] == "fine-tuned"
        assert not any((out / "ssl").glob("*.safetensors"))
    # the exported dir is self-contained: the experiment and its SSL model may go away
    moved = tmp_path / "elsewhere" / "model"
    shutil.copytree(out, moved)
    reference = load_inverter(exp).invert_batch(audios)
    loaded = load_inverter(moved)
    assert loaded.target_info.names == ["LA", "LP", "TTCD"]
    for ref, got in zip(reference, loaded.invert_batch(audios)):
        np.testing.assert_array_equal(got.targets, ref.targets)
        if ref.enhanced is not None:
            np.testing.assert_array_equal(got.enhanced, ref.enhanced)
    assert (name == "joint") == (loaded.has_se and reference[0].enhanced is not None)


def test_model_card_lists_the_experiment_scores(trained, tmp_path):
    from sitool.decode import decode
    from sitool.export import export_model
    from sitool.scoring.score import score_experiments

    exp = trained["joint"]
    toy = trained["root"] / "data" / "toy"
    decode(exp, [toy], progress=False)
    score_experiments(exps=[exp], make_plots=False)
    card = (export_model(exp, tmp_path / "model") / "README.md").read_text()
    assert card.startswith("---\nlicense: unknown\n")
    assert "| LA | mm |" in card and "100 frames/s" in card
    table = card.split("**PPMC**")[1].split("\n\n")[1]
    assert table.splitlines()[0] == "| noise | SNR [dB] | n | mean PPMC | LA | LP | TTCD |"
    row = table.splitlines()[2].split("|")
    assert row[1].strip() == "clean" and row[3].strip() == "4"
    assert -1 <= float(row[4]) <= 1
    assert "Speech enhancement" in card
    se_header = card.split("**Speech enhancement**")[1].split("\n\n")[1].splitlines()[0]
    assert se_header == ("| noise | SNR [dB] | n | PESQ | STOI | SI-SDR [dB] | ESTOI | PESQ-NB "
                         "| CSIG | CBAK | COVL |")
    se = pd.read_csv(exp / "decode" / "toy" / "se_scores.tsv", sep="\t")
    assert se[["estoi", "pesq_nb", "csig", "cbak", "covl"]].notna().all().all()


def test_cli_export_invert_and_decode_with_an_exported_dir(trained, audios, tmp_path):
    exp = trained["joint"]
    model = tmp_path / "model"
    runner = CliRunner()
    res = runner.invoke(main, ["export", str(exp), "--out", str(model)])
    assert res.exit_code == 0, res.output
    res = runner.invoke(main, ["export", str(exp), "--out", str(model)])
    assert res.exit_code == 1 and "exists; pass --overwrite" in res.output
    sf.write(tmp_path / "a.wav", audios[0], 16000, subtype="FLOAT")
    for name, source in (("exp", exp), ("exported", model)):
        res = runner.invoke(main, ["invert", str(tmp_path / "a.wav"), "--model", str(source),
                                   "--out", str(tmp_path / name)])
        assert res.exit_code == 0, res.output
    np.testing.assert_array_equal(np.load(tmp_path / "exported" / "a.npy"),
                                  np.load(tmp_path / "exp" / "a.npy"))
    toy = trained["root"] / "data" / "toy"
    res = runner.invoke(main, ["decode", "--exp", str(model), str(toy), "--no-progress"])
    assert res.exit_code == 0, res.output
    utt = sorted((model / "decode" / "toy" / "tv").glob("*.npy"))[0]
    from sitool.decode import decode

    (ref_dir,) = decode(exp, [toy], progress=False)
    np.testing.assert_array_equal(np.load(utt), np.load(ref_dir / "tv" / utt.name))


def _fake_hub_cache(cache, repo_id, model_dir):
    """The layout huggingface_hub keeps for a downloaded repo (refs/main -> snapshot)."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    commit = "0123456789abcdef0123456789abcdef01234567"
    shutil.copytree(model_dir, repo / "snapshots" / commit)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)


def test_hub_id_resolves_from_the_local_cache_offline(trained, audios, tmp_path, monkeypatch,
                                                      caplog):
    from huggingface_hub import constants

    from sitool.export import export_model, resolve_model
    from sitool.inference import load_inverter

    exp = trained["joint"]
    cache = tmp_path / "hub"
    _fake_hub_cache(cache, "lab/tiny-joint", export_model(exp, tmp_path / "model"))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.chdir(tmp_path)
    with caplog.at_level("INFO"):
        inverter = load_inverter("lab/tiny-joint")
    assert "model lab/tiny-joint: offline (HF_HUB_OFFLINE=1), using the local HF cache" in caplog.text
    np.testing.assert_array_equal(inverter.invert(audios[1]).targets,
                                  load_inverter(exp).invert(audios[1]).targets)
    with pytest.raises(SitoolError, match="'lab/missing': not a local dir nor in the local HF "
                                          "cache .*HF_HUB_OFFLINE=1"):
        resolve_model("lab/missing")
    # a decode with a Hub id writes under exp/, not into the HF cache
    toy = trained["root"] / "data" / "toy"
    from sitool.decode import decode

    (out,) = decode("lab/tiny-joint", [toy], progress=False)
    assert out == tmp_path.joinpath("exp", "lab--tiny-joint", "decode", "toy").relative_to(tmp_path)
    assert (tmp_path / out / "decode.yaml").is_file()


def test_invert_sidecar_and_formats_with_an_exported_model(trained, tmp_path):
    """The JSON sidecar describes the model (id as given, weights hash), the targets and the
    input (its rate/channels and what loading did), with an SNR estimate; --format mat."""
    from scipy.io import loadmat

    from sitool.export import WEIGHTS_FILE, export_model, file_sha256

    model = export_model(trained["joint"], tmp_path / "model")
    rng = np.random.default_rng(8)
    clean, _ = toy_utterance(rng, 1.2, rate=22050)
    noisy = clean + 0.1 * np.sqrt(np.mean(clean ** 2)) * rng.standard_normal(clean.size)
    sf.write(tmp_path / "rec.wav", np.stack([noisy, noisy], axis=1), 22050, subtype="PCM_16")
    res = CliRunner().invoke(main, ["invert", str(tmp_path / "rec.wav"), "--model", str(model),
                                    "--out", str(tmp_path / "inv"), "--format", "mat,npy"])
    assert res.exit_code == 0, res.output
    inv = tmp_path / "inv"
    assert {p.name for p in inv.iterdir()} == {"rec.npy", "rec.mat", "rec.json",
                                               "rec_enhanced.wav"}
    side = json.loads((inv / "rec.json").read_text())
    assert side["model"]["id"] == str(model) and side["model"]["type"] == "joint"
    assert side["model"]["sha256"] == file_sha256(model / WEIGHTS_FILE)
    assert side["model"]["ssl_encoder"] == "frozen"
    targets = np.load(inv / "rec.npy")
    assert side["targets"]["names"] == ["LA", "LP", "TTCD"]
    assert side["targets"]["units"] == ["mm", "mm", "mm"]
    assert side["targets"]["frame_rate"] == 100.0 and side["targets"]["first_frame_time_s"] == 0.0
    assert side["targets"]["frames"] == len(targets) and side["targets"]["precision"] == "float32"
    assert side["input"]["sample_rate"] == 22050 and side["input"]["channels"] == 2
    assert side["input"]["duration_s"] == pytest.approx(1.2, abs=1e-3)
    assert side["input"]["processing"] == [
        "downmixed 2 channels to mono (mean)",
        "resampled 22050 Hz -> 16000 Hz (polyphase FIR, scipy.signal.resample_poly)"]
    snr = side["input_snr_estimate_db"]
    assert isinstance(snr["db"], float) and snr["method"].startswith("SE model")
    assert side["files"] == {"npy": "rec.npy", "mat": "rec.mat", "enhanced": "rec_enhanced.wav"}
    mat = loadmat(inv / "rec.mat")
    np.testing.assert_allclose(mat["targets"], targets, rtol=1e-6)
    assert mat["time"].shape == (len(targets), 1) and mat["time"][1, 0] == pytest.approx(0.01)
    assert [str(n[0]) for n in mat["names"][0]] == ["LA", "LP", "TTCD"]
    assert float(mat["frame_rate"][0, 0]) == 100.0
