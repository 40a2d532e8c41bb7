"""The repository's entry points: README commands, CI script, run.sh option handling, and
defaults that live in two places (shell hooks and the CLI, tiny and Large configs)."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import yaml

from sitool.cli.synth_corpus import synth_corpus
from sitool.config import to_dict
from sitool.training.config import load_train_config

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    """The shell lines of README's first code block (the two fresh-machine commands)."""
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```bash\n(.*?)```", text, re.S).group(1)
    return [line for line in block.splitlines() if line.strip() and not line.startswith("#")]


def test_readme_starts_with_install_run_and_test_commands():
    commands = readme_commands()
    assert len(commands) == 2
    assert commands[0].endswith("./run.sh")
    assert "pytest" in commands[1]


def test_ci_runs_exactly_the_readme_test_command():
    test_command = readme_commands()[1].split("&&", 1)[1].strip()
    ci_lines = [line.strip() for line in (ROOT / ".ci/run").read_text().splitlines()]
    assert test_command in ci_lines


def run_sh(*args, cwd=ROOT):
    return subprocess.run(["bash", str(ROOT / "run.sh"), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_run_sh_rejects_unknown_option_by_name():
    result = run_sh("--no-such-option", "3")
    assert result.returncode != 0
    assert "unknown option --no-such-option" in result.stderr


def test_run_sh_help_lists_options_with_defaults():
    result = run_sh("--help")
    assert result.returncode == 0
    assert re.search(r"--stage\s+first stage to run \[0\]", result.stdout)
    assert re.search(r"--stop-stage\s+.*\[6\]", result.stdout)
    for option in ("--nj", "--cmd", "--local-dir", "--conf-dir"):
        assert option in result.stdout


def make_hook_recipe(tmp_path: Path) -> Path:
    """A recipe dir whose stage hooks only record that they ran, with their options."""
    recipe = tmp_path / "recipe"
    (recipe / "local").mkdir(parents=True)
    os.symlink(ROOT / "utils", recipe / "utils")
    for hook in ("corpus.sh", "data.sh", "noise.sh"):
        script = recipe / "local" / hook
        script.write_text(f'#!/usr/bin/env bash\necho "{hook} $*" >> hooks.log\n')
        script.chmod(0o755)
    return recipe


def test_run_sh_stage_selection_runs_only_the_chosen_stage(tmp_path):
    recipe = make_hook_recipe(tmp_path)
    result = run_sh("--stage", "1", "--stop_stage", "1", "--corpus", "raw", cwd=recipe)
    assert result.returncode == 0, result.stderr
    ran = (recipe / "hooks.log").read_text().splitlines()
    assert len(ran) == 1 and ran[0].startswith("data.sh --corpus raw")
    assert "stage 1 (prepare) finished" in result.stdout


def test_run_sh_equals_form_and_overwrite_option(tmp_path):
    recipe = make_hook_recipe(tmp_path)
    result = run_sh("--stage=0", "--stop-stage=0", "--overwrite=true", cwd=recipe)
    assert result.returncode == 0, result.stderr
    line = (recipe / "hooks.log").read_text().strip()
    assert line.startswith("corpus.sh") and "--overwrite true" in line


def test_run_sh_passes_the_training_draws_to_the_noise_hook(tmp_path):
    recipe = make_hook_recipe(tmp_path)
    for name in ("train", "dev", "test"):
        (recipe / "data" / name).mkdir(parents=True)
    result = run_sh("--stage", "2", "--stop-stage", "2", "--train-draws", "8", cwd=recipe)
    assert result.returncode == 0, result.stderr
    line = (recipe / "hooks.log").read_text().strip()
    assert line.startswith("noise.sh") and "--per-utt 8" in line
    assert shell_default(ROOT / "run.sh", "train_draws") == shell_default(
        ROOT / "utils" / "noisy_sets.sh", "per_utt")


def test_run_sh_states_the_noise_design_once_and_passes_it_to_the_hook(tmp_path):
    """Test SNR grid, training SNR range, draws and noise types are run.sh options given to
    the stage-2 hook (issue 34); their defaults are the hook's own."""
    recipe = make_hook_recipe(tmp_path)
    for name in ("train", "dev", "test"):
        (recipe / "data" / name).mkdir(parents=True)
    result = run_sh("--stage", "2", "--stop-stage", "2", "--test-snrs", "-5,0",
                    "--train-snr-range", "-10,10", "--noise-types", "babble,white", cwd=recipe)
    assert result.returncode == 0, result.stderr
    line = (recipe / "hooks.log").read_text().strip()
    for option in ("--snrs -5,0", "--snr-range -10,10", "--noise-types babble,white",
                   "--per-utt 2"):
        assert option in line, line
    for run_var, hook_var in (("test_snrs", "snrs"), ("train_snr_range", "snr_range"),
                              ("noise_types", "noise_types")):
        assert shell_default(ROOT / "run.sh", run_var) == shell_default(
            ROOT / "utils" / "noisy_sets.sh", hook_var)
    # the pretraining noise range comes from run.sh too (not restated in conf/)
    text = (ROOT / "run.sh").read_text()
    assert '"noise.snr_range=[$snr_low,$snr_high]"' in text


REAL_RECIPES = ("TEMPLATE", "carstens", "hprc", "mngu0", "mocha", "usctimit", "xrmb")


def test_every_real_recipe_has_the_cpu_profile_switch(tmp_path):
    """--profile cpu: the in-recipe SSL model, the CPU-sized top-level configs, 2 jobs;
    --profile gpu (default) WavLM-Large; a bad profile is one line (issue 34)."""
    for name in REAL_RECIPES:
        recipe = ROOT / "recipes" / name
        run = lambda *args: subprocess.run(["bash", "run.sh", *args], cwd=recipe,
                                           capture_output=True, text=True, timeout=60)
        cpu = run("--profile", "cpu", "--help")
        assert cpu.returncode == 0, cpu.stderr
        assert re.search(r"--ssl-model\s.*\[\]$", cpu.stdout, re.M), (name, cpu.stdout)
        assert re.search(r"--conf-dir\s.*\[\.\./\.\./conf\]$", cpu.stdout, re.M)
        assert re.search(r"--train-jobs\s.*\[2\]$", cpu.stdout, re.M)
        gpu = run("--help")
        assert re.search(r"--ssl-model\s.*\[microsoft/wavlm-large\]$", gpu.stdout, re.M)
        assert re.search(r"--profile\s.*\[gpu\]$", gpu.stdout, re.M)
        bad = run("--profile", "tpu")
        assert bad.returncode == 1 and "--profile 'tpu' unknown" in bad.stderr
    # what --profile cpu reaches: run.sh itself, with those options after the recipe's own
    recipe = tmp_path / "recipe"
    shutil.copytree(ROOT / "recipes" / "TEMPLATE", recipe, symlinks=True)
    (recipe / "utils").unlink()
    os.symlink(ROOT / "utils", recipe / "utils")
    (recipe / "run.sh").write_text((recipe / "run.sh").read_text().replace(
        'exec ../../run.sh "${defaults[@]}" "$@"', 'printf "%s|" "${defaults[@]}" "$@"'))
    out = subprocess.run(["bash", "run.sh", "--stage", "3", "--profile=cpu", "--train-jobs", "1"],
                         cwd=recipe, capture_output=True, text=True, timeout=60).stdout
    assert out == ("--local-dir|local|--corpus|corpus|--ssl-model||--conf-dir|../../conf|"
                   "--train-jobs|2|--stage|3|--train-jobs|1|")


def test_run_jobs_reports_failing_job_log_tail(tmp_path):
    log = tmp_path / "log" / "job.JOB.log"
    script = 'echo "job $0 says hi"; [ "$0" != 2 ] || { echo boom-in-job-2; exit 3; }'
    result = subprocess.run(
        ["bash", str(ROOT / "utils/run_jobs.sh"), "--nj", "3", "--log", str(log), "--",
         "bash", "-c", script, "JOB"], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "job 2/3 failed" in result.stderr and "boom-in-job-2" in result.stderr
    assert (tmp_path / "log" / "job.1.log").read_text().strip() == "job 1 says hi"
    assert (tmp_path / "log" / "job.3.log").read_text().strip() == "job 3 says hi"


def test_setup_venv_key_changes_with_pins(tmp_path):
    copy = tmp_path / "repo"
    (copy / "utils").mkdir(parents=True)
    shutil.copy(ROOT / "utils/venv_path.sh", copy / "utils")
    shutil.copy(ROOT / "utils/venv_pins.sh", copy / "utils")
    shutil.copy(ROOT / "setup.cfg", copy / "setup.cfg")

    def key():
        return subprocess.run(["bash", str(copy / "utils/venv_path.sh")], capture_output=True,
                              text=True, check=True).stdout.strip()

    before = key()
    cfg = (copy / "setup.cfg").read_text().replace("tqdm==4.70.1", "tqdm==4.70.0")
    (copy / "setup.cfg").write_text(cfg)
    after_core = key()
    assert after_core != before
    # An optional extra's pin is part of the venv too (its tests run in CI).
    cfg = cfg.replace("praatio==6.2.2", "praatio==6.2.1")
    (copy / "setup.cfg").write_text(cfg)
    assert key() != after_core


def test_venv_pins_include_the_optional_extras():
    pins = subprocess.run(["bash", str(ROOT / "utils/venv_pins.sh")], capture_output=True,
                          text=True, check=True).stdout.split()
    assert "torch==2.9.1" in pins and "praatio==6.2.2" in pins and "tensorboard==2.21.0" in pins


def test_bin_sitool_uses_this_checkout_whatever_the_current_directory(tmp_path):
    """Run from another checkout (a dir with its own sitool/ package), bin/sitool must still
    import this checkout's package, as `python -m sitool` would not."""
    (tmp_path / "sitool").mkdir()
    (tmp_path / "sitool" / "__init__.py").write_text("raise ImportError('wrong sitool')\n")
    result = subprocess.run([str(ROOT / "bin" / "sitool"), "--version"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "sitool, version 0.1.0"


def shell_default(script: Path, name: str) -> str:
    """The default of option ``name`` set in a shell script (``name=VALUE  # comment``)."""
    return re.search(rf"^{name}=(\S*)", script.read_text(), re.M).group(1)


def test_num_utts_default_is_the_same_in_run_sh_and_the_corpus_hook():
    assert shell_default(ROOT / "run.sh", "num_utts") == shell_default(ROOT / "local" / "corpus.sh",
                                                                       "num_utts")


def test_the_cli_default_corpus_has_as_many_utterances_per_speaker_as_the_recipe():
    """The CLI's default is the fixed 15-speaker table, the recipe's 18 generated speakers:
    both give each speaker the same number of utterances."""
    cli = {p.name: p.default for p in synth_corpus.params}
    recipe_speakers = shell_default(ROOT / "local" / "corpus.sh", "speakers")
    per_speaker_cli = cli["num_utts"] / sum(map(int, cli["speaker_counts"].split(",")))
    per_speaker_recipe = (int(shell_default(ROOT / "run.sh", "num_utts"))
                          / sum(map(int, recipe_speakers.split(","))))
    assert per_speaker_cli == per_speaker_recipe == 6


# A "Large:" comment: "# ... Large: VALUE", "Large on a GPU: VALUE", "Large/GPU: VALUE" or
# "GPU: VALUE", the value ending at " (" or ";" (what follows is an explanation).
LARGE_COMMENT = re.compile(r"#.*?\b(?:Large(?: on a GPU|/GPU)?|GPU): (?P<value>[^;]*?)(?: \(|;|$)")


def large_comments(path: Path) -> dict[str, object]:
    """``dotted.key -> value`` of the "Large:" comments of a config (a comment on a line of its
    own belongs to the key above it)."""
    keys: list[tuple[int, str]] = []
    comments = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        key = re.match(r"^( *)([a-z0-9_]+):", line)
        if key:
            indent = len(key.group(1))
            keys = [(i, k) for i, k in keys if i < indent] + [(indent, key.group(2))]
        comment = LARGE_COMMENT.search(line)
        if comment:
            assert keys, f"{path}:{number}: a Large: comment above every key"
            comments[".".join(k for _, k in keys)] = yaml.safe_load(comment["value"].strip())
    return comments


def leaves(config: dict, prefix: str = "") -> dict[str, object]:
    out = {}
    for key, value in config.items():
        if isinstance(value, dict):
            out.update(leaves(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = value
    return out


def test_large_comments_of_the_train_configs_agree_with_conf_gpu_large():
    """Each value a "Large:" comment of conf/train_X.yaml names is the one
    conf/gpu_large/train_X.yaml gives, and every value that file changes has such a comment."""
    configs = sorted((ROOT / "conf").glob("train_*.yaml"))
    assert len(configs) == len(list((ROOT / "conf" / "gpu_large").glob("train_*.yaml"))) == 7
    for path in configs:
        tiny = leaves(to_dict(load_train_config(path)))
        large = leaves(to_dict(load_train_config(ROOT / "conf" / "gpu_large" / path.name)))
        comments = large_comments(path)
        for key, value in comments.items():
            assert large[key] == value, f"{path.name}: {key}: the comment says Large: " \
                                        f"{value!r}, conf/gpu_large/ has {large[key]!r}"
        changed = sorted(key for key in large if large[key] != tiny[key])
        missing = [key for key in changed if key not in comments]
        assert not missing, f"{path.name}: conf/gpu_large/ changes {missing} without a Large: " \
                            "comment"


def test_run_sh_refuses_stage_options_that_select_nothing(tmp_path):
    """Issue 36: `--stage abc` ran stages with shell errors and exited 0; `--stage 7` and
    `--stage 5 --stop-stage 3` exited 0 having run nothing. Each is one line and status 1,
    and no hook runs; so are a bad --nj, --train-jobs and --cmd."""
    recipe = make_hook_recipe(tmp_path)
    cases = {
        ("--stage", "abc"): "--stage must be a stage number 0-6, got 'abc'",
        ("--stage", "7"): "--stage must be a stage number 0-6, got '7'",
        ("--stop-stage", "-1"): "--stop-stage must be a stage number 0-6, got '-1'",
        ("--stage", "5", "--stop-stage", "3"):
            "--stage 5 is after --stop-stage 3, so no stage would run; give --stage <= --stop-stage",
        ("--nj", "0"): "--nj must be a positive integer, got '0'",
        ("--train-jobs", "two"): "--train-jobs must be a positive integer, got 'two'",
        ("--cmd", "pbs"): "--cmd must be local or slurm, got 'pbs'",
    }
    for args, message in cases.items():
        result = run_sh(*args, cwd=recipe)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert lines == [f"{ROOT / 'run.sh'}: {message}"], (args, result.stderr)
        assert "done" not in result.stdout, args
    assert not (recipe / "hooks.log").exists()
    # the checks pass the values that are right
    result = run_sh("--stage", "0", "--stop-stage", "0", "--nj", "3", "--train-jobs", "1",
                    "--cmd", "slurm", cwd=recipe)
    assert result.returncode == 0, result.stderr
    assert (recipe / "hooks.log").read_text().startswith("corpus.sh")
