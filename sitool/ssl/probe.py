"""``sitool probe-ssl``: how much articulation a frozen SSL model's features carry linearly.

A ridge regression from per-frame features (chosen layers, averaged or concatenated) to the
targets, fitted on one data dir and scored on another by mean PPMC (per-utterance Pearson
correlation per target, averaged over utterances, then over targets). With
``random_baseline`` the same probe runs on a randomly initialised model of the same
architecture, which separates what pretraining learned from what the architecture and the
input alone give. With ``fbank`` the same probe runs on stacked log-mel filterbanks (the
conventional features of ``model.frontend: fbank``, ±``fbank_context`` frames at 100 Hz): the
floor an SSL model's features must clear.

Targets (e.g. 100 Hz) are linearly interpolated at the centres of the SSL frames (50 Hz).
"""

from __future__ import annotations

import logging
import os
from typing import Literal, Sequence

import numpy as np
import torch
from tqdm import tqdm

from sitool.datadir import DataDir
from sitool.errors import SitoolError
from sitool.ssl.encoder import SSLEncoder, load_ssl_encoder
from sitool.ssl.extract import batch_by_length, extract_hidden_states

log = logging.getLogger(__name__)

ALPHAS = np.logspace(-3, 5, 17)


def random_init_encoder(ssl_model: str, seed: int = 12345) -> SSLEncoder:
    """A model with ``ssl_model``'s architecture and input normalisation but random weights."""
    from transformers import AutoConfig, AutoModel

    trained = load_ssl_encoder(ssl_model, freeze="all")
    config = AutoConfig.from_pretrained(ssl_model)
    torch.manual_seed(seed)
    encoder = SSLEncoder(AutoModel.from_config(config), trained.inputs,
                         f"{ssl_model} (random init)")
    encoder.set_freeze("all")
    return encoder


def frame_centres(encoder: SSLEncoder, num_frames: int) -> np.ndarray:
    """Times (s) of the centres of the first ``num_frames`` SSL frames."""
    return encoder.grid.centres_s(num_frames)


