"""Stage 4: ``sitool train`` — train one model of the family into ``exp/<tag>/``.

Writes ``cmd`` and ``config.yaml`` first, then per epoch a line in ``train.log``,
``checkpoints/last.pt`` (everything to resume) and, when the dev score improves,
``checkpoints/best.pt``; at the end ``curves.png``. Rerunning the same command resumes from
``last.pt`` (or does nothing when training finished). Under ``torchrun`` every process trains
on its share of the batches (DDP) and rank 0 writes the files.

The dev score is the dev mean PPMC (per target per utterance, averaged over utterances, then
over targets) for models with an SI head; for an SE-only model it is minus the dev SE loss.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import random
import shlex
import shutil
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from tqdm import tqdm

from sitool.config import from_dict, to_dict
from sitool.datadir import DataDir, TargetInfo
from sitool.errors import SitoolError
from sitool.io import read_yaml, write_yaml
from sitool.locking import output_lock
from sitool.log import DATEFMT, FORMAT, time_left
from sitool.models.config import CascadeConfig, ModelConfig
from sitool.models.frontend import resolve_layers
from sitool.models.losses import ppmc_per_target
from sitool.models.model import InversionModel, build_model
from sitool.precision import allow_tf32, autocast, grad_scaler, resolve_precision
from sitool.ssl.cache_stamps import model_stamp
from sitool.training import distributed as D
from sitool.training.batching import BucketBatchSampler
from sitool.training.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from sitool.training.config import TrainConfig
from sitool.training.curves import plot_curves
from sitool.training.data import CleanFeatureLookup, DataNeeds, UtteranceDataset, collate
from sitool.training.experiment import checkpoint_path
from sitool.training.normalisation import TargetNormaliser, fit_normaliser, select_targets
from sitool.training.tensorboard import EpochWriter

log = logging.getLogger(__name__)


# ----------------------------------------------------------------------------- set-up

def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def resolve_cascade(cfg: TrainConfig) -> None:
    """Set ``model.cascade.se_model`` to the model config of the SE experiment ``se_exp``,
    read and parsed once, here (``config.yaml`` then records it; the model is built from it)."""
    cascade = cfg.model.cascade
    if cfg.model.type != "cascade" or not cascade.se_exp:
        return
    se_config = Path(cascade.se_exp) / "config.yaml"
    if not se_config.is_file():
        raise SitoolError(f"{se_config}: not found; train the SE model first "
                          f"(sitool train --config conf/train_se.yaml --out {cascade.se_exp})")
    cascade.se_model = from_dict(ModelConfig, read_yaml(se_config)["model"], str(se_config),
                                 "model.")


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict) and v and k != "se_model":
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def prepare_exp_dir(out: Path, resolved: dict, command: str, overwrite: bool) -> None:
    """Rank 0: (re)create ``out``; write ``cmd`` (appended) and ``config.yaml``.

    An existing experiment with a different config is an error (resume needs the same one),
    once it has a checkpoint: a run that failed before its first epoch ended never blocks.
    A key that the saved config lacks (written before the key existed) counts as its default.
    """
    config_path = out / "config.yaml"
    if overwrite and out.exists():
        log.info("%s: --overwrite: removing the previous experiment", out)
        shutil.rmtree(out)
    if config_path.is_file():
        old = {**_flatten(to_dict(TrainConfig())), **_flatten(read_yaml(config_path))}
        new = _flatten(resolved)
        diff = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        if diff and not (out / "checkpoints" / "last.pt").is_file():
            log.info("%s: the earlier run there stopped before its first epoch ended; starting "
                     "afresh with this config", out)
            config_path.unlink()
            (out / "checkpoints" / "best.pt").unlink(missing_ok=True)
        elif diff:
            shown = ", ".join(f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in diff[:4])
            raise SitoolError(f"{config_path}: this experiment was trained with another config "
                              f"({shown}); pass --overwrite to retrain, or use another --out")
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "cmd", "a", encoding="utf-8") as f:
        f.write(command + "\n")
    if not config_path.is_file():
        write_yaml(config_path, resolved)


def target_info(sets: Sequence[DataDir], names: list[str] | None) -> tuple[TargetInfo, list[int]]:
    """Targets of the training/dev sets (all must agree), restricted to ``names``."""
    infos = []
    for data in sets:
        data.require("targets", "tv.scp")
        infos.append(data.targets)
    first = infos[0]
    for data, info in zip(sets, infos):
        if info.names != first.names or info.frame_rate != first.frame_rate:
            raise SitoolError(f"{data.path / 'targets'}: names/frame_rate ({info.names}, "
                              f"{info.frame_rate} Hz) differ from {sets[0].path / 'targets'} "
                              f"({first.names}, {first.frame_rate} Hz)")
    return select_targets(first, names, str(sets[0].path / "targets"))


def make_dataset(cfg: TrainConfig, sets: Sequence[str], model: InversionModel,
                 normaliser: TargetNormaliser | None, columns: list[int],
                 training_filter: bool) -> UtteranceDataset:
    m = cfg.model
    needs = DataNeeds.for_model(m, use_cache=m.uses_cache, training=True)
    clean = None
    if needs.clean_feats:
        layer = resolve_layers([m.se.ssl_target_layer], model.geometry.num_layers,
                               "model.se.ssl_target_layer")[0]
        clean = CleanFeatureLookup(m.se.ssl_target_cache, layer)
    return UtteranceDataset(
        sets, needs, cache_root=m.ssl.cache, layers=model.frontend.layers, ssl_model=m.ssl.model,
        ssl_dim=model.geometry.dim, normaliser=normaliser, columns=columns,
        clean_features=clean,
        max_seconds=cfg.data.max_utt_seconds if training_filter else None)


def make_optimizer(model: InversionModel, cfg: TrainConfig) -> torch.optim.Optimizer:
    """AdamW: encoder and heads get their own learning rates; no decay on 1-D parameters."""
    groups: dict[tuple[str, bool], list] = defaultdict(list)
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        part = "encoder" if name.startswith("frontend.encoder.") else "heads"
        groups[(part, p.ndim >= 2)].append(p)
    lrs = {"encoder": cfg.optim.lr_encoder, "heads": cfg.optim.lr_heads}
    params = [{"params": ps, "lr": lrs[part], "name": f"{part}{'' if decay else '_nodecay'}",
               "weight_decay": cfg.optim.weight_decay if decay else 0.0}
              for (part, decay), ps in sorted(groups.items())]
    if not params:
        raise SitoolError("the model has no trainable parameters")
    return torch.optim.AdamW(params)


def lr_factor(step: int, total: int, cfg: TrainConfig) -> float:
    """Linear warm-up over ``warmup_steps``, then constant or cosine decay to ``min_lr_ratio``."""
    o = cfg.optim
    if step < o.warmup_steps:
        return (step + 1) / o.warmup_steps
    if o.schedule == "constant":
        return 1.0
    progress = min(1.0, (step - o.warmup_steps) / max(1, total - o.warmup_steps))
    return o.min_lr_ratio + (1 - o.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


# ----------------------------------------------------------------------------- epochs

def train_epoch(model: InversionModel, runner: torch.nn.Module, loader: DataLoader,
                optimizer, scheduler, cfg: TrainConfig, ctx: D.DistContext, epoch: int,
                progress: bool, precision: str = "fp32",
                scaler: torch.amp.GradScaler | None = None) -> dict[str, float]:
    """One pass over this process's batches; returns utterance-weighted mean losses.

    The forward pass runs under ``precision``'s autocast (the SSL encoder; heads and losses
    stay fp32); ``scaler`` scales the loss for fp16."""
    scaler = scaler or grad_scaler("fp32", ctx.device)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    sums: dict[str, float] = defaultdict(float)
    count = 0
    bar = tqdm(loader, desc=f"epoch {epoch}", unit="batch", leave=False,
               disable=not (progress and ctx.is_main))
    for batch in bar:
        batch = batch.to(ctx.device)
        with autocast(precision, ctx.device):
            out = runner(batch)
        loss, parts = model.loss(out, batch)
        if not torch.isfinite(loss):
            raise SitoolError(f"loss is {float(loss)} at epoch {epoch} (utts {batch.utts[:3]}); "
                              "lower optim.lr_heads / optim.lr_encoder or check the data")
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        if cfg.optim.grad_clip > 0:
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(params, cfg.optim.grad_clip)
        scaler.step(optimizer)
        scaler.update()
        scheduler.step()
        n = len(batch)
        count += n
        sums["loss"] += float(loss.detach()) * n
        for k, v in parts.items():
            sums[k] += v * n
        bar.set_postfix(loss=f"{sums['loss'] / count:.4f}")
    keys = sorted(sums)
    totals = D.all_reduce_sum(ctx, torch.tensor([sums[k] for k in keys] + [count], dtype=torch.float64))
    return {k: float(totals[i] / totals[-1]) for i, k in enumerate(keys)}


@torch.no_grad()
def evaluate(model: InversionModel, loader: DataLoader, ctx: D.DistContext,
             n_targets: int, precision: str = "fp32") -> dict:
    """Dev loss and (SI models) mean PPMC over this process's share, summed over processes."""
    model.eval()
    loss_sum, count = 0.0, 0
    ppmc_sum = np.zeros(n_targets)
    ppmc_count = np.zeros(n_targets)
    for batch in loader:
        batch = batch.to(ctx.device)
        with autocast(precision, ctx.device):
            out = model(batch)
        loss, _ = model.loss(out, batch)
        loss_sum += float(loss) * len(batch)
        count += len(batch)
        if out.si is not None:
            pred = out.si.cpu().numpy()
            ref = batch.targets.cpu().numpy()
            for b, n in enumerate(out.si_lengths.tolist()):
                r = ppmc_per_target(pred[b, :n], ref[b, :n])
                ppmc_sum += np.nan_to_num(r)
                ppmc_count += ~np.isnan(r)
    totals = D.all_reduce_sum(ctx, torch.tensor(
        [loss_sum, count, *ppmc_sum, *ppmc_count], dtype=torch.float64)).numpy()
    result = {"dev_loss": float(totals[0] / max(totals[1], 1)), "dev_ppmc": None,
              "dev_ppmc_targets": None}
    if n_targets:
        sums, counts = totals[2:2 + n_targets], totals[2 + n_targets:]
        per_target = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
        result["dev_ppmc_targets"] = [float(v) for v in per_target]
        result["dev_ppmc"] = float(np.nanmean(per_target)) if np.any(counts > 0) else float("nan")
    return result


