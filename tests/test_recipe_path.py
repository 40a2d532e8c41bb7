"""docs/new_corpus.md's `sitool plot-utt data/train <utt> --out utt.png` works from a copy of
recipes/TEMPLATE in a fresh shell (after `. ./path.sh` there, as in Kaldi/ESPnet recipes)."""

import os
import shutil
import subprocess
from pathlib import Path

from sitool.testing.data_dirs import make_toy_data_dir

REPO = Path(__file__).resolve().parents[1]


def _fresh_shell_env() -> dict:
    """The environment of a new login shell: no venv, no checkout bin/ on PATH."""
    venv = os.environ.get("VIRTUAL_ENV")
    path = [p for p in os.environ["PATH"].split(os.pathsep)
            if p and Path(p) != REPO / "bin" and not (venv and p.startswith(venv))]
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    env["PATH"] = os.pathsep.join(path)
    return env


def test_plot_utt_from_a_template_copy(tmp_path):
    checkout = tmp_path / "checkout"           # a checkout with recipes/mycorpus in it
    (checkout / "recipes").mkdir(parents=True)
    for name in ("path.sh", "utils", "bin", "sitool", "setup.cfg", "pyproject.toml"):
        (checkout / name).symlink_to(REPO / name)
    recipe = checkout / "recipes" / "mycorpus"
    shutil.copytree(REPO / "recipes" / "TEMPLATE", recipe, symlinks=True)
    make_toy_data_dir(recipe / "data" / "train", num_utts=2)
    env = _fresh_shell_env()
    run = lambda cmd: subprocess.run(["bash", "-c", cmd], cwd=recipe, env=env, text=True,
                                     capture_output=True)
    bare = run("command -v sitool || echo none")
    assert bare.stdout.strip() == "none"        # a fresh shell has no sitool
    res = run(". ./path.sh && sitool plot-utt data/train toyspk0_000 --out utt.png")
    assert res.returncode == 0, res.stderr
    assert "wrote utt.png" in res.stdout
    assert (recipe / "utt.png").stat().st_size > 10_000
