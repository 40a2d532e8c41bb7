"""Issue 36, round 2 of "no silent wrong results": SSL weights told apart by their stamp, a
trained experiment's recipe-relative SSL model found where the experiment is, written mixtures
checked against their rows, and one output frame grid for cached and on-the-fly decoding
(docs/bad_input.md lists each case and the line it gives)."""

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

import sitool.ssl.cache_writer as cache_writer
from sitool.audio import SAMPLE_RATE, write_audio
from sitool.cli import main
from sitool.config import from_dict
from sitool.datadir import DataDir
from sitool.decode import decode
from sitool.errors import SitoolError
from sitool.io import read_yaml, write_yaml
from sitool.mixture import materialise
from sitool.noise.noisy_sets import mix_data_dir
from sitool.noise.readers import read_audio_dir
from sitool.noise.sources import prepare_noise_dirs
from sitool.ssl.cache_reader import SSLCache
from sitool.ssl.cache_stamps import legacy_model_stamp, model_stamp, settings_hash
from sitool.ssl.cache_writer import cache_ssl
from sitool.testing.data_dirs import (TOY_TARGETS, make_toy_data_dir, toy_utterance,
                                      write_media_data_dir)
from sitool.testing.ssl_model import make_tiny_ssl_model
from sitool.testing.training_setup import toy_config
from sitool.training.config import TrainConfig
from sitool.training.data import check_cache
from sitool.training.trainer import train
from sitool.validate import validate_data_dir

# The battery's utterance: 34,881 samples = 2.1800625 s; the frames at 100 Hz with
# t = j / 100 < duration are j = 0..218, i.e. 219 (utt2dur's 2.1801 s gave 218 from the cache).
ODD_SAMPLES = 34_881
ODD_UTT = "dvspk0_000"


@pytest.fixture(scope="module")
def recipe(tmp_path_factory):
    """A recipe dir as run.sh leaves it: exp/ssl_tiny, data/{train,dev}, their SSL caches and
    a frozen-SSL SI model exp/train_si trained on the cache, every path relative to it."""
    recipe = tmp_path_factory.mktemp("round2_models") / "recipe"
    make_tiny_ssl_model(recipe / "exp" / "ssl_tiny", seed=0)
    make_toy_data_dir(recipe / "data" / "train", num_utts=4, num_speakers=2, seed=0, prefix="tr")
    rng = np.random.default_rng(3)
    odd, odd_targets = toy_utterance(rng, ODD_SAMPLES / SAMPLE_RATE)
    assert len(odd) == ODD_SAMPLES
    other, other_targets = toy_utterance(rng, 1.3)
    write_media_data_dir(recipe / "data" / "dev", [(ODD_UTT, "dvspk0", odd, odd_targets),
                                                   ("dvspk1_001", "dvspk1", other, other_targets)],
                         TOY_TARGETS)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(recipe)
        for name in ("train", "dev"):
            cache_ssl("exp/ssl_tiny", f"data/{name}", f"dump/ssl/ssl_tiny/{name}", progress=False)
        train(from_dict(TrainConfig, toy_config("si", "exp/ssl_tiny", ["data/train"], ["data/dev"],
                                                epochs=1, cache="dump/ssl/ssl_tiny")),
              Path("exp/train_si"), progress=False)
    return recipe


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    return make_toy_data_dir(tmp_path_factory.mktemp("toy") / "toy", num_utts=2, seed=4)


# ----------------------------------------------------------------------------- FAIL 1: stamps

def test_model_stamp_covers_the_weights(tmp_path):
    model = make_tiny_ssl_model(tmp_path / "ssl", seed=0)
    first = model_stamp(str(model))
    make_tiny_ssl_model(model, seed=1)          # re-pretrained: same shape, other weights
    second = model_stamp(str(model))
    assert first and second and first != second
    assert first.startswith("sha256:") and second.startswith("sha256:")
    make_tiny_ssl_model(model, seed=0)          # the same weights again: the same stamp
    assert model_stamp(str(model)) == first


def test_cache_of_other_weights_of_the_same_shape_is_not_reused(toy, tmp_path):
    model = make_tiny_ssl_model(tmp_path / "ssl", seed=0)
    out = cache_ssl(str(model), toy, tmp_path / "cache", progress=False)
    make_tiny_ssl_model(model, seed=1)
    with pytest.raises(SitoolError, match=r"other settings is there \(differs in: model_stamp "
                                          r"\(the model's weights or config changed\)\); "
                                          r"pass --overwrite"):
        cache_ssl(str(model), toy, out, progress=False)
    with pytest.raises(SitoolError, match=r"SSL cache made by other weights than .* holds now"):
        check_cache(SSLCache(out), str(model), [0], 32)        # train, decode
    cache_ssl(str(model), toy, out, overwrite=True, progress=False)
    check_cache(SSLCache(out), str(model), [0], 32)


