"""Bad input that used to give silent wrong results or leave leftovers blocking the next run
(issue 13; docs/bad_input.md lists each case and what the user sees)."""

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------------------- run.sh

def run_sh(*args, cwd):
    return subprocess.run(["bash", str(ROOT / "run.sh"), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def empty_recipe(tmp_path: Path) -> Path:
    """A recipe dir without data (a fresh checkout): hooks that do nothing."""
    recipe = tmp_path / "recipe"
    (recipe / "local").mkdir(parents=True)
    os.symlink(ROOT / "utils", recipe / "utils")
    for hook in ("corpus.sh", "data.sh", "noise.sh"):
        script = recipe / "local" / hook
        script.write_text("#!/usr/bin/env bash\ntrue\n")
        script.chmod(0o755)
    return recipe


@pytest.mark.parametrize("stage, missing, hint", [
    ("2", "data/train", "run stages 0-1 first: ./run.sh --stop-stage 1"),
    ("3", "data/train", "run stages 0-2 first: ./run.sh --stop-stage 2"),
    ("4", "data/train", "run stages 0-2 first: ./run.sh --stop-stage 2"),
    ("5", "data/test", "run stages 0-2 first: ./run.sh --stop-stage 2"),
    ("6", "exp/train_joint/decode/test", "run stage 5 first: ./run.sh --stage 5"),  # 1st model
])
def test_run_sh_missing_input_names_the_stage_that_makes_it(tmp_path, stage, missing, hint):
    recipe = empty_recipe(tmp_path)
    result = run_sh("--stage", stage, cwd=recipe)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert f"{missing}: not found; {hint}" in lines[0]


def test_run_sh_stage4_needs_the_ssl_cache_of_stage3(tmp_path):
    recipe = empty_recipe(tmp_path)
    for name in ("train", "dev", "test", "train_multi", "dev_multi", "test_noisy"):
        (recipe / "data" / name).mkdir(parents=True)
    result = run_sh("--stage", "4", cwd=recipe)
    assert result.returncode != 0
    assert ("dump/ssl/ssl_tiny/train: not found; run stage 3 first: ./run.sh --stage 3 "
            "--stop-stage 3") in result.stderr


@pytest.mark.parametrize("value", ["yes", "1", "True", ""])
def test_run_sh_rejects_non_boolean_values_of_boolean_options(tmp_path, value):
    recipe = empty_recipe(tmp_path)
    result = run_sh("--stage", "0", "--stop-stage", "0", "--overwrite", value, cwd=recipe)
    assert result.returncode != 0
    assert f"--overwrite takes true or false, got '{value}'" in result.stderr
    assert run_sh("--stage", "0", "--stop-stage", "0", "--overwrite", "true",
                  cwd=recipe).returncode == 0


# ----------------------------------------------------------------------------- Python stages

import errno
import shutil

import numpy as np
import soundfile as sf
import torch
from click.testing import CliRunner

import sitool.ssl.cache_writer as cache_writer
from sitool.audio import write_audio
from sitool.cli import main
from sitool.config import from_dict
from sitool.datadir import DataDir, spk2utt_table
from sitool.decode import decode
from sitool.errors import SitoolError
from sitool.io import write_table
from sitool.noise.noisy_sets import mix_data_dir
from sitool.ssl.cache_writer import cache_ssl
from sitool.testing.data_dirs import make_toy_data_dir
from sitool.testing.noisy_dirs import make_noisy_copy, make_white_noise_dirs
from sitool.testing.training_setup import make_toy_setup, toy_config
from sitool.training.checkpoint import load_checkpoint
from sitool.training.config import TrainConfig
from sitool.training.trainer import train
from sitool.validate import validate_data_dir


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Tiny SSL, toy train/dev with SSL caches, a 1-epoch SI model on them, a white-noise dir."""
    root = tmp_path_factory.mktemp("bad_input")
    paths = make_toy_setup(root, num_train=4, num_dev=2)
    paths["cache"] = root / "dump" / "ssl" / "tiny"
    for name in ("train", "dev"):
        cache_ssl(str(paths["ssl"]), paths[name], paths["cache"] / name, progress=False)
    paths["si"] = train(from_dict(TrainConfig, toy_config(
        "si", paths["ssl"], [paths["train"]], [paths["dev"]], epochs=1,
        cache=str(paths["cache"]))), root / "exp" / "si", progress=False)
    paths["noise"] = make_white_noise_dirs(root)["test"]
    paths["root"] = root
    return paths


def _train_cfg(world, train_sets, dev_sets=None, **kw):
    kw.setdefault("epochs", 1)
    return from_dict(TrainConfig, toy_config("si", world["ssl"], train_sets,
                                             dev_sets or [world["dev"]], **kw))


def _drop_line(path: Path, key: str) -> None:
    lines = [line for line in path.read_text().splitlines(keepends=True)
             if line.split(maxsplit=1)[0] != key]
    path.write_text("".join(lines))


def _truncate_wav(path: Path, keep: float) -> None:
    """Cut the file's sample bytes to ``keep`` of them; the RIFF header still claims them all."""
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.truncate(44 + int((size - 44) * keep) // 2 * 2)


# 1 -----------------------------------------------------------------------------------------

def test_stale_ssl_cache_of_other_audio_is_refused(world, tmp_path):
    """Same set name, utterance ids, wav paths and durations; other audio: the cache must not
    be used for it (before: decoded from the old features without a word)."""
    stale = make_toy_data_dir(tmp_path / "data" / "stale", num_utts=2, seed=3, prefix="st")
    cache_ssl(str(world["ssl"]), stale, world["cache"] / "stale", progress=False)
    data = DataDir(stale)
    rng = np.random.default_rng(9)
    for utt in data.utts:  # re-synthesised in place: same path and length, other samples
        audio = data.audio(utt)
        write_audio(data.wav_scp[utt], (0.3 * rng.uniform(-1, 1, audio.size)).astype(np.float32))
    with pytest.raises(SitoolError, match=r"stale: SSL cache made from other audio.*"
                                          r"cache-ssl .*--overwrite"):
        decode(world["si"], [stale], progress=False)
    with pytest.raises(SitoolError, match=r"stale: SSL cache made from other audio"):
        train(_train_cfg(world, [stale], cache=str(world["cache"])), tmp_path / "exp",
              progress=False)
    # --no-cache decodes from the audio itself
    (out,) = decode(world["si"], [stale], use_cache=False, progress=False)
    assert (out / "decode.yaml").is_file()


# 2 -----------------------------------------------------------------------------------------

def test_header_claiming_more_samples_than_the_file_holds(world, tmp_path):
    clean = make_toy_data_dir(tmp_path / "data" / "clean", num_utts=2, seed=4, prefix="hd")
    data = DataDir(clean)
    utt = data.utts[0]
    wav = Path(data.wav_scp[utt])
    _truncate_wav(wav, 0.5)
    real = sf.info(str(wav)).frames / 16000  # libsndfile reports what is really there
    assert real == pytest.approx(data.utt2dur[utt] / 2, abs=0.01)
    assert any("utt2dur says" in p for p in validate_data_dir(clean, progress=False))

    # mix takes each mixture's duration from the audio, not from the clean set's utt2dur
    noisy = mix_data_dir(clean, world["noise"], tmp_path / "data" / "clean_noisy", seed=1,
                         snrs=[0.0], progress=False)
    durations = DataDir(noisy).utt2dur
    assert durations[f"{utt}-white-snr+00"] == pytest.approx(real, abs=1e-3)

    # validate-data checks a noisy set's utt2dur against the mixtures' real length
    copied = make_noisy_copy(clean, tmp_path / "data" / "copied")  # copies the stale utt2dur
    problems = validate_data_dir(copied, progress=False)
    assert any("utt2dur says" in p and "mixture" in p for p in problems), problems

    with pytest.raises(SitoolError, match=r"utt2dur says .* but the audio lasts"):
        cache_ssl(str(world["ssl"]), clean, tmp_path / "dump" / "clean", progress=False)
    with pytest.raises(SitoolError, match=r"utt2dur says .* but the audio lasts"):
        train(_train_cfg(world, [clean]), tmp_path / "exp", progress=False)


# 3 -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("table", ["utt2spk", "tv.scp"])
def test_utterance_missing_from_a_table_is_not_dropped_silently(world, tmp_path, table):
    src = make_toy_data_dir(tmp_path / "data" / "partial", num_utts=3, seed=5, prefix="pa")
    utt = DataDir(src).utts[1]
    _drop_line(src / table, utt)
    if table == "utt2spk":  # keep spk2utt derived from the shortened utt2spk
        write_table(src / "spk2utt", spk2utt_table(DataDir(src).utt2spk))
    pattern = rf"partial/(wav.scp|utt2dur|tv.scp): .*1 utterance.*{utt}"
    with pytest.raises(SitoolError, match=pattern):
        mix_data_dir(src, world["noise"], tmp_path / "data" / "partial_noisy", seed=1,
                     snrs=[0.0], progress=False)
    with pytest.raises(SitoolError, match=pattern):
        cache_ssl(str(world["ssl"]), src, tmp_path / "dump" / "partial", progress=False)
    with pytest.raises(SitoolError, match=pattern):
        train(_train_cfg(world, [src]), tmp_path / "exp", progress=False)


# 4 -----------------------------------------------------------------------------------------

def test_targets_much_shorter_than_the_audio_are_refused_by_train(world, tmp_path):
    src = make_toy_data_dir(tmp_path / "data" / "short_tv", num_utts=2, seed=6, prefix="sh")
    data = DataDir(src)
    npy = data.tv_scp[data.utts[0]]
    array = np.load(npy)
    np.save(npy, array[: int(len(array) * 0.7)])
    assert any("frames at 100 Hz" in p for p in validate_data_dir(src, progress=False))
    with pytest.raises(SitoolError, match=r"frames at 100 Hz = .* but the audio lasts"):
        train(_train_cfg(world, [src]), tmp_path / "exp", progress=False)


# 5 -----------------------------------------------------------------------------------------

def _empty_data_dir(path: Path) -> Path:
    path.mkdir(parents=True)
    for name in ("utt2spk", "spk2utt", "utt2dur", "wav.scp"):
        (path / name).write_text("")
    return path


def test_empty_tables_are_an_error_at_every_stage(world, tmp_path):
    empty = _empty_data_dir(tmp_path / "data" / "empty")
    problems = validate_data_dir(empty, progress=False)
    assert any("no utterances" in p for p in problems), problems
    with pytest.raises(SitoolError, match="empty/utt2spk: no utterances"):
        mix_data_dir(empty, world["noise"], tmp_path / "data" / "empty_noisy", seed=1,
                     snrs=[0.0], progress=False)
    assert not (tmp_path / "data" / "empty_noisy").exists()
    with pytest.raises(SitoolError, match="empty/utt2spk: no utterances"):
        decode(world["si"], [empty], progress=False)
    with pytest.raises(SitoolError, match="empty/utt2spk: no utterances"):
        cache_ssl(str(world["ssl"]), empty, tmp_path / "dump" / "empty", progress=False)


# 6 -----------------------------------------------------------------------------------------

def test_too_short_utterance_is_caught_by_validation(tmp_path):
    src = make_toy_data_dir(tmp_path / "data" / "tiny", num_utts=2, seed=7, prefix="ti")
    data = DataDir(src)
    utt = data.utts[0]
    write_audio(data.wav_scp[utt], np.full(200, 0.1, np.float32))  # 12.5 ms
    np.save(data.tv_scp[utt], np.zeros((1, 3), np.float32))
    write_table(src / "utt2dur", {**{u: f"{d:.4f}" for u, d in data.utt2dur.items()},
                                  utt: "0.0125"})
    problems = validate_data_dir(src, progress=False)
    assert len(problems) == 1 and utt in problems[0] and "receptive field" in problems[0]
    assert any("receptive field" in p for p in validate_data_dir(src, check_audio=False,
                                                                 progress=False))


# 7 -----------------------------------------------------------------------------------------

def test_no_audio_validation_still_finds_a_missing_noise_file(world, tmp_path):
    noisy = make_noisy_copy(world["dev"], tmp_path / "data" / "dev_noisy")
    noise_file = next(iter(DataDir(noisy).mix.values())).noise_file
    assert validate_data_dir(noisy, check_audio=False, progress=False) == []
    Path(noise_file).unlink()
    problems = validate_data_dir(noisy, check_audio=False, progress=False)
    assert problems and all("noise" in p and "not found" in p for p in problems)


def test_mix_audio_dir_inside_the_output_is_refused(world, tmp_path):
    out = tmp_path / "data" / "dev_noisy"
    result = CliRunner().invoke(main, ["mix", str(world["dev"]), str(world["noise"]), str(out),
                                       "--snrs", "0", "--write-audio", "--audio-dir",
                                       str(out / "audio")])
    assert result.exit_code == 1, result.output
    assert "--audio-dir" in result.output and "inside" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not out.exists()


# 8 -----------------------------------------------------------------------------------------

def test_failed_train_does_not_block_the_next_run(world, tmp_path):
    exp = tmp_path / "exp"
    with pytest.raises(SitoolError, match="no SSL cache"):
        train(_train_cfg(world, [world["train"]], cache=str(tmp_path / "nowhere")), exp,
              progress=False)
    train(_train_cfg(world, [world["train"]], cache=str(world["cache"])), exp, progress=False)
    assert load_checkpoint(exp / "checkpoints" / "last.pt")["finished"]


def test_failed_pretrain_ssl_does_not_block_the_next_run(tmp_path):
    from sitool.config import load_config
    from sitool.ssl.pretrain import PretrainConfig, pretrain_ssl

    tiny = ["model.hidden_size=16", "model.num_layers=1", "model.num_heads=2",
            "model.intermediate_size=32", "model.conv_dim=8", "model.conv_pos_kernel=8",
            "model.conv_pos_groups=2", "clusters.num_clusters=4", "train.batch_seconds=4",
            "train.crop_seconds=1.0", "train.steps=2", "train.valid_fraction=0.3",
            "noise.data=null"]
    bad = _empty_data_dir(tmp_path / "data" / "empty")
    with pytest.raises(SitoolError):
        pretrain_ssl([bad], tmp_path / "ssl", load_config(PretrainConfig, ROOT / "conf/pretrain_ssl.yaml", tiny),
                     progress=False)
    good = make_toy_data_dir(tmp_path / "data" / "train", num_utts=4, seed=8)
    out = pretrain_ssl([good], tmp_path / "ssl",
                       load_config(PretrainConfig, ROOT / "conf/pretrain_ssl.yaml",
                                   tiny + ["clusters.num_clusters=5"]), progress=False)
    assert (out / "config.json").is_file()


# 9 -----------------------------------------------------------------------------------------

def test_cache_ssl_failure_on_bad_audio_leaves_nothing_behind(world, tmp_path):
    src = make_toy_data_dir(tmp_path / "data" / "bad", num_utts=2, seed=10, prefix="ba")
    data = DataDir(src)
    wav = Path(data.wav_scp[data.utts[1]])
    good = wav.read_bytes()
    wav.write_bytes(b"RIFF\x00\x00 not audio at all")
    out = tmp_path / "dump" / "bad"
    with pytest.raises(SitoolError, match="unreadable audio"):
        cache_ssl(str(world["ssl"]), src, out, progress=False, shard_seconds=100)
    assert not out.exists() or not any(out.rglob("*")), list(out.rglob("*"))
    wav.write_bytes(good)
    cache_ssl(str(world["ssl"]), src, out, progress=False, shard_seconds=100)
    assert (out / "meta.yaml").is_file()


def test_cache_ssl_full_disk_is_one_line_and_removes_the_partial_shard(world, tmp_path,
                                                                        monkeypatch):
    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cache_writer.os, "fsync", full)
    out = tmp_path / "dump" / "dev"
    with pytest.raises(SitoolError, match=r"No space left on device.*free"):
        cache_ssl(str(world["ssl"]), world["dev"], out, progress=False, shard_seconds=100)
    assert not list(out.rglob("*.partial"))


# 10 ----------------------------------------------------------------------------------------

def test_truncated_last_checkpoint_names_the_fix(world, tmp_path):
    exp = tmp_path / "exp"
    shutil.copytree(world["si"], exp)
    last = exp / "checkpoints" / "last.pt"
    last.write_bytes(last.read_bytes()[:1000])
    with pytest.raises(SitoolError, match=r"last.pt: unreadable checkpoint .*--overwrite"):
        train(_train_cfg(world, [world["train"]], cache=str(world["cache"])), exp,
              progress=False)


def test_kill_during_checkpoint_save_keeps_the_last_good_one(world, tmp_path, monkeypatch):
    from sitool.training import checkpoint as ckpt_mod

    path = tmp_path / "last.pt"
    ckpt_mod.save_checkpoint(path, {"epoch": 1})
    real_save = torch.save

    def killed(obj, f, *args, **kw):
        real_save(obj, f, *args, **kw)
        if hasattr(f, "truncate"):
            f.truncate(10)
        raise KeyboardInterrupt

    monkeypatch.setattr(ckpt_mod.torch, "save", killed)
    with pytest.raises(KeyboardInterrupt):
        ckpt_mod.save_checkpoint(path, {"epoch": 2})
    monkeypatch.undo()
    assert load_checkpoint(path)["epoch"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt"]


def test_truncated_pretrain_checkpoint_is_one_line(tmp_path):
    from sitool.config import load_config
    from sitool.ssl.pretrain import PretrainConfig, pretrain_ssl

    tiny = ["model.hidden_size=16", "model.num_layers=1", "model.num_heads=2",
            "model.intermediate_size=32", "model.conv_dim=8", "model.conv_pos_kernel=8",
            "model.conv_pos_groups=2", "clusters.num_clusters=4", "train.batch_seconds=4",
            "train.crop_seconds=1.0", "train.steps=2", "train.valid_fraction=0.3",
            "noise.data=null"]
    config = load_config(PretrainConfig, ROOT / "conf/pretrain_ssl.yaml", tiny)
    good = make_toy_data_dir(tmp_path / "data" / "train", num_utts=4, seed=8)
    out = pretrain_ssl([good], tmp_path / "ssl", config, progress=False)
    (out / "config.json").unlink()
    last = out / "pretrain" / "checkpoints" / "last.pt"
    last.write_bytes(last.read_bytes()[:500])
    with pytest.raises(SitoolError, match=r"last.pt: unreadable checkpoint .*--overwrite"):
        pretrain_ssl([good], tmp_path / "ssl", config, progress=False)
