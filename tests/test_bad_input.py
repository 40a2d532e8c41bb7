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
    ("6", "exp/train_si_clean/decode/test", "run stage 5 first: ./run.sh --stage 5"),
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