# ----------------------------------------------------------------------------- driver

def _attach_log_file(path: Path) -> tuple[logging.Handler, int]:
    """Send sitool's INFO records to ``path`` too (whatever the root logger's level is).
    Returns the handler and the ``sitool`` logger's previous level, for :func:`_detach_log_file`."""
    handler = logging.FileHandler(path, mode="a", encoding="utf-8")
    handler.setFormatter(logging.Formatter(FORMAT, DATEFMT))
    handler.setLevel(logging.INFO)
    logger = logging.getLogger("sitool")
    previous = logger.level
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    return handler, previous


def _detach_log_file(handler: logging.Handler, previous: int) -> None:
    logger = logging.getLogger("sitool")
    logger.removeHandler(handler)
    logger.setLevel(previous)
    handler.close()


def _set_threads(cfg: TrainConfig, ctx: D.DistContext) -> None:
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    elif ctx.enabled and ctx.device.type == "cpu":
        local = int(os.environ.get("LOCAL_WORLD_SIZE", ctx.world_size))
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // local))


def train(cfg: TrainConfig, out_dir: str | os.PathLike, *, command: str | None = None,
          overwrite: bool = False, progress: bool = True) -> Path:
    """Train ``cfg`` into ``out_dir`` (resuming from ``checkpoints/last.pt``). Returns ``out_dir``.

    ``cfg`` has passed :func:`~sitool.training.config.check_config` (as
    :func:`~sitool.training.config.load_train_config` returns it).
    Runs as one process, or as one DDP process of a ``torchrun`` group.
    """
    out = Path(out_dir)
    ctx = D.init_distributed(cfg.device)
    attached = None
    held = contextlib.ExitStack()       # rank 0: the experiment dir's lock (sitool.locking)
    try:
        _set_threads(cfg, ctx)
        resolve_cascade(cfg)
        resolved = to_dict(cfg)
        command = command or " ".join(shlex.quote(a) for a in sys.argv)
        error = None
        if ctx.is_main:
            try:
                held.enter_context(output_lock(out))
                prepare_exp_dir(out, resolved, command, overwrite)
            except SitoolError as e:
                error = str(e)
        error = D.broadcast_object(ctx, error)
        if error:
            raise SitoolError(error)
        if ctx.is_main:
            attached = _attach_log_file(out / "train.log")
        else:
            logging.getLogger().setLevel(logging.WARNING)
        return _train(cfg, resolved, out, ctx, progress)
    finally:
        if attached is not None:
            _detach_log_file(*attached)
        held.close()
        D.shutdown(ctx)


