"""A new corpus end to end, the README's "Adapt to a new corpus" path: a corpus in the generic
layout (own target names, 200 Hz) -> copy of recipes/TEMPLATE -> ./run.sh stages 0-6 -> score
table. As a user would, the copy's conf/ gets a small config (in place of the WavLM-Large ones)
and its local/noise.sh a small noise grid; run.sh gets a tiny SSL model with --ssl-model.
"""

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np

from sitool.datadir import DataDir
from sitool.testing.corpus_formats import make_generic_corpus
from sitool.testing.ssl_model import make_tiny_ssl_model

ROOT = Path(__file__).resolve().parents[1]
OWN_COLUMNS = ["jaw_open", "lip_gap", "tip_height", "dorsum_height"]

TINY_SI = """\
model:
  type: si
  ssl: {{model: {ssl}, freeze: all, cache: dump/ssl/ssl_tiny}}
  si: {{gru_units: [16], dropout: 0.0}}
data:
  train_sets: [data/train, data/train_multi]
  dev_sets: [data/dev]
  batch_seconds: 20.0
optim: {{epochs: 2, warmup_steps: 1, patience: 0}}
device: cpu
threads: 2
"""


def copy_template(checkout: Path, name: str) -> Path:
    """``cp -r recipes/TEMPLATE recipes/<name>`` in ``checkout``: a directory that links to this
    checkout's files but has its own recipes/, so the copy's relative paths (../../run.sh,
    utils -> ../../utils, base: ../../../conf/...) resolve as they would in a real checkout."""
    checkout.mkdir()
    for entry in ("run.sh", "path.sh", "setup.cfg", "utils", "conf", "bin", "sitool"):
        os.symlink(ROOT / entry, checkout / entry)
    (checkout / "recipes").mkdir()
    return Path(shutil.copytree(ROOT / "recipes" / "TEMPLATE", checkout / "recipes" / name,
                                symlinks=True))


def _env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{ROOT / 'bin'}:{os.environ['PATH']}",
            "PYTHONPATH": f"{ROOT}:{os.environ.get('PYTHONPATH', '')}"}


def sh(args: list[str], cwd: Path, timeout: int = 600) -> str:
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                            env=_env())
    assert result.returncode == 0, f"{' '.join(args)}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout + result.stderr


SMALL_NOISE = """#!/usr/bin/env bash
set -euo pipefail
exec utils/noisy_sets.sh --noise-source synth --per-utt 1 --dev-per-utt 1 --snrs 0,10 \\
  --test-utts 2 --synth-seconds 10 "$@"
"""


def test_new_corpus_through_the_template_recipe(tmp_path):
    corpus = make_generic_corpus(tmp_path / "mycorpus", speakers=("s1", "s2", "s3", "s4", "s5"),
                                 utts_per_speaker=3, seconds=1.5, frame_rate=200.0)
    recipe = copy_template(tmp_path / "checkout", "mycorpus")
    ssl = make_tiny_ssl_model(tmp_path / "tiny_ssl")
    for conf in (recipe / "conf").glob("train_*.yaml"):
        conf.unlink()
    (recipe / "conf" / "train_si.yaml").write_text(TINY_SI.format(ssl=ssl))
    (recipe / "conf" / "train_si_b.yaml").write_text(TINY_SI.format(ssl=ssl) + "seed: 2\n")
    (recipe / "local" / "noise.sh").write_text(SMALL_NOISE)

    out = sh(["bash", "run.sh", "--corpus", str(corpus), "--ssl-model", str(ssl),
              "--models", "si si_b", "--train-jobs", "2", "--baselines", ""], cwd=recipe)
    for stage, name in enumerate(["corpus", "prepare", "noise", "ssl", "train", "decode", "score"]):
        assert f"stage {stage} ({name}) finished" in out
    for m in ("si", "si_b"):      # trained side by side, each with its own logs
        assert f"stage 4: {m} trained in" in out
        assert (recipe / "exp" / f"train_{m}" / "checkpoints" / "best.pt").is_file()
        assert "epoch 2" in (recipe / "exp" / "log" / f"stage4_train_{m}.log").read_text()

    train = DataDir(recipe / "data" / "train")
    assert train.targets.names == OWN_COLUMNS + ["F0", "periodicity", "aperiodicity"]
    assert train.targets.frame_rate == 100.0 and train.targets.units[:4] == ["mm"] * 4
    spk = {name: set(DataDir(recipe / "data" / name).utt2spk.values())
           for name in ("train", "dev", "test")}
    assert spk == {"train": {"s1", "s3", "s5"}, "dev": {"s4"}, "test": {"s2"}}
    utt = train.utts[0]
    assert train.target_array(utt).shape == (150, 7)          # 1.5 s at 100 Hz
    noisy = DataDir(recipe / "data" / "test_noisy")
    assert noisy.is_noisy and {noisy.condition(u).snr_db for u in noisy.utts} == {0.0, 10.0}
    assert (recipe / "dump" / "ssl" / "tiny_ssl" / "train_multi" / "meta.yaml").is_file()

    results = (recipe / "RESULTS.md").read_text()
    assert "train_si" in results and "| jaw_open | lip_gap |" in results
    rows = (recipe / "exp" / "train_si" / "decode" / "test" / "scores.tsv").read_text()
    header, *rows = [line.split("\t") for line in rows.splitlines()]
    scored = {row[header.index("target")] for row in rows}
    assert scored == set(OWN_COLUMNS) | {"F0", "periodicity", "aperiodicity"}
    assert all(np.isfinite(float(row[header.index("ppmc")])) for row in rows)
    decoded = np.load(recipe / "exp" / "train_si" / "decode" / "test" / "tv" /
                      f"{DataDir(recipe / 'data' / 'test').utts[0]}.npy")
    assert decoded.shape[1] == 7 and np.all(np.isfinite(decoded))


    # One model failing fails stage 4 with the tail of its log; the one beside it still trains.
    (recipe / "conf" / "train_si_c.yaml").write_text(TINY_SI.format(ssl=ssl) + "seed: 3\n")
    (recipe / "conf" / "train_broken.yaml").write_text(
        TINY_SI.format(ssl=ssl).replace("epochs: 2", "epochz: 2"))
    result = subprocess.run(["bash", "run.sh", "--ssl-model", str(ssl), "--stage", "4",
                             "--stop-stage", "4", "--models", "broken si_c", "--train-jobs", "2"],
                            cwd=recipe, capture_output=True, text=True, timeout=600, env=_env())
    assert result.returncode != 0
    assert ("stage 4: training broken failed; last lines of exp/log/stage4_train_broken.console"
            in result.stderr)
    assert "epochz" in result.stderr                       # the tail names the bad key
    assert "stage 4: si_c trained in" in result.stdout
    assert (recipe / "exp" / "train_si_c" / "checkpoints" / "best.pt").is_file()
