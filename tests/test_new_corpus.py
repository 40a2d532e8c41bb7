"""A new corpus end to end, as a user follows the docs.

``test_docs_new_corpus_walkthrough_verbatim`` runs docs/new_corpus.md itself: every ``bash``
block in order and every file it shows (``<!-- file: PATH -->`` before a block), in a checkout
whose top-level conf/ is tiny (``sitool.testing.recipe_checkout``), on a generated corpus
shaped like a real AG501 export (3 speakers with different sensor origins, (T, 42) .mat at
250 Hz, 48 kHz audio) with noise as users bring it (NOISEX-like files at 22.05 kHz with an
ISTS-like speech file, sounds at 20 kHz, read speech at 16 kHz for babble): offline, CPU, no
Python written by the user. ``HOME`` is the test's own, so the page's ``~/data/...`` paths
land there.

``test_new_corpus_through_the_template_recipe`` is the CSV-corpus path with models of one's
own (conf/train_<m>.yaml) and a model whose config is broken.
"""

import os
import re
import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import yaml

from sitool.datadir import DataDir
from sitool.noise.sources import read_noise_dir
from sitool.testing.corpus_formats import (make_ag501_mat_corpus, make_generic_corpus,
                                           make_noise_collection)
from sitool.testing.recipe_checkout import make_checkout
from sitool.testing.ssl_model import make_tiny_ssl_model

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "new_corpus.md"
BLOCK = re.compile(r"(?:<!-- file: (?P<file>\S+) -->\n)?```(?P<lang>\w*)\n(?P<body>.*?)```", re.S)


def doc_script(doc: Path) -> str:
    """The page as one bash script: each ``bash`` block as it is, each file block as a
    heredoc writing it (executable when it starts with ``#!``). Other blocks are not run."""
    lines = ["set -euo pipefail"]
    for block in BLOCK.finditer(doc.read_text()):
        if block["file"]:
            lines += [f"sitool_doc_file={block['file']}",
                      'mkdir -p "$(dirname "$sitool_doc_file")"',
                      f"cat > \"$sitool_doc_file\" <<'SITOOL_DOC_EOF'\n{block['body']}SITOOL_DOC_EOF"]
            if block["body"].startswith("#!"):
                lines.append('chmod +x "$sitool_doc_file"')
        elif block["lang"] == "bash":
            lines.append(block["body"])
    return "\n".join(lines) + "\n"


def user_env(home: Path) -> dict[str, str]:
    """A user's shell: their own HOME, the venv found as path.sh finds it."""
    venv_cache = os.environ.get("SITOOL_VENV_CACHE", str(Path.home() / ".cache" / "sitool"))
    return {**os.environ, "HOME": str(home), "SITOOL_VENV_CACHE": venv_cache,
            "PATH": f"{ROOT / 'bin'}:{os.environ['PATH']}",
            "PYTHONPATH": f"{ROOT}:{os.environ.get('PYTHONPATH', '')}"}