@dataclass
class _Run:
    """What a training run is built from (:func:`build_run`)."""

    model: InversionModel
    runner: torch.nn.Module              # the model, or its DDP wrapper
    normaliser: TargetNormaliser | None
    sampler: BucketBatchSampler
    loader: DataLoader
    dev_loader: DataLoader
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    scaler: torch.amp.GradScaler
    precision: str

    @property
    def target_names(self) -> list[str]:
        return self.normaliser.info.names if self.normaliser else []


def _train(cfg: TrainConfig, resolved: dict, out: Path, ctx: D.DistContext,
           progress: bool) -> Path:
    """Build, restore, then run and save epochs until the last one or early stopping."""
    last_path = out / "checkpoints" / "last.pt"
    fix = ("rerun with --overwrite to train again from scratch (until then best.pt, if "
           "readable, still decodes: sitool decode --checkpoint best)")
    resume = load_checkpoint(last_path, fix) if last_path.is_file() else None
    if resume is not None and resume.get("finished"):
        _report_finished(resume, out, ctx)
        return out
    run = build_run(cfg, ctx, resume)
    state = restore(run, resume, ctx, last_path)
    ssl_stamp = model_stamp(cfg.model.ssl.model) if cfg.model.frontend == "ssl" else ""
    common = {"normaliser": run.normaliser.to_state() if run.normaliser else None,
              "config": resolved, "ssl_stamp": ssl_stamp}     # what every checkpoint carries
    board = None
    if cfg.logging.tensorboard and ctx.is_main:     # optional event files (training/tensorboard.py)
        board = EpochWriter(out, state["epoch"] + 1, run.target_names)
    for epoch in range(state["epoch"] + 1, cfg.optim.epochs + 1):
        entry, score = run_epoch(run, cfg, ctx, state, epoch, progress)
        stop = cfg.optim.patience > 0 and state["epochs_since_best"] >= cfg.optim.patience
        finished = stop or epoch == cfg.optim.epochs
        rngs = D.all_gather_objects(ctx, rng_state())
        if ctx.is_main:
            save_epoch(run, out, common, state, score, rngs, finished, ctx)
            _log_epoch(entry, cfg.optim.epochs, run.target_names, run.model)
            if not finished:
                log.info("epoch %d: %s", epoch, time_left(
                    [h["seconds"] for h in state["history"]], cfg.optim.epochs - epoch))
            if board is not None:
                board.add(entry)
        D.barrier(ctx)
        if stop:
            log.info("early stopping: no better dev score for %d epochs (best %.4f at epoch %d)",
                     cfg.optim.patience, state["best_score"], state["best_epoch"])
            break
    if board is not None:
        board.close()
    if ctx.is_main:
        plot_curves(state["history"], out / "curves.png", title=out.name)
        log.info("done: best dev score %.4f at epoch %d -> %s", state["best_score"],
                 state["best_epoch"], out / "checkpoints" / "best.pt")
    return out


