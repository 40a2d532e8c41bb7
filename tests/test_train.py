"""sitool train: the trainer on tiny models and toy data — cache and on-the-fly inputs, every
model type, overfitting, resuming after a kill, torchrun/DDP, config errors, idempotence."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from click.testing import CliRunner

from sitool.cli import main
from sitool.config import from_dict
from sitool.datadir import DataDir
from sitool.errors import SitoolError
from sitool.log import time_left
from sitool.testing.noisy_dirs import make_noisy_copy
from sitool.testing.training_setup import make_toy_setup, toy_config
from sitool.training.checkpoint import load_checkpoint
from sitool.training.config import TrainConfig, default_exp_dir, load_train_config
from sitool.training.data import DataNeeds, UtteranceDataset, collate
from sitool.training.trainer import train

REPO = Path(__file__).resolve().parents[1]


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """Tiny SSL, clean toy train/dev, a noisy copy of each, and SSL caches of all four."""
    from sitool.ssl.cache_writer import cache_ssl

    root = tmp_path_factory.mktemp("train")
    paths = make_toy_setup(root)
    paths["train_noisy"] = make_noisy_copy(paths["train"], root / "data" / "train_noisy")
    paths["dev_noisy"] = make_noisy_copy(paths["dev"], root / "data" / "dev_noisy", seed=5)
    paths["cache"] = root / "dump" / "ssl" / "tiny"
    for name in ("train", "dev", "train_noisy", "dev_noisy"):
        cache_ssl(str(paths["ssl"]), paths[name], paths["cache"] / name, progress=False)
    paths["root"] = root
    return paths


def _cfg(data: dict) -> TrainConfig:
    return from_dict(TrainConfig, data, "test config")


def _history(exp: Path) -> list[dict]:
    return load_checkpoint(exp / "checkpoints" / "last.pt")["history"]


def _env() -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_si_from_cache_never_loads_the_encoder(setup, tmp_path, monkeypatch):
    def no_encoder(cfg):
        raise AssertionError("a cached frozen model must not load the SSL encoder")

    monkeypatch.setattr("sitool.models.model.load_encoder", no_encoder)
    cfg = _cfg(toy_config("si", setup["ssl"], [setup["train"]], [setup["dev"]], epochs=3,
                          cache=str(setup["cache"])))
    exp = train(cfg, tmp_path / "si", progress=False)
    history = _history(exp)
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    state = load_checkpoint(exp / "checkpoints" / "best.pt")
    assert not any(k.startswith("frontend.encoder.") for k in state["model"])
    assert state["normaliser"]["kind"] == "global" and len(state["normaliser"]["mean"]) == 3
    assert (exp / "curves.png").stat().st_size > 1000
    log = (exp / "train.log").read_text()
    assert "from cache" in log and "dev PPMC" in log
    # after each epoch but the last: how long the rest should take (issue 34)
    seconds = [h["seconds"] for h in history]
    assert f"epoch 1: {time_left(seconds[:1], 2)}" in log
    assert f"epoch 2: {time_left(seconds[:2], 1)}" in log and "epoch 3: about" not in log


def test_time_left_is_the_mean_epoch_times_the_epochs_left():
    assert time_left([20.0, 40.0], 2) == ("about 60 s left (2 more epochs at 30 s; early "
                                          "stopping may end it sooner)")
    assert time_left([100.0], 2).startswith("about 3.3 min left (2 more epochs at 100 s")
    assert time_left([5.0], 1).startswith("about 5 s left (1 more epoch at 5 s")
    assert time_left([5.0], 0) == "" and time_left([], 3) == ""


def test_dataloader_workers_do_not_change_the_result(setup, tmp_path):
    states = []
    for workers in (0, 2):
        cfg = _cfg(toy_config("si", setup["ssl"], [setup["train"]], [setup["dev"]], epochs=1,
                              cache=str(setup["cache"]), data={"num_workers": workers}))
        exp = train(cfg, tmp_path / f"workers{workers}", progress=False)
        states.append(load_checkpoint(exp / "checkpoints" / "last.pt")["model"])
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])


def test_se_then_cascade_and_ssl_target_joint(setup, tmp_path):
    se_exp = train(_cfg(toy_config("se", setup["ssl"], [setup["train_noisy"]], [setup["dev_noisy"]],
                                   epochs=2, cache=str(setup["cache"]))), tmp_path / "se",
                   progress=False)
    history = _history(se_exp)
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert history[0]["dev_ppmc"] is None                    # SE only: scored by dev loss

    cascade = toy_config("cascade", setup["ssl"], [setup["train_noisy"]], [setup["dev_noisy"]],
                         epochs=2, model={"cascade": {"se_exp": str(se_exp)}})
    exp = train(_cfg(cascade), tmp_path / "cascade", progress=False)
    resolved = yaml.safe_load((exp / "config.yaml").read_text())
    assert resolved["model"]["cascade"]["se_model"]["type"] == "se"
    best = load_checkpoint(exp / "checkpoints" / "best.pt")["model"]
    se_best = load_checkpoint(se_exp / "checkpoints" / "best.pt")["model"]
    for key, value in se_best.items():                      # the SE stage is carried, unchanged
        assert torch.equal(best["enhancer." + key], value)
    assert _history(exp)[-1]["train_loss"] < _history(exp)[0]["train_loss"]

    joint = toy_config("joint", setup["ssl"], [setup["train_noisy"]], [setup["dev_noisy"]],
                       epochs=2, freeze="cnn",
                       model={"se": {"target": "ssl",
                                     "ssl_target_cache": [str(setup["cache"] / "train"),
                                                          str(setup["cache"] / "dev")]}})
    exp = train(_cfg(joint), tmp_path / "joint_ssl", progress=False)
    history = _history(exp)
    assert history[-1]["train_se"] < history[0]["train_se"]


def test_joint_overfits_four_noisy_utterances(tmp_path):
    paths = make_toy_setup(tmp_path, num_train=4, num_dev=2)
    noisy = make_noisy_copy(paths["train"], tmp_path / "data" / "train_noisy")
    cfg = toy_config("joint", paths["ssl"], [noisy], [noisy], epochs=18, freeze="none",
                     model={"si": {"dropout": 0.0, "gru_units": [32, 32], "ppmc_weight": 1.0},
                            "se": {"dropout": 0.0}},
                     data={"batch_seconds": 8.0},
                     optim={"lr_heads": 2e-2, "lr_encoder": 1e-3, "warmup_steps": 3,
                            "schedule": "cosine"})
    exp = train(_cfg(cfg), tmp_path / "exp" / "joint", progress=False)
    history = _history(exp)
    print("joint overfit: train PPMC per epoch", [round(h["dev_ppmc"], 3) for h in history])
    assert history[-1]["dev_ppmc"] > 0.9, [h["dev_ppmc"] for h in history]   # dev = train set
    assert history[-1]["train_se"] < history[0]["train_se"]


def test_resume_after_kill_reaches_the_same_weights(setup, tmp_path):
    """A run SIGKILLed mid-training and rerun ends bit-identical to an uninterrupted run."""
    cfg = toy_config("joint", setup["ssl"], [setup["train"]], [setup["dev"]], epochs=3,
                     freeze="none", data={"batch_seconds": 3.0},
                     model={"ssl": {"spec_augment": True}})   # dropout + numpy-drawn masks
    conf = tmp_path / "joint.yaml"
    conf.write_text(yaml.safe_dump(cfg))
    straight = train(_cfg(cfg), tmp_path / "straight", progress=False)   # same 1 thread

    killed = tmp_path / "killed"
    command = [sys.executable, "-m", "sitool", "train", "--config", str(conf), "--out",
               str(killed), "--no-progress"]
    proc = subprocess.Popen(command, env=_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    last = killed / "checkpoints" / "last.pt"
    while not last.exists() and proc.poll() is None:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    interrupted_at = load_checkpoint(last)["epoch"]
    assert interrupted_at < 3, "the run finished before it could be killed"
    subprocess.run(command, check=True, env=_env(), capture_output=True)

    assert f"resuming from {last} after epoch {interrupted_at}" in (killed / "train.log").read_text()
    a, b = load_checkpoint(straight / "checkpoints" / "last.pt"), load_checkpoint(last)
    assert a["epoch"] == b["epoch"] == 3 and b["finished"]
    assert a["model"].keys() == b["model"].keys()
    for key in a["model"]:
        assert torch.equal(a["model"][key], b["model"][key]), key
    assert [h["dev_ppmc"] for h in a["history"]] == [h["dev_ppmc"] for h in b["history"]]


def test_torchrun_two_processes_write_one_checkpoint(setup, tmp_path):
    cfg = toy_config("joint", setup["ssl"], [setup["train"]], [setup["dev"]], epochs=1,
                     freeze="cnn", data={"batch_seconds": 3.0})
    conf = tmp_path / "ddp.yaml"
    conf.write_text(yaml.safe_dump(cfg))
    out = tmp_path / "ddp"
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         "-m", "sitool", "train", "--config", str(conf), "--out", str(out), "--no-progress"],
        env=_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["best.pt", "last.pt"]
    last = load_checkpoint(out / "checkpoints" / "last.pt")
    assert last["world_size"] == 2 and len(last["rng"]) == 2 and last["finished"]
    log = (out / "train.log").read_text()
    assert "2 process(es)" in log
    assert log.count("epoch 1/1:") == 1                      # rank 0 logs, once
    assert (out / "cmd").read_text().count("\n") == 1


def test_config_typos_name_the_nearest_key(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    conf = tmp_path / "train_typo.yaml"
    conf.write_text("model:\n  type: si\n  si:\n    gru_unit: [8]\n")
    with pytest.raises(SitoolError, match=r"unknown key 'model.si.gru_unit' \(did you mean 'model.si.gru_units'\?\)"):
        load_train_config(conf)
    good = tmp_path / "train_ok.yaml"
    good.write_text("model:\n  type: joint\n")
    with pytest.raises(SitoolError, match=r"did you mean 'optim.epochs'"):
        load_train_config(good, ["optim.epoch=3"])
    with pytest.raises(SitoolError, match="model.type"):
        load_train_config(good, ["model.type=sii"])
    result = CliRunner().invoke(main, ["train", "--config", str(good), "model.se.wieght=0.5"])
    assert result.exit_code == 1
    assert "error: override 'model.se.wieght=0.5': unknown key 'model.se.wieght' (did you mean 'model.se.weight'?)" in result.output
    assert not (tmp_path / "exp").exists()


def test_se_skip_categories_are_checked_and_batches_carry_each_utterance_category(setup, tmp_path):
    good = tmp_path / "train_joint.yaml"
    good.write_text("model:\n  type: joint\n")
    assert load_train_config(good, ["model.se.skip_categories=[babble]"]).model.se.skip_categories == ["babble"]
    with pytest.raises(SitoolError, match=r"unknown category 'babel' \(choose from clean, babble, non-babble\)"):
        load_train_config(good, ["model.se.skip_categories=[babel]"])
    with pytest.raises(SitoolError, match="skips every category"):
        load_train_config(good, ["model.se.skip_categories=[clean,babble,non-babble]"])
    cfg = load_train_config(good, ["model.se.skip_categories=[babble]"]).model
    data = UtteranceDataset([setup["train"], setup["train_noisy"]],
                            DataNeeds.for_model(cfg, use_cache=False))
    batch = collate([data[i] for i in range(len(data))])
    clean, noisy = DataDir(setup["train"]), DataDir(setup["train_noisy"])
    assert batch.categories == ["clean"] * len(clean.utts) + ["non-babble"] * len(noisy.utts)


def test_cli_default_tag_rerun_is_a_no_op_and_config_changes_are_refused(setup, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    conf = Path("conf/train_tiny.yaml")
    conf.parent.mkdir()
    conf.write_text(yaml.safe_dump(toy_config("si", setup["ssl"], [setup["train"]], [setup["dev"]],
                                              epochs=1, cache=str(setup["cache"]))))
    assert default_exp_dir(conf) == Path("exp/train_tiny")
    runner = CliRunner()
    result = runner.invoke(main, ["train", "--config", str(conf), "--no-progress"])
    assert result.exit_code == 0, result.output
    exp = Path("exp/train_tiny")
    for name in ("cmd", "config.yaml", "train.log", "curves.png", "checkpoints/best.pt"):
        assert (exp / name).is_file(), name
    assert (exp / "cmd").read_text().startswith("sitool ")
    torch.load(exp / "checkpoints" / "last.pt", weights_only=True)
    stamp = (exp / "checkpoints" / "last.pt").stat().st_mtime_ns

    result = runner.invoke(main, ["train", "--config", str(conf), "--no-progress"])
    assert result.exit_code == 0
    assert (exp / "checkpoints" / "last.pt").stat().st_mtime_ns == stamp
    assert "already finished" in (exp / "train.log").read_text()

    result = runner.invoke(main, ["train", "--config", str(conf), "optim.epochs=2"])
    assert result.exit_code == 1 and "trained with another config (optim.epochs: 1 -> 2)" in result.output

    # Bug: an experiment written before a config key existed (here model.ssl.frozen_layers)
    # was refused as "trained with another config (None -> 0)"; a missing key is its default.
    saved = yaml.safe_load((exp / "config.yaml").read_text())
    del saved["model"]["ssl"]["frozen_layers"]
    (exp / "config.yaml").write_text(yaml.safe_dump(saved))
    result = runner.invoke(main, ["train", "--config", str(conf), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert (exp / "checkpoints" / "last.pt").stat().st_mtime_ns == stamp

    result = runner.invoke(main, ["train", "--config", str(conf), "--overwrite", "--no-progress",
                                  "optim.epochs=2"])
    assert result.exit_code == 0, result.output
    assert load_checkpoint(exp / "checkpoints" / "last.pt")["epoch"] == 2


def test_missing_cache_and_bad_targets_are_one_line_errors(setup, tmp_path):
    cfg = _cfg(toy_config("si", setup["ssl"], [setup["train"]], [setup["dev"]], epochs=1,
                          cache=str(tmp_path / "nowhere")))
    with pytest.raises(SitoolError, match="no SSL cache .*sitool cache-ssl"):
        train(cfg, tmp_path / "a", progress=False)
    cfg = _cfg(toy_config("si", setup["ssl"], [setup["train"]], [setup["dev"]], epochs=1,
                          data={"targets": ["LA", "TBCD"]}))
    with pytest.raises(SitoolError, match=r"\['TBCD'\] not in the targets file"):
        train(cfg, tmp_path / "b", progress=False)