def _make_legacy(out: Path, model: str) -> None:
    """Rewrite a cache's stamps as a sitool before the weight digest wrote them."""
    settings = read_yaml(out / "settings.yaml")
    old_hash = settings["settings_hash"]
    settings["model_stamp"] = legacy_model_stamp(model)
    settings["settings_hash"] = settings_hash(settings)
    write_yaml(out / "settings.yaml", settings)
    for done in (out / "shards").glob("*.done"):
        entry = read_yaml(done)
        assert entry["settings_hash"] == old_hash
        write_yaml(done, {**entry, "settings_hash": settings["settings_hash"]})
    meta = read_yaml(out / "meta.yaml")
    write_yaml(out / "meta.yaml", {**meta, "model_stamp": settings["model_stamp"],
                                   "settings_hash": settings["settings_hash"]})


def test_old_format_stamp_is_restamped_with_one_line(toy, tmp_path, monkeypatch, caplog):
    model = make_tiny_ssl_model(tmp_path / "ssl", seed=0)
    out = cache_ssl(str(model), toy, tmp_path / "cache", progress=False)
    before = read_yaml(out / "meta.yaml")
    _make_legacy(out, str(model))
    caplog.set_level(logging.WARNING)
    with caplog.at_level(logging.WARNING):
        check_cache(SSLCache(out), str(model), [0], 32)      # readers accept it, saying why
    assert "model stamp from an older sitool" in caplog.text and "re-stamps" in caplog.text
    caplog.clear()
    monkeypatch.setattr(cache_writer, "_write_shard", lambda *a, **k: pytest.fail("recomputed"))
    cache_ssl(str(model), toy, out, progress=False)          # re-stamped, not rebuilt
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "re-stamped" in warnings[0], warnings
    after = read_yaml(out / "meta.yaml")
    assert after["model_stamp"] == before["model_stamp"] == model_stamp(str(model))
    assert after["settings_hash"] == before["settings_hash"]
    assert all(read_yaml(d)["settings_hash"] == before["settings_hash"]
               for d in (out / "shards").glob("*.done"))
    caplog.clear()
    cache_ssl(str(model), toy, out, progress=False)          # now simply reused
    assert "re-stamped" not in caplog.text
    # an old-format stamp of a model whose files changed size is a real mismatch
    _make_legacy(out, str(model))
    make_tiny_ssl_model(model, seed=1, hidden=48)
    with pytest.raises(SitoolError, match=r"differs in: model_stamp"):
        cache_ssl(str(model), toy, out, progress=False)


# ----------------------------------------------------------------- FAIL 1: where the SSL is

def _invert(wav: Path, exp: Path, out: Path):
    res = CliRunner().invoke(main, ["invert", str(wav), "--model", str(exp), "--out", str(out)])
    assert res.exit_code == 0, res.output
    return np.load(out / f"{wav.stem}.npy"), res.output


