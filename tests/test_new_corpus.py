"""A new corpus end to end: generic layout (own target names, 200 Hz) -> TEMPLATE recipe ->
data dirs -> noisy sets -> SSL cache -> training -> decoding -> score table.

Stages 0-1 run through run.sh with the copied recipe's hooks. Stages 2-6 are the commands
run.sh chains (stage 2 is the recipe's own local/noise.sh) with a tiny SSL model and a tiny
config in place of the recipe's WavLM-Large ones, so the whole chain runs on a CPU in seconds.
"""

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np

from sitool.corpora.fixtures import make_generic_corpus
from sitool.datadir import DataDir
from sitool.testing import make_tiny_ssl_model

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


def copy_template(dest: Path) -> Path:
    """``cp -r recipes/TEMPLATE dest``, with its utils link pointing at this checkout."""
    shutil.copytree(ROOT / "recipes" / "TEMPLATE", dest, symlinks=True)
    (dest / "utils").unlink()
    os.symlink(ROOT / "utils", dest / "utils")
    return dest


def sh(args: list[str], cwd: Path, timeout: int = 600) -> str:
    env = {**os.environ, "PATH": f"{ROOT / 'bin'}:{os.environ['PATH']}",
           "PYTHONPATH": f"{ROOT}:{os.environ.get('PYTHONPATH', '')}"}
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                            env=env)
    assert result.returncode == 0, f"{' '.join(args)}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout + result.stderr


def test_new_corpus_through_the_template_recipe(tmp_path):
    corpus = make_generic_corpus(tmp_path / "mycorpus", speakers=("s1", "s2", "s3", "s4", "s5"),
                                 utts_per_speaker=3, seconds=1.5, frame_rate=200.0)
    recipe = copy_template(tmp_path / "recipes" / "mycorpus")
    ssl = make_tiny_ssl_model(recipe / "exp" / "ssl_tiny")
    for conf in (recipe / "conf").glob("train_*.yaml"):
        conf.unlink()
    (recipe / "conf" / "train_si.yaml").write_text(TINY_SI.format(ssl=ssl))

    # stage 0 (corpus check) and 1 (sitool prepare generic) through run.sh and the hooks
    out = sh(["bash", str(ROOT / "run.sh"), "--local-dir", "local", "--conf-dir", "conf",
              "--corpus", str(corpus), "--stage", "0", "--stop-stage", "1"], cwd=recipe)
    assert "stage 1 (prepare) finished" in out
    train = DataDir(recipe / "data" / "train")
    assert train.targets.names == OWN_COLUMNS + ["F0", "periodicity", "aperiodicity"]
    assert train.targets.frame_rate == 100.0 and train.targets.units[:4] == ["mm"] * 4
    spk = {name: set(DataDir(recipe / "data" / name).utt2spk.values())
           for name in ("train", "dev", "test")}
    assert spk == {"train": {"s1", "s3", "s5"}, "dev": {"s4"}, "test": {"s2"}}
    utt = train.utts[0]
    assert train.target_array(utt).shape == (150, 7)          # 1.5 s at 100 Hz

    # stage 2: the recipe's noise hook (embedded procedural noise), small grid
    sh(["bash", "local/noise.sh", "--data", "data", "--seed", "1", "--per-utt", "1",
        "--snrs", "0,10", "--test-utts", "2", "--synth-seconds", "10",
        "--log", "exp/log/noise.log"], cwd=recipe)
    noisy = DataDir(recipe / "data" / "test_noisy")
    assert noisy.is_noisy and {noisy.condition(u).snr_db for u in noisy.utts} == {0.0, 10.0}

    # stage 3: SSL cache; 4: training; 5: decoding; 6: scoring
    sets = ["data/train", "data/dev", "data/test", "data/train_multi", "data/test_noisy"]
    sh(["sitool", "cache-ssl", "--ssl-model", str(ssl), "--out", "dump/ssl/ssl_tiny", *sets],
       cwd=recipe)
    sh(["sitool", "train", "--config", "conf/train_si.yaml", "--no-progress"], cwd=recipe)
    sh(["sitool", "decode", "--exp", "exp/train_si", "data/test", "data/test_noisy",
        "--no-progress"], cwd=recipe)
    sh(["sitool", "score", "--exp", "exp/train_si", "--results", "RESULTS.md", "--no-plots"],
       cwd=recipe)

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
