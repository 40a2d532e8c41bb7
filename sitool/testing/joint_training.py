"""A joint (SI + SE) model around an SSL encoder already in memory, a synthetic training batch
for it and a few optimiser steps with the trainer's own epoch loop: what the large-dims test
and ``bench/gpu.py`` train at the published models' sizes."""

from __future__ import annotations

import copy

import numpy as np
import torch

from sitool.config import from_dict
from sitool.models.config import ModelConfig
from sitool.models.framerate import frames_for_samples
from sitool.models.frontend import SSLGeometry, configure_encoder
from sitool.models.model import InversionModel
from sitool.precision import grad_scaler
from sitool.testing.data_dirs import toy_utterance
from sitool.testing.training_setup import TINY_HEADS
from sitool.training import distributed as D
from sitool.training.config import TrainConfig
from sitool.training.data import collate
from sitool.training.trainer import make_optimizer, train_epoch


def joint_model_around(encoder, n_targets: int = 3, target_rate: float = 100.0,
                       gradient_checkpointing: bool = False, heads: dict | None = None):
    """A joint (SI + SE mask) model built around an SSL encoder already in memory (e.g.
    ``sitool.ssl.sizes.random_wavlm``), its transformer fine-tuned (``freeze: cnn``), with
    the training settings of ``model.ssl`` applied as ``load_encoder`` does."""
    cfg = from_dict(ModelConfig, {
        "type": "joint", "ssl": {"model": encoder.name, "freeze": "cnn",
                                 "gradient_checkpointing": gradient_checkpointing},
        **copy.deepcopy(heads or TINY_HEADS)})
    configure_encoder(encoder, cfg.ssl)
    geometry = SSLGeometry.from_hf_config(encoder.model.config)
    return InversionModel(cfg, geometry, n_targets, target_rate, encoder)


def synthetic_joint_batch(seconds: list[float], n_targets: int = 3, rate: float = 100.0,
                          seed: int = 0):
    """A training batch for a joint model: noisy toy audio, its clean reference and targets."""
    rng = np.random.default_rng(seed)
    items = []
    for i, s in enumerate(seconds):
        clean, _ = toy_utterance(rng, s)
        noisy = (clean + 0.05 * rng.standard_normal(len(clean))).astype(np.float32)
        frames = frames_for_samples(len(clean), rate)
        items.append({"utt": f"u{i}", "wav": noisy, "clean_wav": clean, "si_frames": frames,
                      "targets": rng.standard_normal((frames, n_targets)).astype(np.float32)})
    return collate(items)


def joint_train_steps(model, batches, precision: str = "fp32", device: str = "cpu") -> dict:
    """Train ``model`` on ``batches`` (one optimiser step each) with the trainer's own epoch
    loop (AdamW, clipping, precision); returns its mean losses."""
    cfg = from_dict(TrainConfig, {"optim": {"warmup_steps": 0}, "precision": precision})
    ctx = D.DistContext(rank=0, local_rank=0, world_size=1, device=torch.device(device))
    model.to(device)
    optimizer = make_optimizer(model, cfg)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    return train_epoch(model, model, batches, optimizer, scheduler, cfg, ctx, 1, False,
                       precision, grad_scaler(precision, device))
