#!/usr/bin/env python3
"""GPU benchmark (runs on whatever device is present): SSL cache throughput and joint training
throughput and peak memory for WavLM-Base- and WavLM-Large-sized encoders.

Encoders have the published models' dimensions with random weights (``sitool.ssl.sizes``; no
download needed; speed and memory depend on the dimensions only). Rows:

    cache   extract_hidden_states of every layer (what ``cache-ssl`` runs) over --cache-seconds
            of toy audio in 10 s utterances, fp32 and bf16 (CPU: weights pre-cast, the
            ``--precision bf16`` fast path): x real time
    train   joint model (conf/gpu_large heads), transformer fine-tuned (freeze: cnn), one
            batch of conf/gpu_large's size (100 s: 8 x 12.5 s utterances), with and without
            model.ssl.gradient_checkpointing, at precision auto (bf16 on GPUs with bf16,
            else fp32): audio seconds per second over --steps steps after one warm-up step

Peak memory: CUDA ``max_memory_allocated``; on CPU the process's max RSS (each row runs in a
fresh process unless --in-process). One table on stdout.

    python bench/gpu.py                   # full sizes (a GPU: ~5 min on one H100-class card)
    python bench/gpu.py --small           # tiny stand-ins and short audio: CPU, seconds
    python bench/gpu.py --device cuda:1 --steps 5
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

LARGE_HEADS = {"si": {"gru_units": [256, 128], "dropout": 0.1},
               "se": {"proj_dim": 256, "lstm_units": 256, "lstm_layers": 2, "dropout": 0.1}}


def _plan(small: bool, steps: int, cache_seconds: float) -> list[dict]:
    sizes = ("base-small", "large-small") if small else ("base", "large")
    cases = []
    for size in sizes:
        for precision in ("fp32", "bf16"):
            cases.append({"kind": "cache", "size": size, "precision": precision,
                          "seconds": 4.0 if small else cache_seconds})
    for size in sizes:
        for checkpointing in (False, True):
            cases.append({"kind": "train", "size": size, "precision": "auto",
                          "checkpointing": checkpointing, "steps": 1 if small else steps,
                          "utts": [1.0, 0.8] if small else [12.5] * 8})
    return cases


def _peak_gb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 1e9
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6   # kB -> GB (Linux)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run_case(case: dict, device: torch.device) -> dict:
    from sitool.precision import allow_tf32, resolve_precision
    from sitool.ssl.sizes import random_wavlm

    allow_tf32(device)
    precision = resolve_precision(case["precision"], device, training=case["kind"] == "train")
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    if case["kind"] == "cache":
        from sitool.ssl.extract import (batch_by_length, cast_weights_for_autocast,
                                        default_batch_seconds, extract_hidden_states)
        from sitool.testing.data_dirs import toy_utterance

        encoder = random_wavlm(case["size"]).to(device)
        rng = np.random.default_rng(0)
        per = min(10.0, case["seconds"])
        wavs = [toy_utterance(rng, per)[0] for _ in range(max(1, round(case["seconds"] / per)))]
        autocast_name = None if precision == "fp32" else precision
        if autocast_name and device.type == "cpu":
            cast_weights_for_autocast(encoder, autocast_name)
        batches = batch_by_length([len(w) for w in wavs], default_batch_seconds(device))
        extract_hidden_states(encoder, wavs[:1], None, autocast_name)      # warm-up
        _sync(device)
        start = time.perf_counter()
        for batch in batches:
            extract_hidden_states(encoder, [wavs[i] for i in batch], None, autocast_name)
        _sync(device)
        wall = time.perf_counter() - start
        audio = sum(len(w) for w in wavs) / 16000
        return {**case, "precision": precision, "rate": audio / wall, "unit": "x RT",
                "peak_gb": _peak_gb(device), "wall": wall}
    from sitool.testing.joint_training import (joint_model_around, joint_train_steps,
                                               synthetic_joint_batch)
    from sitool.testing.training_setup import TINY_HEADS

    small = case["size"].endswith("small")
    encoder = random_wavlm(case["size"])
    model = joint_model_around(encoder, gradient_checkpointing=case["checkpointing"],
                               heads=TINY_HEADS if small else LARGE_HEADS)
    batch = synthetic_joint_batch(case["utts"]).to(device)
    joint_train_steps(model, [batch], precision, str(device))              # warm-up step
    _sync(device)
    start = time.perf_counter()
    joint_train_steps(model, [batch] * case["steps"], precision, str(device))
    _sync(device)
    wall = time.perf_counter() - start
    return {**case, "precision": precision, "rate": sum(case["utts"]) * case["steps"] / wall,
            "unit": "audio s/s", "peak_gb": _peak_gb(device), "wall": wall}


def _describe(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (torch {torch.__version__})"
    return f"CPU, {torch.get_num_threads()} thread(s) (torch {torch.__version__})"


def format_table(rows: list[dict], device: torch.device, small: bool) -> str:
    lines = [f"# bench/gpu.py{' --small' if small else ''} on {_describe(device)}, "
             f"{time.strftime('%Y-%m-%d')}",
             f"{'what':<10} {'encoder':<12} {'precision':<9} {'grad ckpt':<9} "
             f"{'throughput':>16} {'peak GB':>8} {'wall s':>7}"]
    for r in rows:
        ckpt = "-" if r["kind"] == "cache" else ("on" if r["checkpointing"] else "off")
        what = r["kind"] + ("" if r["kind"] == "cache" else f" {sum(r['utts']):g}s")
        lines.append(f"{what:<10} {r['size']:<12} {r['precision']:<9} {ckpt:<9} "
                     f"{r['rate']:>9.2f} {r['unit']:<6} {r['peak_gb']:>8.2f} {r['wall']:>7.1f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", action="store_true", help="tiny stand-ins, CPU-sized")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--steps", type=int, default=3, help="measured training steps")
    parser.add_argument("--cache-seconds", type=float, default=120.0)
    parser.add_argument("--in-process", action="store_true",
                        help="run every row in this process (CPU peak memory is then cumulative)")
    parser.add_argument("--case", help=argparse.SUPPRESS)   # one row, in a worker process
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if args.case:
        print(json.dumps(run_case(json.loads(args.case), device)))
        return 0
    rows = []
    for case in _plan(args.small, args.steps, args.cache_seconds):
        if args.in_process:
            rows.append(run_case(case, device))
            continue
        done = subprocess.run([sys.executable, __file__, "--device", args.device, "--case",
                               json.dumps(case)], capture_output=True, text=True)
        if done.returncode != 0:
            sys.stderr.write(done.stderr[-2000:])
            raise SystemExit(f"bench/gpu.py: case {case} failed")
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(format_table(rows, device, args.small))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
