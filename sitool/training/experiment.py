"""A trained experiment dir (``exp/<tag>/``): rebuild its model from a checkpoint.

The checkpoint carries the resolved config and the target normalisation; frozen SSL encoders
are reloaded from ``model.ssl.model`` (and checked against the stamp saved at training time).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from sitool.config import from_dict
from sitool.errors import SitoolError
from sitool.models.model import InversionModel, build_model
from sitool.ssl.cache_stamps import LEGACY_NOTE, compare_model_stamp
from sitool.training.checkpoint import load_checkpoint
from sitool.training.config import TrainConfig
from sitool.training.normalisation import TargetNormaliser

log = logging.getLogger(__name__)

CHECKPOINTS = ("best", "last")


@dataclass
class TrainedModel:
    """A model ready for inference, with what is needed to interpret its outputs."""

    model: InversionModel
    config: TrainConfig
    normaliser: TargetNormaliser | None   # None for an SE-only model
    checkpoint: Path
    epoch: int

    @property
    def checkpoint_id(self) -> str:
        """Identifies these weights (path, epoch, file size and mtime), for decode resumption."""
        stat = self.checkpoint.stat()
        return f"{self.checkpoint.resolve()}:epoch{self.epoch}:{stat.st_size}:{stat.st_mtime_ns}"


def checkpoint_path(exp_dir: str | os.PathLike, checkpoint: str = "best") -> Path:
    """``best``/``last`` → ``exp/<tag>/checkpoints/<name>.pt``; any other value is a file path."""
    exp_dir = Path(exp_dir)
    if not exp_dir.is_dir():
        raise SitoolError(f"{exp_dir}: experiment dir not found; it is written by sitool train")
    path = exp_dir / "checkpoints" / f"{checkpoint}.pt" if checkpoint in CHECKPOINTS else Path(checkpoint)
    if not path.is_file():
        raise SitoolError(f"{path}: checkpoint not found; train the model first (sitool train "
                          f"--out {exp_dir}) or pick --checkpoint best|last")
    return path


def model_from_payload(payload: dict, source: str, *, load_ssl: bool = True) -> tuple[InversionModel, TrainConfig, TargetNormaliser | None]:
    """Rebuild the model stored in a checkpoint payload (weights loaded, eval mode)."""
    cfg = from_dict(TrainConfig, payload["config"], f"{source} (config)")
    normaliser = (TargetNormaliser.from_state(payload["normaliser"])
                  if payload.get("normaliser") else None)
    n_targets = len(normaliser.info.names) if normaliser else 0
    rate = normaliser.info.frame_rate if normaliser else 100.0
    model = build_model(cfg.model, n_targets, rate, load_ssl=load_ssl)
    model.load_checkpoint_state(payload["model"], source)
    stamp = payload.get("ssl_stamp")
    if stamp and load_ssl and cfg.model.ssl.freeze == "all":
        verdict, now = compare_model_stamp(stamp, cfg.model.ssl.model)
        if verdict == "other":
            log.warning("%s: the SSL model at %s changed since training (stamp %s, now %s); "
                        "predictions will not match the trained model", source,
                        cfg.model.ssl.model, stamp, now)
        elif verdict == "legacy":
            log.warning("%s: %s; cannot check that %s holds the weights it was trained with",
                        source, LEGACY_NOTE, cfg.model.ssl.model)
    return model.eval(), cfg, normaliser


def _recipe_relative(path: Path, exp_dir: Path) -> Path | None:
    """``path`` under the nearest ancestor of ``exp_dir`` that holds it (the recipe dir of
    ``<recipe>/exp/<tag>``), or None."""
    for ancestor in exp_dir.resolve().parents:
        if (ancestor / path).is_dir():
            return ancestor / path
    return None


def locate_ssl_model(name: str, exp_dir: Path) -> str:
    """Where the SSL model ``name`` of a trained experiment is.

    Recipes train with paths relative to the recipe dir (``exp/ssl_tiny``), and an
    experiment dir is ``<recipe>/exp/<tag>``: such a path is found relative to the
    experiment's nearest ancestor that holds it, wherever the command runs (``sitool invert
    --model /path/to/recipe/exp/train_joint``). When the current directory holds another
    model at that path, the experiment's is used and the log says so. Otherwise a path that
    exists from here, an absolute path or a hub id is returned as it is.
    """
    path = Path(name)
    if path.is_absolute():
        return name
    beside = _recipe_relative(path, exp_dir)
    if beside is None:
        return name
    if path.exists():
        if path.resolve() == beside.resolve():
            return name
        log.warning("SSL model %s of %s: using %s (beside the experiment), not %s (from the "
                    "current directory)", name, exp_dir, beside, path.resolve())
    else:
        log.info("SSL model %s of %s: using %s", name, exp_dir, beside)
    return str(beside)


def load_trained_model(exp_dir: str | os.PathLike, checkpoint: str = "best",
                       device: str | torch.device = "cpu", load_ssl: bool = True) -> TrainedModel:
    """Load ``exp_dir``'s ``best``/``last`` checkpoint (or a checkpoint file path)."""
    path = checkpoint_path(exp_dir, checkpoint)
    payload = load_checkpoint(path)
    ssl = payload["config"].get("model", {}).get("ssl", {})
    if ssl.get("model"):
        ssl["model"] = locate_ssl_model(ssl["model"], Path(exp_dir))
    model, cfg, normaliser = model_from_payload(payload, str(path), load_ssl=load_ssl)
    return TrainedModel(model.to(device), cfg, normaliser, path, int(payload.get("epoch", 0)))
