"""recipes/{xrmb,hprc,mocha,mngu0,usctimit,carstens,TEMPLATE}: layout, hooks run by run.sh, configs load."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from sitool.datadir import DataDir
from sitool.testing import corpus_formats
from sitool.training.config import load_train_config

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ["xrmb", "hprc", "mocha", "mngu0", "usctimit", "carstens", "TEMPLATE"]
HOOKS = ["corpus.sh", "data.sh", "noise.sh"]
MAKERS = {"xrmb": corpus_formats.make_xrmb_corpus, "hprc": corpus_formats.make_hprc_corpus,
          "mocha": corpus_formats.make_mocha_corpus, "mngu0": corpus_formats.make_mngu0_corpus,
          "usctimit": corpus_formats.make_usctimit_corpus,
          "carstens": corpus_formats.make_carstens_corpus,
          "TEMPLATE": corpus_formats.make_generic_corpus}


@pytest.mark.parametrize("name", RECIPES)
def test_recipe_layout_hooks_and_configs(name):
    recipe = ROOT / "recipes" / name
    assert os.access(recipe / "run.sh", os.X_OK)
    wrapper = (recipe / "run.sh").read_text()
    assert "defaults=(--local-dir local --corpus corpus)" in wrapper
    assert "gpu=(--ssl-model microsoft/wavlm-large --conf-dir conf --train-jobs 1)" in wrapper
    assert ". utils/recipe_profile.sh" in wrapper               # --profile cpu|gpu
    assert 'exec ../../run.sh "${defaults[@]}" "$@"' in wrapper     # help and run share them
    assert (recipe / "utils").is_symlink() and (recipe / "utils").resolve() == ROOT / "utils"
    for hook in HOOKS:
        path = recipe / "local" / hook
        assert os.access(path, os.X_OK), path
        subprocess.run(["bash", "-n", str(path)], check=True)
    readme = (recipe / "README.md").read_text()
    assert "No results yet" in readme and "./run.sh --corpus" in readme
    configs = sorted((recipe / "conf").glob("train_*.yaml"))
    # the same experiments as the top-level conf/, sized for WavLM-Large
    assert {c.name for c in configs} == {c.name for c in (ROOT / "conf").glob("train_*.yaml")}
    for config in configs:
        cfg = load_train_config(config)
        assert cfg.model.ssl.model == "microsoft/wavlm-large"


def copy_recipe(name: str, dest: Path) -> Path:
    shutil.copytree(ROOT / "recipes" / name, dest, symlinks=True)
    (dest / "utils").unlink()
    os.symlink(ROOT / "utils", dest / "utils")
    return dest


def run_sh(recipe: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(ROOT / "run.sh"), "--local-dir", "local", "--conf-dir",
                           "conf", *args], cwd=recipe, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.parametrize("name", RECIPES)
def test_stage0_finds_the_corpus_or_says_how_to_get_it(tmp_path, name):
    recipe = copy_recipe(name, tmp_path / "recipe")
    missing = run_sh(recipe, "--corpus", str(tmp_path / "nowhere"), "--stop-stage", "0")
    assert missing.returncode != 0
    assert "nowhere" in missing.stderr and "./run.sh --corpus" in missing.stderr
    corpus = MAKERS[name](tmp_path / "corpus")
    found = run_sh(recipe, "--corpus", str(corpus), "--stop-stage", "0")
    assert found.returncode == 0, found.stderr
    assert "stage 0 (corpus) finished" in found.stdout


def test_stage1_hook_prepares_the_corpus_through_run_sh(tmp_path):
    recipe = copy_recipe("mngu0", tmp_path / "recipe")
    corpus = corpus_formats.make_mngu0_corpus(tmp_path / "corpus", utts=10)
    result = run_sh(recipe, "--corpus", str(corpus), "--stage", "1", "--stop-stage", "1")
    assert result.returncode == 0, result.stderr
    assert [len(DataDir(recipe / "data" / s).utts) for s in ("train", "dev", "test")] == [8, 1, 1]
    assert (recipe / "exp" / "log" / "stage1_prepare.log").is_file()


CORPUS_MEANING = {"xrmb": ".txy", "hprc": ".mat", "mocha": ".ema", "mngu0": ".ema",
                  "usctimit": ".mat", "carstens": ".pos", "TEMPLATE": "generic.yaml"}


@pytest.mark.parametrize("name", RECIPES)
def test_recipe_help_shows_its_own_defaults_and_corpus_meaning(name):
    # issue 13 item 18: recipes/<name>/run.sh --help printed the top-level defaults
    # (--corpus corpus/synth "where stage 0 writes the synthetic corpus", --ssl-model [])
    result = subprocess.run(["bash", str(ROOT / "recipes" / name / "run.sh"), "--help"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines()
             if line.startswith("  --")}
    assert lines["--ssl-model"].endswith("[microsoft/wavlm-large]")
    assert lines["--local-dir"].endswith("[local]") and lines["--conf-dir"].endswith("[conf]")
    corpus = lines["--corpus"]
    assert "synthetic" not in corpus and "corpus/synth" not in corpus
    assert CORPUS_MEANING[name] in corpus and corpus.endswith("[corpus]")
    assert "unused" in lines["--num-utts"]
    assert f"recipes/{name}" in result.stdout


def test_carstens_recipe_stage1_prepares_ag500_recordings(tmp_path):
    recipe = copy_recipe("carstens", tmp_path / "recipe")
    corpus = corpus_formats.make_carstens_corpus(tmp_path / "corpus", layout="ag500",
                                                 utts_per_speaker=1, seconds=0.8)
    result = run_sh(recipe, "--corpus", str(corpus), "--stage", "1", "--stop-stage", "1")
    assert result.returncode == 0, result.stderr
    assert [len(DataDir(recipe / "data" / s).utts) for s in ("train", "dev", "test")] == [1, 1, 1]