def _report_finished(resume: dict, out: Path, ctx: D.DistContext) -> None:
    """A rerun of a finished experiment: say so (and draw its curves if they are missing)."""
    log.info("%s: training already finished at epoch %d (best dev score %.4f at epoch %d); "
             "--overwrite retrains", out, resume["epoch"], resume["best_score"],
             resume["best_epoch"])
    if ctx.is_main and not (out / "curves.png").is_file():
        plot_curves(resume["history"], out / "curves.png", title=out.name)


# ----------------------------------------------------------------------------- build

def build_run(cfg: TrainConfig, ctx: D.DistContext, resume: dict | None) -> _Run:
    """The model (a cascade's SE stage loaded, unless resuming), its data, optimiser,
    schedule and precision, and its DDP wrapper; seeds the RNGs as training expects."""
    seed_everything(cfg.seed)
    m = cfg.model
    train_dirs = [DataDir(d) for d in cfg.data.train_sets]
    dev_dirs = [DataDir(d) for d in cfg.data.dev_sets]
    for data in train_dirs + dev_dirs:
        data.check_utterances()
    normaliser, columns = None, []
    if m.has_si:
        info, columns = target_info(train_dirs + dev_dirs, cfg.data.targets)
        if resume is not None:
            normaliser = TargetNormaliser.from_state(resume["normaliser"])
        else:
            normaliser = fit_normaliser(train_dirs, info, columns, cfg.data.normalise)

    model = build_model(m, len(columns), normaliser.info.frame_rate if normaliser else 100.0,
                        load_ssl=not m.uses_cache)
    if m.type == "cascade" and resume is None:
        _load_se_stage(model, m.cascade)
    train_set = make_dataset(cfg, cfg.data.train_sets, model, normaliser, columns, True)
    # per-speaker normalisation: dev speakers (unseen in training) centred on their own mean
    dev_normaliser = normaliser.with_own_means(dev_dirs, columns) if normaliser else None
    dev_set = make_dataset(cfg, cfg.data.dev_sets, model, dev_normaliser, columns, False)
    model.to(ctx.device)
    _log_model(cfg, model, train_set, dev_set, ctx)
    sampler, loader, dev_loader = _make_loaders(cfg, ctx, train_set, dev_set)

    optimizer = make_optimizer(model, cfg)
    precision = resolve_precision(cfg.precision, ctx.device, training=True)
    allow_tf32(ctx.device)
    scaler = grad_scaler(precision, ctx.device)
    log.info("precision %s (%s)", precision, "float32" if precision == "fp32" else
             "SSL encoder under autocast; heads, losses, weights and checkpoints float32")
    total_steps = cfg.optim.epochs * len(sampler)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(step, total_steps, cfg))
    runner: torch.nn.Module = model
    if ctx.enabled:
        runner = DistributedDataParallel(
            model, device_ids=[ctx.device.index] if ctx.device.type == "cuda" else None,
            find_unused_parameters=not model.frontend.frozen, broadcast_buffers=False)
    seed_everything(cfg.seed + ctx.rank)
    return _Run(model, runner, normaliser, sampler, loader, dev_loader, optimizer, scheduler,
                scaler, precision)


