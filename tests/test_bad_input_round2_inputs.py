"""Issue 36, round 2 (inputs): audio beyond full scale, clipped or silent; config values out of
their domain; a batch invert with unreadable files; unwritable output dirs, damaged or
incomplete exported dirs, ``export --overwrite`` over another dir, file modes, ids with
whitespace and byte-order marks, and a foreign ``--checkpoint``. The lines asserted here are
those listed in docs/bad_input.md."""

import json
import logging
import os
import shutil
import sys

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from sitool.cli import main
from sitool.errors import SitoolError
from sitool.testing.data_dirs import toy_utterance
from sitool.testing.stand_in_inverter import StandInInverter, hop_levels, stand_in_inference
from sitool.testing.training_setup import train_tiny_model


# ----------------------------------------------------------------------------- fixtures

def _train(root, name, model_type, seed=1):
    return train_tiny_model(root, root / "exp" / name, model_type, seed=seed)


@pytest.fixture(scope="module")
def exps(tmp_path_factory):
    """Two tiny trained experiments of different configs (a joint SI+SE and an SI model)."""
    root = tmp_path_factory.mktemp("round2")
    return {"joint": _train(root, "joint", "joint"), "si": _train(root, "si", "si", seed=2),
            "root": root}


@pytest.fixture
def stand_in(monkeypatch, tmp_path):
    """A stand-in model (targets = hop levels, enhanced = 0.5 x audio) for file handling."""
    inverter = StandInInverter(hop_levels, enhance=lambda audio: 0.5 * audio)
    monkeypatch.setitem(sys.modules, "sitool.inference", stand_in_inference(inverter))
    model = tmp_path / "exp" / "toy"
    model.mkdir(parents=True)
    return model, inverter


def _speech(seconds=1.2, seed=4):
    """Toy speech with pauses, peak exactly 1.0 (full scale)."""
    rng = np.random.default_rng(seed)
    speech, _ = toy_utterance(rng, seconds)
    speech = np.concatenate([np.zeros(3200, np.float32), speech, np.zeros(3200, np.float32)])
    speech = speech + 0.01 * rng.standard_normal(speech.size).astype(np.float32)
    return (speech / np.max(np.abs(speech))).astype(np.float32)


def _invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


# ----------------------------------------------------------------------------- FAIL 5

