"""How hard each loss of a trained joint model pulls on the shared SSL encoder.

For a sample of training utterances (up to ``per_category`` of each condition category:
clean, babble, non-babble), one utterance at a time: the gradients of the SI loss and of the
SE loss with respect to the encoder's trainable parameters (the only parameters both losses
reach), their norms, the SE share ``ratio = λ‖∇L_SE‖ / ‖∇L_SI‖`` and the cosine between them.
A ratio near 0 means the SE head hardly trains the encoder: the joint model is then a
fine-tuned SI model whatever λ is (docs/experiments.md measured 0.001-0.04 at λ = 1 before
the SE loss was normalised).

The model runs the encoder's training path (gradients flow) with dropout and SpecAugment off,
so the figures are deterministic; they are the gradients of the losses training optimises,
without its dropout noise.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import torch

from sitool.datadir import CONDITION_CATEGORIES, DataDir
from sitool.errors import SitoolError
from sitool.io import atomic_write_text
from sitool.training.data import collate
from sitool.training.experiment import TrainedModel
from sitool.training.trainer import make_dataset, target_info

log = logging.getLogger(__name__)

COLUMNS = ["utt", "category", "noise_type", "snr_db", "si_loss", "se_loss", "grad_si",
           "grad_se", "weight", "ratio", "cosine"]


def shared_parameters(trained: TrainedModel) -> list[torch.nn.Parameter]:
    """The trainable encoder parameters of a joint model: where its two losses meet."""
    cfg = trained.config.model
    where = trained.checkpoint
    if cfg.type != "joint":
        raise SitoolError(f"{where}: a {cfg.type!r} model has one loss; gradient shares need a "
                          f"joint model (model.type: joint)")
    params = [p for name, p in trained.model.named_parameters()
              if name.startswith("frontend.encoder.") and p.requires_grad]
    if not params:
        raise SitoolError(f"{where}: the SSL encoder is frozen (model.ssl.freeze: "
                          f"{cfg.ssl.freeze}): no parameter gets both losses' gradients")
    return params


def sample_utterances(sets: Sequence[DataDir], per_category: int, seed: int = 0
                      ) -> list[tuple[int, str, str]]:
    """Up to ``per_category`` utterances of each condition category over ``sets``, drawn
    with ``seed``: ``(set index, utt, category)`` in category order, then by utt."""
    pool: dict[str, list[tuple[int, str]]] = {c: [] for c in CONDITION_CATEGORIES}
    for k, data in enumerate(sets):
        for utt in data.utts:
            pool[data.condition(utt).category].append((k, utt))
    rng = np.random.default_rng(seed)
    chosen = []
    for category in CONDITION_CATEGORIES:
        items = pool[category]
        picks = sorted(rng.permutation(len(items))[:per_category]) if items else []
        chosen += sorted((items[i][0], items[i][1], category) for i in picks)
    return chosen


def _flat(grads: Sequence[torch.Tensor | None], params: Sequence[torch.Tensor]) -> torch.Tensor:
    return torch.cat([(g if g is not None else torch.zeros_like(p)).reshape(-1)
                      for g, p in zip(grads, params)])


def _gradient_mode(model) -> None:
    """Eval mode everywhere (no dropout, no SpecAugment), but the frontend keeps its training
    flag so that the encoder runs its gradient path."""
    model.eval()
    model.frontend.training = True


def gradient_shares(trained: TrainedModel, data_dirs: Sequence[str] | None = None,
                    per_category: int = 8, seed: int = 0,
                    device: str | torch.device = "cpu") -> pd.DataFrame:
    """One row per sampled utterance (``COLUMNS``); ``data_dirs`` default to the model's
    training sets."""
    cfg = trained.config
    params = shared_parameters(trained)
    dirs = list(data_dirs or cfg.data.train_sets)
    sets = [DataDir(d) for d in dirs]
    info, columns = target_info(sets, cfg.data.targets)
    if trained.normaliser is None or info.names != trained.normaliser.info.names:
        raise SitoolError(f"{', '.join(dirs)}: targets {info.names} are not those the model "
                          f"was trained on ({trained.checkpoint})")
    model = trained.model.to(device)
    dataset = make_dataset(cfg, dirs, model, trained.normaliser, columns, False)
    index = {item: i for i, item in enumerate(dataset.items)}
    weight = cfg.model.se.weight
    rows = []
    _gradient_mode(model)
    try:
        for k, utt, category in sample_utterances(sets, per_category, seed):
            batch = collate([dataset[index[(k, utt)]]]).to(device)
            out = model(batch)
            si, se = model.si_loss(out, batch), model.se_loss(out, batch)
            g_si = _flat(torch.autograd.grad(si, params, retain_graph=True, allow_unused=True), params)
            g_se = _flat(torch.autograd.grad(se, params, allow_unused=True), params)
            n_si, n_se = float(g_si.norm()), float(g_se.norm())
            cosine = float(g_si @ g_se) / (n_si * n_se) if n_si > 0 and n_se > 0 else math.nan
            condition = sets[k].condition(utt)
            rows.append({"utt": utt, "category": category, "noise_type": condition.noise_type,
                         "snr_db": condition.snr_db, "si_loss": float(si.detach()), "se_loss": float(se.detach()),
                         "grad_si": n_si, "grad_se": n_se, "weight": weight,
                         "ratio": weight * n_se / n_si if n_si > 0 else math.nan,
                         "cosine": cosine})
    finally:
        model.eval()
    if not rows:
        raise SitoolError(f"{', '.join(dirs)}: no utterances to measure")
    return pd.DataFrame(rows, columns=COLUMNS)


def summarise(rows: pd.DataFrame) -> pd.DataFrame:
    """Medians by category (and over all rows): utterances, ‖∇L_SI‖, λ‖∇L_SE‖, ratio, cosine."""
    rows = rows.assign(weighted_grad_se=rows["weight"] * rows["grad_se"])
    groups = [(c, rows[rows["category"] == c]) for c in CONDITION_CATEGORIES] + [("all", rows)]
    return pd.DataFrame([{"category": name, "utterances": len(g),
                          "grad_si": g["grad_si"].median(),
                          "weighted_grad_se": g["weighted_grad_se"].median(),
                          "ratio": g["ratio"].median(), "cosine": g["cosine"].median()}
                         for name, g in groups if len(g)])


def write_shares(rows: pd.DataFrame, path: str | Path) -> Path:
    """The per-utterance rows as TSV, written whole or not at all."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, rows.to_csv(sep="\t", index=False, float_format="%.6g"))
    return path