def _load_se_stage(model: InversionModel, cascade: CascadeConfig) -> None:
    """A new cascade: its SE stage's weights from the trained SE experiment."""
    se_ckpt = checkpoint_path(cascade.se_exp, cascade.se_checkpoint)
    model.enhancer.load_checkpoint_state(load_checkpoint(se_ckpt)["model"], str(se_ckpt))
    log.info("cascade: SE stage loaded from %s", se_ckpt)


def _log_model(cfg: TrainConfig, model: InversionModel, train_set: UtteranceDataset,
               dev_set: UtteranceDataset, ctx: D.DistContext) -> None:
    m = cfg.model
    n_trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if m.frontend == "fbank":
        inputs = model.frontend.describe()
    else:
        inputs = (f"SSL {m.ssl.model} (freeze {m.ssl.freeze}, layers {model.frontend.layers}, "
                  + ("from cache " + str(m.ssl.cache) if m.uses_cache else "on the fly") + ")")
    log.info("model %s: %d trainable parameters; %s; train %d utts (%.1f min), dev %d utts; "
             "%d process(es) on %s", m.type, n_trainable, inputs, len(train_set),
             sum(train_set.durations) / 60, len(dev_set), ctx.world_size, ctx.device)
    if m.ssl.gradient_checkpointing and not m.uses_cache:
        log.info("SSL gradient checkpointing on: transformer layers are recomputed in the "
                 "backward pass")


