#!/usr/bin/env python3
"""SSL pretraining throughput (stage 3, ``pretrain-ssl``) on this CPU.

Times full pretraining updates (crops, span masks, forward, masked-prediction loss, backward,
gradient clipping, AdamW) of the in-recipe model, exactly as ``sitool pretrain-ssl`` makes
them, on ``--seconds`` of toy audio with random cluster targets (the targets do not change the
cost). Rows: the previous recipe's model (WavLM with a 32-channel conv feature encoder, the
baseline, always first), the recipe's model (conf/pretrain_ssl.yaml: w2v-BERT on filterbanks)
and WavLM with wider conv feature encoders (``--conv-dims``, the front end that decides how
much spectral detail reaches a waveform model's transformer), all of the recipe's width and
depth. Per row: parameters, median seconds per update over ``--steps`` updates after one
warm-up update, audio seconds per wall second, the cost relative to the baseline, and the
estimated time of the recipe's ``train.steps`` updates.

    . ./path.sh && python bench/pretrain_ssl.py                 # ~2 min on 2 quiet cores
    python bench/pretrain_ssl.py --conv-dims 64 --steps 5 --threads 1
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from sitool.config import load_config  # noqa: E402
from sitool.ssl.pretrain import (SAMPLE_RATE, MaskedPredictor, PretrainConfig,  # noqa: E402
                                 Utterance, build_pretrain_model, crop, frames_for,
                                 make_batches, pretraining_update)

RECIPE_CONFIG = Path(__file__).resolve().parents[1] / "conf" / "pretrain_ssl.yaml"
BASELINE_CONV_DIM = 32     # the WavLM front end the recipe used before w2v-BERT (2026-12-02)


def toy_utterances(seconds: float, num_clusters: int, seed: int = 0) -> list[Utterance]:
    """Noise-like utterances of 2-6 s adding up to ``seconds``, with random frame targets."""
    rng = np.random.default_rng(seed)
    utts, total = [], 0.0
    while total < seconds:
        length = float(rng.uniform(2.0, 6.0))
        wav = (0.1 * rng.standard_normal(int(length * SAMPLE_RATE))).astype(np.float32)
        labels = rng.integers(0, num_clusters, frames_for(len(wav))).astype(np.int64)
        utts.append(Utterance(f"toy{len(utts):04d}", wav, labels))
        total += length
    return utts


def time_updates(config: PretrainConfig, utts: list[Utterance], steps: int) -> dict:
    """Median seconds per update of ``config``'s model over ``steps`` updates (after one)."""
    train = config.train
    predictor = MaskedPredictor(build_pretrain_model(config.model, seed=train.seed),
                                config.clusters.num_clusters)
    optimizer = torch.optim.AdamW(predictor.parameters(), lr=train.lr,
                                  weight_decay=train.weight_decay)
    rng = np.random.default_rng(train.seed)
    pieces = [crop(u, int(train.crop_seconds * SAMPLE_RATE), rng) for u in utts]
    batches = make_batches([len(w) for w, _ in pieces], train.batch_seconds, rng)
    predictor.train()
    times, audio = [], []
    for i in range(steps + 1):
        batch = [pieces[j] for j in batches[i % len(batches)]]
        start = time.perf_counter()
        pretraining_update(predictor, optimizer, batch, config, rng)
        if i:                                   # the first update warms up the allocator
            times.append(time.perf_counter() - start)
            audio.append(sum(len(w) for w, _ in batch) / SAMPLE_RATE)
    step = statistics.median(times)
    return {"params": sum(p.numel() for p in predictor.parameters()), "step_s": step,
            "audio_per_s": statistics.median(a / t for a, t in zip(audio, times)),
            "recipe_minutes": step * train.steps / 60}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default=str(RECIPE_CONFIG))
    parser.add_argument("--conv-dims", default="64,128",
                        help="model.conv_dim of extra WavLM rows ('' for none)")
    parser.add_argument("--seconds", type=float, default=120.0, help="toy audio to crop from")
    parser.add_argument("--steps", type=int, default=10, help="timed updates per row")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    config = load_config(PretrainConfig, args.config)
    wavlm = replace(config.model, arch="wavlm", conv_dim=BASELINE_CONV_DIM)
    rows = [(f"wavlm conv {BASELINE_CONV_DIM} (previous recipe)", wavlm),
            (f"{config.model.arch} (recipe)", config.model)]
    rows += [(f"wavlm conv {d}", replace(wavlm, conv_dim=int(d)))
             for d in args.conv_dims.split(",") if d.strip()]
    utts = toy_utterances(args.seconds, config.clusters.num_clusters)
    print(f"pretraining updates: {args.config}, batch {config.train.batch_seconds:g} s of "
          f"{config.train.crop_seconds:g} s crops, {args.steps} timed updates per row, "
          f"{args.threads} thread(s); median over updates")
    print(f"{'model':>34} {'params':>9} {'s/update':>9} {'audio-s/s':>10} "
          f"{'cost':>6} {'recipe steps':>13}")
    base = None
    for label, model in rows:               # the baseline first: every cost is relative to it
        row = time_updates(replace(config, model=model), utts, args.steps)
        base = base or row
        print(f"{label:>34} {row['params'] / 1e6:>8.2f}M {row['step_s']:>9.3f} "
              f"{row['audio_per_s']:>10.1f} {row['step_s'] / base['step_s']:>5.2f}x "
              f"{row['recipe_minutes']:>11.1f} min")


if __name__ == "__main__":
    main()