def test_doc_script_runs_bash_blocks_and_writes_file_blocks(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("text\n```bash\necho one > out.txt\n```\n```yaml\nnot: run\n```\n"
                    "<!-- file: sub/x.sh -->\n```bash\n#!/usr/bin/env bash\necho two\n```\n"
                    "```bash\nbash sub/x.sh >> out.txt\n```\n")
    subprocess.run(["bash", "-c", doc_script(page)], cwd=tmp_path, check=True)
    assert (tmp_path / "out.txt").read_text() == "one\ntwo\n"
    assert os.access(tmp_path / "sub" / "x.sh", os.X_OK)


def test_docs_new_corpus_walkthrough_verbatim(tmp_path):
    home = tmp_path / "home"
    make_ag501_mat_corpus(home / "data" / "ag501")                    # no generic.yaml: the page
    make_noise_collection(home / "data" / "noise", num_talkers=8)     # writes it
    checkout = make_checkout(tmp_path / "checkout")
    result = subprocess.run(["bash", "-c", doc_script(DOC)], cwd=checkout, env=user_env(home),
                            capture_output=True, text=True, timeout=900)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-6000:]
    recipe = checkout / "recipes" / "ag501"
    for stage, name in enumerate(["corpus", "prepare", "noise", "ssl", "train", "decode", "score"]):
        assert f"stage {stage} ({name}) finished" in out
    # each model decoded as soon as it is trained, while the others train; stage 5 reuses it
    assert out.count("(for stage 5)") == 5 and out.count("was decoded in stage 4 of this run") == 5
    assert (recipe / "exp" / "train_joint" / "decode" / "test_noisy" / "decode.yaml").is_file()
    # the training logs say how long the rest should take
    assert "epoch 1: about" in (recipe / "exp" / "log" / "stage4_train_joint.log").read_text()

    # stage 1: the .mat columns the page names, one speaker a set; the offsets are warned
    train = DataDir(recipe / "data" / "train")
    columns = ["UL_x", "UL_z", "LL_x", "LL_z", "JAW_x", "JAW_z",
               "TT_x", "TT_z", "TM_x", "TM_z", "TD_x", "TD_z"]
    assert train.targets.names == columns + ["F0", "periodicity", "aperiodicity"]
    assert {set(DataDir(recipe / "data" / s).utt2spk.values()).__len__()
            for s in ("train", "dev", "test")} == {1}
    warning = re.search(r"warning: data/train, data/dev, data/test: speaker means explain more "
                        r"than 0.5 of the variance of (\d+) target\(s\) over 3 speakers "
                        r"\(UL_x 1.00, ", out)
    assert warning, out[-6000:]
    assert (recipe / "utt.png").stat().st_size > 10_000

    # stage 2: three sources in one noise set, all read at 16 kHz from copies made once
    test_noise = read_noise_dir(recipe / "data" / "noise_test")
    kinds = {(s.noise_type, s.category) for s in test_noise}
    assert {("ists", "babble"), ("babble", "babble"), ("white", "non-babble"),
            ("sounds", "non-babble")} <= kinds
    assert any(t.startswith("babble") and c == "babble" and t != "babble" for t, c in kinds)
    assert all(sf.info(s.path).samplerate == 16000 for s in test_noise)
    noisy = DataDir(recipe / "data" / "test_noisy")
    assert {noisy.condition(u).snr_db for u in noisy.utts} == {-5.0, 0.0, 5.0}

    # stage 4: per-speaker normalisation, stored with every model
    for model in ("joint", "si_clean", "si_multi", "si_fbank", "si_fbank_multi"):
        ckpt = torch.load(recipe / "exp" / f"train_{model}" / "checkpoints" / "best.pt",
                          map_location="cpu", weights_only=True)
        assert set(ckpt["normaliser"]["speakers"]) == {"s1", "s2", "s3"} & set(
            train.utt2spk.values())

    # stage 6: RESULTS.md, headline over the twelve sensor columns
    results = (recipe / "RESULTS.md").read_text()
    assert "train_joint" in results and "| UL_x | UL_z |" in results
    headline = next(line for line in results.splitlines() if "headline" in line.lower())
    assert all(c in headline for c in columns) and "F0" in headline.split("left out", 1)[-1]

    # step 6: the inverted recording and what its sidecar says of an unseen speaker
    csv = (recipe / "inverted" / "s3_001.csv").read_text().splitlines()
    assert csv[0].startswith("time") and "UL_x [mm]" in csv[0] and len(csv) > 100
    sidecar = yaml.safe_load((recipe / "inverted" / "s3_001.json").read_text())
    assert "unseen" in str(sidecar["targets"]["normalisation"])
    assert (recipe / "inverted" / "s3_001_enhanced.wav").is_file()


def _env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{ROOT / 'bin'}:{os.environ['PATH']}",
            "PYTHONPATH": f"{ROOT}:{os.environ.get('PYTHONPATH', '')}"}


def sh(args: list[str], cwd: Path, timeout: int = 600) -> str:
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                            env=_env())
    assert result.returncode == 0, f"{' '.join(args)}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout + result.stderr


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

SMALL_NOISE = """#!/usr/bin/env bash
set -euo pipefail
exec utils/noisy_sets.sh --noise-source synth --per-utt 1 --dev-per-utt 1 \\
  --test-utts 2 --synth-seconds 10 "$@"
"""


def test_new_corpus_through_the_template_recipe(tmp_path):
    corpus = make_generic_corpus(tmp_path / "mycorpus", speakers=("s1", "s2", "s3", "s4", "s5"),
                                 utts_per_speaker=3, seconds=1.5, frame_rate=200.0)
    checkout = make_checkout(tmp_path / "checkout", tiny_conf=False)
    subprocess.run(["cp", "-r", "recipes/TEMPLATE", "recipes/mycorpus"], cwd=checkout, check=True)
    recipe = checkout / "recipes" / "mycorpus"
    ssl = make_tiny_ssl_model(tmp_path / "tiny_ssl")
    for conf in (recipe / "conf").glob("train_*.yaml"):
        conf.unlink()
    (recipe / "conf" / "train_si.yaml").write_text(TINY_SI.format(ssl=ssl))
    (recipe / "conf" / "train_si_b.yaml").write_text(TINY_SI.format(ssl=ssl) + "seed: 2\n")
    (recipe / "local" / "noise.sh").write_text(SMALL_NOISE)

    out = sh(["bash", "run.sh", "--corpus", str(corpus), "--ssl-model", str(ssl),
              "--models", "si si_b", "--train-jobs", "2", "--baselines", "",
              "--test-snrs", "0,10"], cwd=recipe)
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