def _make_loaders(cfg: TrainConfig, ctx: D.DistContext, train_set: UtteranceDataset,
                  dev_set: UtteranceDataset) -> tuple[BucketBatchSampler, DataLoader, DataLoader]:
    """This process's shuffled training batches (their sampler too) and its dev batches."""
    sampler = BucketBatchSampler(train_set.durations, cfg.data.batch_seconds,
                                 cfg.data.max_batch_utts, shuffle=True, seed=cfg.seed,
                                 rank=ctx.rank, world_size=ctx.world_size)
    dev_sampler = BucketBatchSampler(dev_set.durations, cfg.data.batch_seconds,
                                     cfg.data.max_batch_utts, shuffle=False, rank=ctx.rank,
                                     world_size=ctx.world_size, pad_to_equal=False)
    # Own generators: worker seeding then leaves the global RNG (dropout) alone, so results
    # do not depend on num_workers (items themselves are deterministic).
    loader_args = dict(collate_fn=collate, num_workers=cfg.data.num_workers,
                       persistent_workers=cfg.data.num_workers > 0)
    loader = DataLoader(train_set, batch_sampler=sampler, **loader_args,
                        generator=torch.Generator().manual_seed(cfg.seed))
    dev_loader = DataLoader(dev_set, batch_sampler=dev_sampler, **loader_args,
                            generator=torch.Generator().manual_seed(cfg.seed))
    return sampler, loader, dev_loader


# ----------------------------------------------------------------------------- restore

def restore(run: _Run, resume: dict | None, ctx: D.DistContext, last_path: Path) -> dict:
    """The training state (epoch, step, best score, history): fresh, or from ``resume``
    (the ``last.pt`` payload), whose weights, optimiser, schedule and RNGs are restored."""
    state = {"epoch": 0, "step": 0, "best_score": None, "best_epoch": 0,
             "epochs_since_best": 0, "history": []}
    if resume is None:
        return state
    run.model.load_checkpoint_state(resume["model"], str(last_path))
    run.optimizer.load_state_dict(resume["optimizer"])
    if resume.get("scaler"):
        run.scaler.load_state_dict(resume["scaler"])
    run.scheduler.load_state_dict(resume["scheduler"])
    for key in state:
        state[key] = resume[key]
    states = resume["rng"]
    if len(states) != ctx.world_size:
        log.warning("resuming %d-process training with %d processes: RNG streams differ "
                    "from an uninterrupted run", len(states), ctx.world_size)
    set_rng_state(states[ctx.rank % len(states)])
    log.info("resuming from %s after epoch %d (best dev score %s at epoch %d)", last_path,
             state["epoch"], state["best_score"], state["best_epoch"])
    return state


# ----------------------------------------------------------------------------- epoch and save

