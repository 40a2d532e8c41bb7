"""The training config schema (``conf/train_*.yaml``): model, data, optimiser, seed.

Read with :func:`load_train_config`; ``key=value`` overrides use dotted keys
(``optim.epochs=3``, ``model.se.weight=0.5``). Unknown keys are errors naming the nearest key.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Sequence

from sitool.config import in_domain, load_config
from sitool.datadir import CONDITION_CATEGORIES
from sitool.errors import SitoolError
from sitool.models.config import ModelConfig


@dataclass
class DataConfig:
    train_sets: list[str] = field(default_factory=lambda: ["data/train"])
    dev_sets: list[str] = field(default_factory=lambda: ["data/dev"])
    targets: list[str] | None = None     # target columns to learn (None = all in the targets file)
    normalise: Literal["global", "speaker"] = "global"   # target statistics: global, or per
                                         # training speaker (centred on each speaker's mean;
                                         # for sensor origins that differ between speakers)
    batch_seconds: float = in_domain(">0", 60.0)  # max padded audio seconds per batch (per process)
    max_batch_utts: int = in_domain(">=1", 32)  # max utterances per batch
    max_utt_seconds: float | None = in_domain(">0", None)  # training skips longer utterances (logged count)
    num_workers: int = in_domain(">=0", 0)  # DataLoader worker processes (0 = load in the main one)


@dataclass
class OptimConfig:
    epochs: int = in_domain(">=1", 20)
    lr_heads: float = in_domain(">0", 1e-3)  # AdamW learning rate of aggregation weights and heads
    lr_encoder: float = in_domain(">=0", 5e-5)  # AdamW learning rate of a fine-tuned SSL encoder
    weight_decay: float = in_domain(">=0", 0.01)
    warmup_steps: int = in_domain(">=0", 100)  # linear warm-up from 0 over this many updates
    schedule: Literal["constant", "cosine"] = "constant"   # after warm-up
    min_lr_ratio: float = in_domain("[0, 1]", 0.05)  # cosine: final lr as a fraction of the peak
    grad_clip: float = in_domain(">=0", 5.0)  # max global gradient norm (0 = no clipping)
    patience: int = in_domain(">=0", 5)  # stop after this many epochs without a better dev score (0 = never)


@dataclass
class LoggingConfig:
    tensorboard: bool = False            # also write exp/<tag>/tensorboard/ event files (needs tensorboard)


@dataclass
class TrainConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    seed: int = in_domain(">=0", 1)
    device: str = "auto"                 # auto (cuda if available), cpu, cuda
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"   # SSL compute (sitool.precision):
                                         # auto = bf16 on GPUs that support it, else fp32
    threads: int | None = in_domain(">=1", None)  # torch CPU threads per process (None: cores / processes)


def check_config(cfg: TrainConfig, source: str) -> None:
    """Cross-field checks that a schema cannot express."""
    m = cfg.model
    if m.type == "cascade" and not m.cascade.se_exp and not m.cascade.se_model:
        raise SitoolError(f"{source}: model.type cascade needs model.cascade.se_exp "
                          "(the exp dir of a trained se model, e.g. exp/train_se)")
    if m.has_se and m.se.target == "ssl" and not m.se.ssl_target_cache:
        raise SitoolError(f"{source}: model.se.target ssl needs model.se.ssl_target_cache "
                          "(cache dirs of the clean sets, e.g. [dump/ssl/ssl_tiny/train])")
    if m.has_se:
        check_skip_categories(m.se.skip_categories, source)
    if m.frontend == "fbank":
        f = m.fbank
        if m.type != "si":
            raise SitoolError(f"{source}: model.frontend fbank is for model.type si "
                              f"(got {m.type!r}); use frontend: ssl")
        if f.n_mels < 1 or f.hop < 1 or f.n_fft < f.hop or not 0 <= f.f_min < f.f_max <= 8000:
            raise SitoolError(f"{source}: model.fbank needs n_mels >= 1, 1 <= hop <= n_fft and "
                              f"0 <= f_min < f_max <= 8000 Hz (got n_mels {f.n_mels}, n_fft "
                              f"{f.n_fft}, hop {f.hop}, f_min {f.f_min}, f_max {f.f_max})")
    if m.has_si and not m.si.gru_units:
        raise SitoolError(f"{source}: model.si.gru_units must list at least one layer size")
    if not cfg.data.train_sets:
        raise SitoolError(f"{source}: data.train_sets is empty")
    if not cfg.data.dev_sets:
        raise SitoolError(f"{source}: data.dev_sets is empty (early stopping needs a dev set)")
    if cfg.optim.epochs < 1:
        raise SitoolError(f"{source}: optim.epochs must be >= 1")
    if cfg.data.batch_seconds <= 0 or cfg.data.max_batch_utts < 1:
        raise SitoolError(f"{source}: data.batch_seconds and data.max_batch_utts must be positive")


def check_skip_categories(skipped: Sequence[str], source: str) -> None:
    """``model.se.skip_categories`` names known categories and leaves one for the SE loss."""
    known = CONDITION_CATEGORIES
    unknown = [c for c in skipped if c not in known]
    if unknown:
        raise SitoolError(f"{source}: model.se.skip_categories: unknown category {unknown[0]!r} "
                          f"(choose from {', '.join(known)})")
    if set(known) <= set(skipped):
        raise SitoolError(f"{source}: model.se.skip_categories skips every category, so the SE "
                          "head would never train; use model.type si instead")


def load_train_config(path: str | os.PathLike, overrides: Sequence[str] = ()) -> TrainConfig:
    cfg = load_config(TrainConfig, path, overrides)
    check_config(cfg, str(Path(path)))
    return cfg


def default_exp_dir(config_path: str | os.PathLike, exp_root: str | os.PathLike = "exp") -> Path:
    """``conf/train_joint.yaml`` → ``exp/train_joint``."""
    return Path(exp_root) / Path(config_path).stem


def cached_layers(config_paths: Sequence[str | os.PathLike], num_layers: int) -> list[int] | None:
    """The SSL layers that the cache-reading models of these training configs use: the union
    of their ``model.ssl.layers``, and the ``model.se.ssl_target_layer`` of every ``se.target:
    ssl`` config (fine-tuned encoders too: their SE targets, the clean speech's frozen hidden
    states, come from the cache), as layer numbers of an SSL model with ``num_layers`` hidden
    states; None when one of them aggregates all layers, or when no config reads the cache."""
    from sitool.models.frontend import resolve_layers

    chosen: set[int] = set()
    readers = 0
    for path in config_paths:
        m = load_config(TrainConfig, path).model      # no cross-field checks: the cascade's
                                                      # se_exp is given at training time
        if m.has_se and m.se.target == "ssl":
            readers += 1
            chosen.update(resolve_layers([m.se.ssl_target_layer], num_layers,
                                         f"{path}: model.se.ssl_target_layer"))
        if m.ssl.freeze != "all" or m.type == "cascade":
            continue
        readers += 1
        if m.ssl.layers is None:
            return None
        chosen.update(resolve_layers(m.ssl.layers, num_layers, f"{path}: model.ssl.layers"))
    return sorted(chosen) if readers else None
