"""A checkout of sitool in which a test runs a recipe as a user would (``cp -r recipes/TEMPLATE
recipes/<name>``, ``cd``, ``./run.sh ...``) on a scaled-down installation.

The checkout links to this repository's files (run.sh, utils/, sitool/, ...) but has its own
``recipes/`` (a real copy of recipes/TEMPLATE, so ``cp -r`` copies files, not a link) and,
with ``tiny_conf``, its own top-level ``conf/``: the repository's configs (``base:``) with
the model sizes, pretraining updates and epochs cut down, so that ``--profile cpu`` (which
reads ``../../conf``) runs stages 0-6 on a small corpus in about a minute.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
LINKED = ("run.sh", "path.sh", "setup.cfg", "utils", "bin", "sitool")

# Per config of conf/: the keys that make it tiny (everything else comes from the real file).
_TINY_SI = {"si": {"gru_units": [16], "dropout": 0.0}}
_TINY_OPTIM = {"epochs": 3, "warmup_steps": 1, "patience": 2}
TINY_CONF = {
    "pretrain_ssl.yaml": {
        "model": {"hidden_size": 32, "num_layers": 2, "num_heads": 2, "intermediate_size": 64,
                  "conv_dim": 8, "conv_pos_kernel": 8, "conv_pos_groups": 2,
                  "conformer_kernel": 5},
        "clusters": {"num_clusters": 8, "max_frames": 5000},
        "train": {"steps": 20, "batch_seconds": 4.0, "crop_seconds": 1.0, "speed_perturb": []},
    },
    "train_si_clean.yaml": {"model": _TINY_SI, "optim": _TINY_OPTIM},
    "train_si_multi.yaml": {"model": _TINY_SI, "optim": _TINY_OPTIM},
    "train_si_fbank.yaml": {"model": _TINY_SI, "optim": _TINY_OPTIM},
    "train_si_fbank_multi.yaml": {"model": _TINY_SI, "optim": _TINY_OPTIM},
    "train_joint.yaml": {"model": {**_TINY_SI, "se": {"proj_dim": 16, "lstm_units": 16,
                                                       "lstm_layers": 1}},
                         "optim": _TINY_OPTIM},
}


def write_tiny_conf(conf: str | os.PathLike) -> Path:
    """``conf/`` of tiny configs, each ``base:`` the repository's config of the same name."""
    conf = Path(conf)
    conf.mkdir(parents=True)
    for name, keys in TINY_CONF.items():
        text = yaml.safe_dump({"base": str(ROOT / "conf" / name), **keys}, sort_keys=False)
        (conf / name).write_text(text)
    return conf


def make_checkout(path: str | os.PathLike, tiny_conf: bool = True) -> Path:
    """A checkout at ``path`` (see the module docstring); returns ``path``."""
    checkout = Path(path)
    checkout.mkdir(parents=True)
    for entry in LINKED:
        os.symlink(ROOT / entry, checkout / entry)
    if tiny_conf:
        write_tiny_conf(checkout / "conf")
    else:
        os.symlink(ROOT / "conf", checkout / "conf")
    (checkout / "recipes").mkdir()
    shutil.copytree(ROOT / "recipes" / "TEMPLATE", checkout / "recipes" / "TEMPLATE",
                    symlinks=True)
    return checkout