def test_audio_beyond_full_scale_is_not_clipped_and_is_reported(exps, tmp_path):
    """A float WAV peaking at 16.7: the enhanced audio keeps its level (float WAV, nothing
    clipped), the model sees it at full scale, and the log and sidecar say so."""
    speech = _speech()
    sf.write(tmp_path / "ref.wav", speech, 16000, subtype="FLOAT")
    sf.write(tmp_path / "loud.wav", 16.7 * speech, 16000, subtype="FLOAT")
    out = tmp_path / "out"
    res = _invoke("invert", tmp_path / "ref.wav", tmp_path / "loud.wav", "--model",
                  exps["joint"], "--out", out)
    assert res.exit_code == 0, res.output
    assert ("loud.wav: out of range: peak 16.7 (24.5 dB above full scale 1.0), "
            in res.output)
    enhanced, rate = sf.read(out / "loud_enhanced.wav", dtype="float32")
    info = sf.info(str(out / "loud_enhanced.wav"))
    assert info.subtype == "FLOAT" and rate == 16000
    reference, _ = sf.read(out / "ref_enhanced.wav", dtype="float32")
    assert np.max(np.abs(enhanced)) > 1.0                         # not clipped at full scale
    np.testing.assert_allclose(enhanced, 16.7 * reference, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(np.load(out / "loud.npy"), np.load(out / "ref.npy"),
                               rtol=1e-3, atol=1e-3)
    loud = json.loads((out / "loud.json").read_text())
    ref = json.loads((out / "ref.json").read_text())
    assert ref["warnings"] == []
    assert len(loud["warnings"]) == 1 and loud["warnings"][0].startswith("out of range: peak 16.7")
    assert any(p.startswith("scaled by 0.0598802 to peak 1.0") for p in loud["input"]["processing"])


def test_snr_estimate_does_not_depend_on_the_input_level(exps, tmp_path):
    """The same recording 16.7 times louder gets the same SNR estimate (the SE model's
    log-magnitude input is not level-invariant: unscaled, the estimate followed the level)."""
    rng = np.random.default_rng(9)
    speech = _speech()
    noise = rng.standard_normal(speech.size).astype(np.float32)
    noisy = speech + noise * np.sqrt(np.mean(speech ** 2) / np.mean(noise ** 2)) * 10 ** (-10 / 20)
    noisy = (noisy / np.max(np.abs(noisy))).astype(np.float32)
    sf.write(tmp_path / "ref.wav", noisy, 16000, subtype="FLOAT")
    sf.write(tmp_path / "loud.wav", 16.7 * noisy, 16000, subtype="FLOAT")
    out = tmp_path / "out"
    res = _invoke("invert", tmp_path / "ref.wav", tmp_path / "loud.wav", "--model",
                  exps["joint"], "--out", out)
    assert res.exit_code == 0, res.output
    snr = {n: json.loads((out / f"{n}.json").read_text())["input_snr_estimate_db"]
           for n in ("ref", "loud")}
    assert snr["ref"]["method"].startswith("SE model")
    assert snr["loud"]["db"] == pytest.approx(snr["ref"]["db"], abs=0.05)


def test_clipped_and_silent_input_are_reported(stand_in, tmp_path, caplog):
    model, _ = stand_in
    speech = _speech()
    clipped = np.clip(3.0 * speech, -1.0, 1.0)                    # a PCM_16 recording too hot
    sf.write(tmp_path / "hot.wav", clipped, 16000, subtype="PCM_16")
    sf.write(tmp_path / "quiet.wav", np.zeros(16000, np.float32), 16000, subtype="PCM_16")
    sf.write(tmp_path / "fine.wav", 0.5 * speech, 16000, subtype="PCM_16")
    from sitool.invert import invert_files

    with caplog.at_level(logging.WARNING):
        invert_files([tmp_path / "hot.wav", tmp_path / "quiet.wav", tmp_path / "fine.wav"],
                     model, tmp_path / "out")
    count = int(np.count_nonzero(np.abs(clipped) >= 1.0 - 1.5 / 2 ** 15))
    assert count > 0.001 * clipped.size
    hot = json.loads((tmp_path / "out" / "hot.json").read_text())["warnings"]
    assert hot == [f"clipped: {count} sample(s) ({100 * count / clipped.size:.2g} %) at full "
                   "scale (PCM_16); record at a lower level"]
    quiet = json.loads((tmp_path / "out" / "quiet.json").read_text())["warnings"]
    assert quiet == ["silent: every sample is 0; the outputs describe no speech"]
    assert json.loads((tmp_path / "out" / "fine.json").read_text())["warnings"] == []
    assert f"hot.wav: clipped: {count} sample(s)" in caplog.text
    assert "quiet.wav: silent: every sample is 0" in caplog.text


def test_enhanced_audio_is_a_float_wav(stand_in, tmp_path):
    model, _ = stand_in
    sf.write(tmp_path / "a.wav", 0.9 * _speech(), 16000, subtype="PCM_16")
    from sitool.invert import invert_files

    (out,) = invert_files([tmp_path / "a.wav"], model, tmp_path / "out")
    assert sf.info(str(out.enhanced)).subtype == "FLOAT"


# ----------------------------------------------------------------------------- FAIL 7

def _conf(tmp_path, text="base: {}\n"):
    from pathlib import Path

    conf = Path(__file__).resolve().parents[1] / "conf" / "train_joint.yaml"
    path = tmp_path / "train_x.yaml"
    path.write_text(text.format(conf))
    return path


@pytest.mark.parametrize("override, line", [
    ("optim.lr_heads=-1", "optim.lr_heads = -1.0 is out of its domain (> 0); set a value > 0"),
    ("model.si.dropout=1.5",
     "model.si.dropout = 1.5 is out of its domain (in [0, 1)); set a value in [0, 1)"),
    ("model.se.weight=.nan",
     "model.se.weight = nan is out of its domain (>= 0); set a finite value >= 0"),
    ("optim.epochs=0", "optim.epochs = 0 is out of its domain (>= 1); set a value >= 1"),
    ("data.batch_seconds=0", "data.batch_seconds = 0.0 is out of its domain (> 0); set a value > 0"),
    ("optim.patience=-2", "optim.patience = -2 is out of its domain (>= 0); set a value >= 0"),
    ("model.si.gru_units=[8,0]",
     "model.si.gru_units = [8, 0]: item 0 is out of its domain (>= 1); set a value >= 1"),
])
def test_config_values_out_of_their_domain_are_one_line(tmp_path, override, line):
    from sitool.training.config import load_train_config

    conf = _conf(tmp_path)
    with pytest.raises(SitoolError) as e:
        load_train_config(conf, [override])
    assert str(e.value) == f"{conf}: {line}"


def test_train_refuses_a_negative_learning_rate_before_training(tmp_path):
    conf = _conf(tmp_path)
    res = _invoke("train", "--config", conf, "--out", tmp_path / "exp", "optim.lr_heads=-1")
    assert res.exit_code == 1
    assert res.output.strip().splitlines()[-1] == (
        f"error: {conf}: optim.lr_heads = -1.0 is out of its domain (> 0); set a value > 0")
    assert not (tmp_path / "exp" / "checkpoints").exists()


def test_pretrain_config_domains(tmp_path):
    from sitool.config import load_config
    from sitool.ssl.pretrain import PretrainConfig

    path = tmp_path / "pretrain.yaml"
    path.write_text("mask:\n  prob: 0\ntrain:\n  lr: 1e-3\n")
    with pytest.raises(SitoolError, match=r"mask.prob = 0.0 is out of its domain \(in \(0, 1\]\)"):
        load_config(PretrainConfig, path)
    path.write_text("train:\n  speed_perturb: [0.9, -1.1]\n")
    with pytest.raises(SitoolError, match=r"train.speed_perturb = \[0.9, -1.1\]: item -1.1 is out"):
        load_config(PretrainConfig, path)
    path.write_text("noise:\n  snr_range: [-5, .inf]\n")
    with pytest.raises(SitoolError, match=r"noise.snr_range = \[-5.0, inf\]: item inf is out of "
                                          r"its domain \(finite\); set a finite value"):
        load_config(PretrainConfig, path)


def _numeric_fields(cls, prefix=""):
    import dataclasses
    import typing

    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        if dataclasses.is_dataclass(hint):
            yield from _numeric_fields(hint, prefix + f.name + ".")
            continue
        inner = {a for a in typing.get_args(hint) if a is not type(None)} | {hint}
        inner |= {b for a in list(inner) for b in typing.get_args(a)}
        if inner & {int, float}:
            yield prefix + f.name, f


# keys whose whole range is meaningful: layer numbers count from the end when negative
FREE_KEYS = {"model.ssl.layers", "model.se.ssl_target_layer"}


@pytest.mark.parametrize("cls_path", ["sitool.training.config:TrainConfig",
                                      "sitool.ssl.pretrain:PretrainConfig"])
def test_every_numeric_key_has_a_domain_its_default_lies_in(cls_path):
    import importlib

    from sitool.config import check_domain

    module, name = cls_path.split(":")
    cls = getattr(importlib.import_module(module), name)
    defaults = cls()
    keys = dict(_numeric_fields(cls))
    assert len(keys) > 20
    for key, f in keys.items():
        if key in FREE_KEYS:
            continue
        assert "domain" in f.metadata, f"{key}: no domain"
        value = defaults
        for part in key.split("."):
            value = getattr(value, part)
        check_domain(value, f.metadata["domain"], key)


# ----------------------------------------------------------------------------- WEAK (a)

def test_batch_invert_goes_on_past_unreadable_files(stand_in, tmp_path):
    model, _ = stand_in
    folder = tmp_path / "recs"
    folder.mkdir()
    for name in ("a", "c"):
        sf.write(folder / f"{name}.wav", 0.5 * _speech(), 16000)
    (folder / "b.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")          # not audio
    sf.write(folder / "d.wav", np.zeros(100, np.float32), 16000)               # too short
    out = tmp_path / "out"
    res = _invoke("invert", folder, "--model", model, "--out", out)
    assert res.exit_code == 1
    lines = res.output.strip().splitlines()
    assert any(f"{folder / 'b.wav'}: unreadable audio (" in line for line in lines)
    assert any(f"{folder / 'd.wav'}: 6.2 ms of audio; at least 25 ms are needed" in line
               for line in lines)
    assert lines[-1] == (f"error: 2 of 4 file(s) could not be inverted (each named above, e.g. "
                         f"{folder / 'b.wav'}); the other 2 were written to {out}. Fix or "
                         "remove them and rerun (finished files are reused)")
    for name in ("a", "c"):
        assert (out / f"{name}.npy").is_file() and (out / f"{name}.json").is_file()
        assert str(out / f"{name}.npy") in lines
    assert not (out / "b.npy").exists() and not (out / "d.npy").exists()


# ----------------------------------------------------------------------------- WEAK (b)

def test_unwritable_output_dir_is_one_line(stand_in, tmp_path):
    model, _ = stand_in
    sf.write(tmp_path / "a.wav", 0.5 * _speech(), 16000)
    (tmp_path / "file").write_text("x")
    res = _invoke("invert", tmp_path / "a.wav", "--model", model, "--out", tmp_path / "file" / "out")
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert res.output.strip().splitlines()[-1] == (
        f"error: {tmp_path / 'file' / 'out'}: cannot write the outputs there (Not a directory); "
        "choose another --out or fix its permissions")


def test_truncated_or_incomplete_exported_dir_is_one_line(exps, tmp_path):
    from sitool.export import export_model
    from sitool.inference import load_inverter

    exported = export_model(exps["joint"], tmp_path / "model")
    cut = tmp_path / "cut"
    shutil.copytree(exported, cut)
    weights = cut / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(SitoolError) as e:
        load_inverter(cut)
    assert str(e.value).startswith(f"{weights}: unreadable weights (")
    assert str(e.value).endswith("the file is damaged (cut short?): copy or download the "
                                 "exported dir again, or export it again")
    no_ssl = tmp_path / "no_ssl"
    shutil.copytree(exported, no_ssl)
    shutil.rmtree(no_ssl / "ssl")
    with pytest.raises(SitoolError) as e:
        load_inverter(no_ssl)
    assert str(e.value) == (f"{no_ssl / 'ssl'}: missing or incomplete (no config.json); this "
                            "exported dir bundles its SSL model there (config.json says "
                            "ssl.bundled: ssl): copy the whole exported dir again, or export it "
                            "again (sitool export exp/TAG --out DIR --overwrite)")
    assert "stage 3" not in str(e.value)


# ----------------------------------------------------------------------------- WEAK (d), (e)

def test_export_overwrite_replaces_only_an_export(exps, tmp_path, caplog):
    from sitool.export import export_model

    out = export_model(exps["joint"], tmp_path / "model")
    with caplog.at_level(logging.INFO):
        export_model(exps["joint"], out, checkpoint="last", overwrite=True)
    assert (f"{out}: --overwrite: replacing the earlier export there (of joint, best, exported "
            in caplog.text)
    assert json.loads((out / "config.json").read_text())["source"]["checkpoint"] == "last"
    other = tmp_path / "notes"
    other.mkdir()
    (other / "thesis.tex").write_text("precious")
    res = _invoke("export", exps["joint"], "--out", other, "--overwrite")
    assert res.exit_code == 1
    assert res.output.strip().splitlines()[-1] == (
        f"error: {other}: not an exported model dir (a dir of 1 entries without config.json of "
        "an export); --overwrite replaces only an earlier sitool export, and the whole dir "
        "would be deleted: choose another --out, or remove it yourself")
    assert (other / "thesis.tex").read_text() == "precious"


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_written_files_follow_the_umask(exps, tmp_path, umask):
    from sitool.export import export_model

    before = os.umask(umask)
    try:
        out = export_model(exps["joint"], tmp_path / f"model{umask:o}")
    finally:
        os.umask(before)
    for path in [out, *out.rglob("*")]:
        wanted = (0o777 if path.is_dir() else 0o666) & ~umask
        assert path.stat().st_mode & 0o777 == wanted, path


# ----------------------------------------------------------------------------- WEAK (f)

def test_ids_with_whitespace_and_byte_order_marks_are_named(toy_data):
    from sitool.datadir import DataDir

    utt2spk = toy_data / "utt2spk"
    lines = utt2spk.read_text().splitlines()
    first_utt, spk = lines[0].split()
    utt2spk.write_text("\n".join([f"{first_utt[:3]} {first_utt[3:]} {spk}"] + lines[1:]) + "\n")
    line = (f"{utt2spk}:1: 3 fields in '{first_utt[:3]} {first_utt[3:]} {spk}', expected "
            "'<utt> <speaker>': an id with whitespace in it? Ids cannot contain whitespace "
            "(Kaldi tables split on it); replace it, e.g. by '_', in every table of the data dir")
    with pytest.raises(SitoolError) as e:
        DataDir(toy_data).check_utterances()
    assert str(e.value) == line
    res = _invoke("validate-data", toy_data)
    assert res.exit_code == 1 and line in res.output

    utt2spk.write_text("\ufeff" + "\n".join(lines) + "\n")
    with pytest.raises(SitoolError) as e:
        DataDir(toy_data).check_utterances()
    assert str(e.value) == (f"{utt2spk}:1: starts with a byte-order mark (saved as 'UTF-8 "
                            "with BOM'), which would become part of the first id; save it as "
                            rf"plain UTF-8, e.g. sed -i '1s/^\xEF\xBB\xBF//' {utt2spk}")


# ----------------------------------------------------------------------------- WEAK (g)

def test_a_checkpoint_of_another_experiment_is_refused(exps, tmp_path):
    foreign = exps["si"] / "checkpoints" / "best.pt"
    sf.write(tmp_path / "a.wav", 0.5 * _speech(), 16000)
    res = _invoke("invert", tmp_path / "a.wav", "--model", exps["joint"], "--checkpoint",
                  foreign, "--out", tmp_path / "out")
    assert res.exit_code == 1
    assert res.output.strip().splitlines()[-1] == (
        f"error: {foreign}: a checkpoint of another experiment than {exps['joint']} (its config "
        f"differs from {exps['joint'] / 'config.yaml'}: model.type: 'si' there, 'joint' here, "
        "seed: 2 there, 1 here); give the experiment it came from as the model, or "
        f"--checkpoint best|last for {exps['joint']}'s own")
    assert not (tmp_path / "out" / "a.npy").exists()
    # its own checkpoint given as a file is fine
    own = exps["joint"] / "checkpoints" / "last.pt"
    res = _invoke("invert", tmp_path / "a.wav", "--model", exps["joint"], "--checkpoint", own,
                  "--out", tmp_path / "out")
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "out" / "a.json").read_text())["model"]["weights"] == \
        str(own.resolve())