def test_invert_uses_the_experiments_ssl_model_wherever_it_runs(recipe, tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    make_tiny_ssl_model(elsewhere / "exp" / "ssl_tiny", seed=7)    # same path, other weights
    audio, _ = toy_utterance(np.random.default_rng(1), 1.0)
    wav = tmp_path / "a.wav"
    sf.write(wav, audio, SAMPLE_RATE)
    monkeypatch.chdir(recipe)
    there, _ = _invert(wav, recipe / "exp" / "train_si", tmp_path / "inv_recipe")
    monkeypatch.chdir(elsewhere)
    here, output = _invert(wav, recipe / "exp" / "train_si", tmp_path / "inv_elsewhere")
    np.testing.assert_array_equal(here, there)
    assert f"using {recipe / 'exp' / 'ssl_tiny'} (beside the experiment), not " in output
    assert "changed since training" not in output


def test_invert_warns_when_the_frozen_ssl_weights_changed(recipe, tmp_path):
    copy = tmp_path / "recipe"
    shutil.copytree(recipe, copy)
    audio, _ = toy_utterance(np.random.default_rng(1), 1.0)
    wav = tmp_path / "a.wav"
    sf.write(wav, audio, SAMPLE_RATE)
    _, output = _invert(wav, copy / "exp" / "train_si", tmp_path / "inv1")
    assert "changed since training" not in output
    make_tiny_ssl_model(copy / "exp" / "ssl_tiny", seed=9)           # re-pretrained in place
    _, output = _invert(wav, copy / "exp" / "train_si", tmp_path / "inv2")
    assert "changed since training" in output and "predictions will not match" in output


# ------------------------------------------------------------------------- ALSO: frame grid

def test_cached_and_on_the_fly_decode_give_the_same_frames(recipe, monkeypatch):
    monkeypatch.chdir(recipe)
    (out,) = decode(Path("exp/train_si"), [Path("data/dev")], progress=False)
    assert read_yaml(out / "decode.yaml")["ssl_input"].startswith("cache ")
    cached = {u: np.load(out / "tv" / f"{u}.npy") for u in DataDir("data/dev").utts}
    decode(Path("exp/train_si"), [Path("data/dev")], use_cache=False, overwrite=True,
           progress=False)
    assert read_yaml(out / "decode.yaml")["ssl_input"] == "on the fly"
    fly = {u: np.load(out / "tv" / f"{u}.npy") for u in cached}
    assert cached[ODD_UTT].shape == fly[ODD_UTT].shape == (219, 3)
    for utt in cached:
        assert cached[utt].shape == fly[utt].shape
        np.testing.assert_allclose(cached[utt], fly[utt], atol=0.05 * np.abs(fly[utt]).max())


# ----------------------------------------------------------------- FAIL 4: written mixtures

@pytest.fixture(scope="module")
def noise(tmp_path_factory):
    root = tmp_path_factory.mktemp("noise")
    rng = np.random.default_rng(0)
    write_audio(root / "files" / "white.wav",
                (0.1 * rng.standard_normal(SAMPLE_RATE * 8)).astype(np.float32))
    return prepare_noise_dirs(lambda: read_audio_dir(root / "files", "white", "non-babble"),
                              root / "data", seed=0)["test"]


def _mix(toy, noise, out, seed, audio):
    return mix_data_dir(toy, noise, out, seed=seed, snrs=[0, 5], write_audio_files=True,
                        audio_dir=audio, progress=False)


def _holds_its_rows(out: Path) -> bool:
    data = DataDir(out)
    return all(np.array_equal(sf.read(path, dtype="float32")[0], materialise(data.mix[utt]))
               for utt, path in data.wav_scp.items())


def test_mix_write_audio_checks_the_audio_it_reuses(toy, noise, tmp_path, caplog):
    audio = tmp_path / "audio"
    first = _mix(toy, noise, tmp_path / "first", 1, audio)
    assert _holds_its_rows(first) and validate_data_dir(first, progress=False) == []
    with caplog.at_level(logging.INFO):
        second = _mix(toy, noise, tmp_path / "second", 2, audio)    # another seed, same audio dir
    assert (first / "mix.tsv").read_text() != (second / "mix.tsv").read_text()
    assert _holds_its_rows(second)
    sidecar = json.loads(Path(DataDir(second).wav_scp[DataDir(second).utts[0]] + ".json")
                         .read_text())
    assert set(sidecar) == {"row", "samples_sha256"}
    assert sidecar["row"] in (second / "mix.tsv").read_text().splitlines()
    n = len(DataDir(second).utts)
    assert f"{n} of {n} existing mixture file(s) in {audio} held other mixtures than their rows " \
           "(e.g. " in caplog.text and "rewrote them" in caplog.text
    assert validate_data_dir(second, progress=False) == []
    problems = validate_data_dir(first, progress=False)         # its audio was rewritten
    rows = DataDir(first).mix
    assert len(problems) == n and all(
        p.startswith(f"{u}: {DataDir(first).wav_scp[u]}: written from another mix.tsv row "
                     f"(seed {DataDir(second).mix[u].seed}, this set's {rows[u].seed}, ")
        and p.endswith("; remake the audio: sitool mix ... --write-audio --overwrite")
        for u, p in zip(sorted(rows), problems))
    # audio edited after it was written
    data = DataDir(second)
    utt = data.utts[0]
    samples, _ = sf.read(data.wav_scp[utt], dtype="float32")
    write_audio(data.wav_scp[utt], 0.5 * samples, subtype="FLOAT")
    problems = validate_data_dir(second, progress=False)
    assert problems == [f"{utt}: {data.wav_scp[utt]}: its samples changed since sitool mix "
                        "wrote them (the digest in its .json sidecar differs); remake the audio: "
                        "sitool mix ... --write-audio --overwrite"]
    caplog.clear()
    with caplog.at_level(logging.INFO):
        third = _mix(toy, noise, tmp_path / "third", 2, audio)       # the same rows: reused,
    assert _holds_its_rows(third)                                   # but the edited one
    assert f"1 of {n} existing mixture file(s)" in caplog.text


def test_written_mixture_without_a_sidecar_is_checked_against_its_row(toy, noise, tmp_path):
    out = _mix(toy, noise, tmp_path / "dn", 1, tmp_path / "audio")
    data = DataDir(out)
    for path in data.wav_scp.values():
        Path(path + ".json").unlink()                           # audio of an older sitool
    assert validate_data_dir(out, progress=False) == []         # right audio: no problem
    utt = data.utts[-1]
    length = len(materialise(data.mix[utt]))
    write_audio(data.wav_scp[utt], np.full(length, 0.01, np.float32), subtype="FLOAT")
    problems = validate_data_dir(out, progress=False)
    assert len(problems) == 1 and problems[0].startswith(f"{utt}: {data.wav_scp[utt]}: holds "
                                                         "another mixture than its mix.tsv row")