def run_epoch(run: _Run, cfg: TrainConfig, ctx: D.DistContext, state: dict, epoch: int,
              progress: bool) -> tuple[dict, float | None]:
    """Train one epoch and score it on dev; updates ``state`` (its history too) and returns
    the epoch's history entry and dev score."""
    start = time.time()
    run.sampler.set_epoch(epoch)
    losses = train_epoch(run.model, run.runner, run.loader, run.optimizer, run.scheduler, cfg,
                         ctx, epoch, progress, run.precision, run.scaler)
    dev = evaluate(run.model, run.dev_loader, ctx, len(run.target_names), run.precision)
    score = dev["dev_ppmc"] if cfg.model.has_si else -dev["dev_loss"]
    improved = state["best_score"] is None or (score is not None and score > state["best_score"])
    state["epoch"] = epoch
    state["step"] += len(run.sampler)
    if improved:
        state["best_score"], state["best_epoch"], state["epochs_since_best"] = score, epoch, 0
    else:
        state["epochs_since_best"] += 1
    seconds = time.time() - start
    state["history"].append({
        "epoch": epoch, "train_loss": losses["loss"], "train_si": losses.get("si"),
        "train_se": losses.get("se"), "dev_loss": dev["dev_loss"], "dev_ppmc": dev["dev_ppmc"],
        "dev_ppmc_targets": dev["dev_ppmc_targets"], "lr": _heads_lr(run.optimizer),
        "seconds": seconds, "best": improved})
    return state["history"][-1], score


def save_epoch(run: _Run, out: Path, common: dict, state: dict, score: float | None,
               rngs: list, finished: bool, ctx: D.DistContext) -> None:
    """Rank 0, after an epoch: ``best.pt`` when it improved, then ``last.pt`` (all to resume).
    ``common``: what both carry besides the weights (normaliser, config, SSL stamp)."""
    common = {"model": run.model.checkpoint_state(), **common, "epoch": state["epoch"]}
    checkpoints = out / "checkpoints"
    if state["history"][-1]["best"]:
        save_checkpoint(checkpoints / "best.pt", {**common, "dev_score": score})
    save_checkpoint(checkpoints / "last.pt", {
        **common, **state, "optimizer": run.optimizer.state_dict(),
        "scheduler": run.scheduler.state_dict(), "rng": rngs, "scaler": run.scaler.state_dict(),
        "world_size": ctx.world_size, "finished": finished})


def _heads_lr(optimizer) -> float:
    """Current learning rate of the heads (the encoder's, when only the encoder trains)."""
    groups = sorted(optimizer.param_groups, key=lambda g: not g["name"].startswith("heads"))
    return float(groups[0]["lr"])


def _log_epoch(h: dict, epochs: int, names: Sequence[str], model: InversionModel) -> None:
    parts = [f"epoch {h['epoch']}/{epochs}: train loss {h['train_loss']:.4f}"]
    detail = [f"{k} {h['train_' + k]:.4f}" for k in ("si", "se") if h.get("train_" + k) is not None]
    if len(detail) > 1:
        parts[0] += f" ({', '.join(detail)})"
    parts.append(f"dev loss {h['dev_loss']:.4f}")
    if h["dev_ppmc"] is not None:
        per = ", ".join(f"{n} {v:.3f}" for n, v in zip(names, h["dev_ppmc_targets"]))
        parts.append(f"dev PPMC {h['dev_ppmc']:.4f} ({per})")
    parts.append(f"lr {h['lr']:.2e}")
    parts.append(f"{h['seconds']:.1f} s" + (" *best*" if h["best"] else ""))
    log.info(" | ".join(parts))
    weights = []
    for name in ("si_agg", "se_agg"):
        agg = getattr(model, name, None)
        if agg is not None:
            weights.append(f"{name} " + " ".join(f"{w:.2f}" for w in agg.layer_weights()))
    if weights:
        log.debug("layer weights: %s", "; ".join(weights))