def probe_data(encoder: SSLEncoder, data: DataDir, utts: Sequence[str],
               layers: Sequence[int] | None, pooling: Literal["mean", "concat"],
               batch_seconds: float = 60.0, progress: bool = True
               ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per utterance ``(features [T, F], targets [T, n_targets])`` on the SSL frame grid.

    Frames past the end of the target track are dropped."""
    data.require("tv.scp", "targets", made_by="sitool prepare (the probe needs targets)")
    rate = data.targets.frame_rate
    wavs = [data.audio(u) for u in utts]
    out: list[tuple[np.ndarray, np.ndarray] | None] = [None] * len(utts)
    batches = batch_by_length([len(w) for w in wavs], batch_seconds)
    with tqdm(total=len(utts), desc=f"probe-ssl {data.name}", unit="utt",
              disable=not progress) as bar:
        for batch in batches:
            states = extract_hidden_states(encoder, [wavs[i] for i in batch], layers)
            for i, state in zip(batch, states):
                feats = state.mean(0) if pooling == "mean" else state.permute(1, 0, 2).flatten(1)
                targets = data.target_array(utts[i])
                t = frame_centres(encoder, feats.shape[0]) * rate
                keep = t <= len(targets) - 1
                grid = np.arange(len(targets))
                y = np.stack([np.interp(t[keep], grid, targets[:, j])
                              for j in range(targets.shape[1])], axis=1)
                out[i] = (feats.numpy()[keep].astype(np.float32), y.astype(np.float32))
                bar.update(1)
    return out


FBANK_NAME = "log-mel fbank"


def stack_frames(feats: np.ndarray, context: int) -> np.ndarray:
    """``[T, D]`` → ``[T, (2 * context + 1) * D]``: each frame with its ``context`` neighbours
    on either side (edge frames repeated)."""
    if context <= 0:
        return feats
    padded = np.pad(feats, ((context, context), (0, 0)), mode="edge")
    return np.concatenate([padded[k:k + len(feats)] for k in range(2 * context + 1)], axis=1)


def probe_fbank_data(data: DataDir, utts: Sequence[str], context: int, progress: bool = True
                     ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per utterance ``(stacked log-mel [T, F], targets [T, n_targets])`` on the fbank frame
    grid (frame ``k`` at ``k * 10`` ms; default ``FbankConfig``), frames past the targets dropped."""
    from sitool.models.config import FbankConfig
    from sitool.models.fbank import FbankFrontend

    data.require("tv.scp", "targets", made_by="sitool prepare (the probe needs targets)")
    frontend = FbankFrontend(FbankConfig())
    rate = data.targets.frame_rate
    out = []
    for utt in tqdm(utts, desc=f"probe-ssl fbank {data.name}", unit="utt", disable=not progress):
        feats = stack_frames(frontend.features(data.audio(utt)), context)
        targets = data.target_array(utt)
        t = np.arange(len(feats)) / frontend.geometry.frame_rate * rate
        keep = t <= len(targets) - 1
        grid = np.arange(len(targets))
        y = np.stack([np.interp(t[keep], grid, targets[:, j]) for j in range(targets.shape[1])],
                     axis=1)
        out.append((feats[keep].astype(np.float32), y.astype(np.float32)))
    return out


def mean_ppmc(pairs: Sequence[tuple[np.ndarray, np.ndarray]], names: Sequence[str]) -> dict:
    """``{"mean_ppmc": m, "per_target": {name: ppmc}}`` of (prediction, reference) pairs."""
    from sitool.scoring.metrics import ppmc

    per_target = {}
    for j, name in enumerate(names):
        values = [ppmc(pred[:, j], ref[:, j]).value for pred, ref in pairs]
        values = [v for v in values if v is not None]
        per_target[name] = float(np.mean(values)) if values else float("nan")
    return {"mean_ppmc": float(np.nanmean(list(per_target.values()))), "per_target": per_target}


def fit_and_score(train: Sequence[tuple[np.ndarray, np.ndarray]],
                  dev: Sequence[tuple[np.ndarray, np.ndarray]], names: Sequence[str]) -> dict:
    """Ridge (alpha by efficient leave-one-out CV on train) on standardised features and
    targets; the mean PPMC on ``dev`` and the chosen alpha."""
    from sklearn.linear_model import RidgeCV

    x = np.concatenate([f for f, _ in train]).astype(np.float64)
    y = np.concatenate([t for _, t in train]).astype(np.float64)
    x_mean, x_std = x.mean(0), x.std(0) + 1e-6
    y_mean, y_std = y.mean(0), y.std(0) + 1e-6
    ridge = RidgeCV(alphas=ALPHAS).fit((x - x_mean) / x_std, (y - y_mean) / y_std)
    pairs = [(ridge.predict((f - x_mean) / x_std) * y_std + y_mean, t) for f, t in dev]
    result = mean_ppmc(pairs, names)
    result["alpha"] = float(ridge.alpha_)
    return result


def _pick(utts: list[str], max_utts: int | None) -> list[str]:
    if max_utts is None or len(utts) <= max_utts:
        return utts
    idx = np.random.default_rng(0).choice(len(utts), max_utts, replace=False)
    return [utts[i] for i in sorted(idx)]


def probe_ssl(ssl_model: str | os.PathLike, train_dir: str | os.PathLike,
              dev_dir: str | os.PathLike, layers: Sequence[int] | None = None,
              pooling: Literal["mean", "concat"] = "concat", random_baseline: bool = False,
              max_utts: int | None = None, progress: bool = True, fbank: bool = False,
              fbank_context: int = 10) -> dict[str, dict]:
    """Fit the probe on ``train_dir``, score on ``dev_dir``. Returns ``{model name: result}``
    (result: ``mean_ppmc``, ``per_target``, ``alpha``), the random-init model second and
    (``fbank``) the stacked log-mel features last, under ``log-mel fbank (±N frames)``."""
    train_data, dev_data = DataDir(train_dir), DataDir(dev_dir)
    for data in (train_data, dev_data):
        data.require("tv.scp", "targets", made_by="sitool prepare (the probe needs targets)")
    names = train_data.targets.names
    if dev_data.targets.names != names:
        raise SitoolError(f"{dev_data.path}/targets: target names differ from {train_data.path}")
    train_utts = _pick(train_data.utts, max_utts)
    dev_utts = _pick(dev_data.utts, max_utts)
    encoders = [load_ssl_encoder(str(ssl_model), freeze="all")]
    if random_baseline:
        encoders.append(random_init_encoder(str(ssl_model)))
    results = {}
    for encoder in encoders:
        train = probe_data(encoder, train_data, train_utts, layers, pooling, progress=progress)
        dev = probe_data(encoder, dev_data, dev_utts, layers, pooling, progress=progress)
        result = fit_and_score(train, dev, names)
        result.update({"layers": "all" if layers is None else list(layers), "pooling": pooling,
                       "train_utts": len(train_utts), "dev_utts": len(dev_utts)})
        results[encoder.name] = result
        log.info("probe %s: dev mean PPMC %.3f (alpha %.3g)", encoder.name, result["mean_ppmc"],
                 result["alpha"])
    if fbank:
        name = f"{FBANK_NAME} (±{fbank_context} frames)"
        result = fit_and_score(probe_fbank_data(train_data, train_utts, fbank_context, progress),
                               probe_fbank_data(dev_data, dev_utts, fbank_context, progress), names)
        result.update({"layers": None, "pooling": f"stack ±{fbank_context}",
                       "train_utts": len(train_utts), "dev_utts": len(dev_utts)})
        results[name] = result
        log.info("probe %s: dev mean PPMC %.3f (alpha %.3g)", name, result["mean_ppmc"],
                 result["alpha"])
    return results


def format_probe(results: dict[str, dict]) -> str:
    """A plain-text table: one row per model, mean PPMC then per-target PPMC."""
    names = list(next(iter(results.values()))["per_target"])
    width = max(len(m) for m in results) + 2
    lines = [f"{'model':<{width}}{'mean':>7}" + "".join(f"{n:>8}" for n in names)]
    for model, result in results.items():
        lines.append(f"{model:<{width}}{result['mean_ppmc']:7.3f}"
                     + "".join(f"{result['per_target'][n]:8.3f}" for n in names))
    return "\n".join(lines)
