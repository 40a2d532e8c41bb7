"""Small training set-ups for tests and benchmarks: a tiny SSL model with toy data dirs, and
a training config dict for tiny heads, sized to run in seconds on a CPU."""

from __future__ import annotations

import copy
import os
from pathlib import Path

from sitool.testing.data_dirs import make_toy_data_dir
from sitool.testing.ssl_model import make_tiny_ssl_model

TINY_HEADS = {
    "si": {"gru_units": [24, 16], "dropout": 0.1},
    "se": {"proj_dim": 24, "lstm_units": 16, "lstm_layers": 2, "dropout": 0.1},
}


def make_toy_setup(root: str | os.PathLike, num_train: int = 6, num_dev: int = 4,
                   ssl_hidden: int = 32) -> dict[str, Path]:
    """Write ``root/ssl`` (tiny WavLM), ``root/data/train`` and ``root/data/dev`` (clean toy
    dirs). Returns their paths."""
    root = Path(root)
    paths = {"ssl": root / "ssl", "train": root / "data" / "train", "dev": root / "data" / "dev"}
    if not (paths["ssl"] / "config.json").is_file():
        make_tiny_ssl_model(paths["ssl"], hidden=ssl_hidden, layers=2, conv_dim=16)
    if not paths["train"].is_dir():
        make_toy_data_dir(paths["train"], num_utts=num_train, num_speakers=2, seed=0, prefix="tr")
    if not paths["dev"].is_dir():
        make_toy_data_dir(paths["dev"], num_utts=num_dev, num_speakers=2, seed=1, prefix="dv")
    return paths


def toy_config(model_type: str, ssl: str | os.PathLike, train: list, dev: list,
               epochs: int = 2, freeze: str = "all", cache: str | None = None,
               **sections) -> dict:
    """A training config dict for tiny models; ``sections`` deep-merge over the defaults."""
    cfg = {
        "model": {"type": model_type,
                  "ssl": {"model": str(ssl), "freeze": freeze, "cache": cache},
                  **copy.deepcopy(TINY_HEADS)},
        "data": {"train_sets": [str(d) for d in train], "dev_sets": [str(d) for d in dev],
                 "batch_seconds": 4.0, "max_batch_utts": 4},
        "optim": {"epochs": epochs, "lr_heads": 3e-3, "lr_encoder": 3e-4, "warmup_steps": 2,
                  "patience": 0},
        "seed": 1,
        "threads": 1,
    }
    _merge(cfg, sections)
    return cfg


def _merge(base: dict, extra: dict) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


def train_tiny_model(root: str | os.PathLike, out: str | os.PathLike, model_type: str,
                     freeze: str = "all", seed: int = 1) -> Path:
    """One epoch of a tiny ``model_type`` model (8-unit heads) on ``root/data/toy`` with the
    tiny SSL model ``root/ssl_tiny`` (both made on first use) -> the experiment dir ``out``."""
    from sitool.models.config import ModelConfig, SEConfig, SIConfig, SSLConfig
    from sitool.training.config import DataConfig, OptimConfig, TrainConfig
    from sitool.training.trainer import train

    root = Path(root)
    toy = root / "data" / "toy"
    if not toy.is_dir():
        make_toy_data_dir(toy, num_utts=4)
    ssl = root / "ssl_tiny"
    if not ssl.is_dir():
        make_tiny_ssl_model(ssl)
    cfg = TrainConfig(
        model=ModelConfig(type=model_type, ssl=SSLConfig(model=str(ssl), freeze=freeze),
                          si=SIConfig(gru_units=[8]),
                          se=SEConfig(proj_dim=8, lstm_units=8, lstm_layers=1)),
        data=DataConfig(train_sets=[str(toy)], dev_sets=[str(toy)]),
        optim=OptimConfig(epochs=1, warmup_steps=0), device="cpu", threads=1, seed=seed)
    return train(cfg, out, progress=False)
