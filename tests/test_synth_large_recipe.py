"""recipes/synth_large: the large preset of the embedded experiment (same stages, hooks and
models as the default recipe; a bigger corpus, more noisy draws, longer SSL pretraining)."""

import dataclasses
import os
import subprocess
from pathlib import Path

from sitool.config import load_config
from sitool.ssl.pretrain import PretrainConfig
from sitool.training.config import load_train_config

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "recipes" / "synth_large"


def help_lines() -> tuple[str, dict[str, str]]:
    result = subprocess.run(["bash", str(RECIPE / "run.sh"), "--help"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout, {line.split()[0]: line for line in result.stdout.splitlines()
                           if line.startswith("  --")}


def test_large_preset_help_shows_its_corpus_size_and_draws():
    text, lines = help_lines()
    assert "Usage: ./run.sh [options]" in text            # stage 0 makes its corpus
    assert lines["--num-utts"].endswith("[162]") and "unused" not in lines["--num-utts"]
    assert lines["--train-draws"].endswith("[8]")
    assert lines["--corpus"].endswith("[corpus/synth]") and "recipes/synth_large" in lines["--corpus"]
    assert lines["--ssl-model"].endswith("[]")             # the in-recipe SSL model


def test_large_preset_models_are_the_default_ones_and_pretraining_is_longer():
    configs = sorted(p.name for p in (RECIPE / "conf").glob("train_*.yaml"))
    assert configs == sorted(p.name for p in (ROOT / "conf").glob("train_*.yaml"))
    for name in configs:      # the same models, training lengths and SE weight
        large = dataclasses.asdict(load_train_config(RECIPE / "conf" / name))
        default = dataclasses.asdict(load_train_config(ROOT / "conf" / name))
        assert large == default, name
    large = load_config(PretrainConfig, RECIPE / "conf" / "pretrain_ssl.yaml")
    default = load_config(PretrainConfig, ROOT / "conf" / "pretrain_ssl.yaml")
    assert large.train.steps == 2 * default.train.steps
    assert large.model == default.model and large.clusters == default.clusters
    # denoising pretraining on the training noise, as the default recipe's
    assert large.noise == default.noise and large.noise.data == "data/noise_train"


def test_large_preset_corpus_hook_asks_for_27_speakers(tmp_path):
    # The hook chain recipes/synth_large/local/corpus.sh -> local/corpus.sh -> sitool, with a
    # stand-in `sitool` on PATH that records its arguments (synthesis itself: test_synth_*).
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "args.txt"
    (bin_dir / "sitool").write_text(f'#!/usr/bin/env bash\necho "$@" >> {record}\n')
    (bin_dir / "sitool").chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")
    result = subprocess.run(["bash", "local/corpus.sh", "--corpus", str(tmp_path / "c"),
                             "--num-utts", "162", "--nj", "2", "--seed", "3"],
                            cwd=RECIPE, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    args = record.read_text().split()
    assert "synth-corpus" in args
    flags = ("--speakers", "--num-utts", "--seed", "--state-step")
    value = {flag: args[args.index(flag) + 1] for flag in flags}
    # --state-step 1 (the default recipe's is 2): the preset's reports were measured so
    assert value == {"--speakers": "12,3,6,6", "--num-utts": "162", "--seed": "3",
                     "--state-step": "1"}
    counts = [int(n) for n in value["--speakers"].split(",")]
    assert int(value["--num-utts"]) == 6 * sum(counts)     # 6 utterances per speaker, as default
    for hook in ("data.sh", "noise.sh"):
        assert os.access(RECIPE / "local" / hook, os.X_OK)
        subprocess.run(["bash", "-n", str(RECIPE / "local" / hook)], check=True)
    assert (RECIPE / "utils").is_symlink() and (RECIPE / "utils").resolve() == ROOT / "utils"
