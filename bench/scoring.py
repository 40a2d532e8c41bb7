#!/usr/bin/env python3
"""Scoring benchmarks (stage 6). Prints medians of --repeats passes.

1. SI scoring of a decode dir (``scores.tsv``: PPMC + RMSE per utterance x target), in
   utterances/s: fresh scoring vs the cached path (fingerprint check only), the baseline a
   re-run pays.
2. SE metrics per second of audio (ms): PESQ wide-band, STOI, SI-SDR.
3. Aggregation + printout for a recipe-sized score table (--models x --utts noisy utterances
   x 9 targets), the cost of every ``sitool score --snr ... --noise ...`` query.
4. With --pool: SE scoring of a decode dir with --nj 1 vs --nj 2 (local worker processes).
5. With --shards: run.sh stage 6's shard jobs, ``sitool score --nj 2 --job J`` for J = 1, 2
   side by side, with the libraries' default threads (the baseline: what stage 6 ran until
   it passed ``--num-threads 1``) and with ``--num-threads 1``; wall seconds per utterance.

    python bench/scoring.py                  # toy data built on the fly in a temp dir
    python bench/scoring.py --pool --utts 3000
"""

from __future__ import annotations

import argparse
import math
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def _median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def build(root: Path, num_utts: int):
    from sitool.datadir import DataDir
    from sitool.scoring.decodes import DecodeDir
    from sitool.testing.data_dirs import make_tv_data_dir
    from sitool.testing.decode_dirs import with_correlation, write_decode_dir
    from sitool.testing.noisy_dirs import make_noise_file, make_noisy_data_dir

    clean = make_tv_data_dir(root / "data" / "test", num_utts=num_utts, constant_voicing=())
    white = make_noise_file(root / "noise" / "white.wav", 4.0, seed=1)
    noisy = make_noisy_data_dir(root / "data" / "test_noisy", clean,
                                [("white", "non-babble", white)], [0, -5])
    rng = np.random.default_rng(0)

    def predict(utt, ref):
        return np.stack([with_correlation(ref[:, j], 0.7, rng) for j in range(ref.shape[1])], 1)

    out = write_decode_dir(root / "exp" / "m", noisy, predict, model="joint",
                           enhance=lambda utt, audio: audio)
    return DecodeDir(out), DataDir(noisy)


def bench_si(decode, repeats: int) -> None:
    from sitool.scoring import utt_scores

    n = len(decode.tv_scp)
    fresh = _median_time(lambda: utt_scores.score_si(decode, overwrite=True), repeats)
    cached = _median_time(lambda: utt_scores.score_si(decode), repeats)
    print(f"SI scoring, {n} utts x 9 targets: fresh {n / fresh:8.1f} utt/s "
          f"({1000 * fresh / n:.2f} ms/utt); cached re-run {n / cached:8.1f} utt/s "
          f"(x{fresh / cached:.1f} faster)")


def bench_se_metrics(data, repeats: int) -> None:
    from sitool.mixture import materialise_components
    from sitool.scoring import metrics

    utt = data.utts[0]
    noisy = data.audio(utt)
    row = data.mix[utt]
    clean = materialise_components(row)[0]
    seconds = len(clean) / 16000
    for name, fn in [("PESQ wb", metrics.pesq_wb), ("STOI", metrics.stoi),
                     ("SI-SDR", metrics.si_sdr)]:
        t = _median_time(lambda: fn(noisy, clean), repeats)
        print(f"{name:8s}: {1000 * t / seconds:7.2f} ms per second of audio")


def bench_aggregate(num_models: int, num_utts: int, repeats: int) -> None:
    from sitool.scoring import aggregate, tables

    rng = np.random.default_rng(0)
    targets = ["LA", "LP", "TTCL", "TTCD", "TBCL", "TBCD", "VEL", "F0", "voicing"]
    types = [("babble", f"babble{k}") for k in range(3, 7)] + \
            [("non-babble", t) for t in ("white", "pink", "brown", "hum")]
    snrs = [20.0, 10.0, 5.0, 0.0, -5.0]
    rows = []
    utt_conds = [(types[i % len(types)], snrs[(i // len(types)) % len(snrs)]) for i in range(num_utts)]
    for m in range(num_models):
        for i, ((cat, typ), snr) in enumerate(utt_conds):
            rows.append((f"model{m}", f"model{m}", "test_noisy", f"u{i}", cat, typ, snr))
    base = pd.DataFrame(rows, columns=["model", "exp", "set", "utt", "category", "noise_type", "snr_db"])
    si = base.loc[base.index.repeat(len(targets))].reset_index(drop=True)
    si["target"] = targets * len(base)
    si["unit"] = "mm"
    si["ppmc"] = rng.uniform(0.2, 0.9, len(si))
    si["status"] = "ok"
    si["rmse"] = rng.uniform(0.5, 2, len(si))
    models = [f"model{m}" for m in range(num_models)]

    def run():
        filtered = aggregate.pool_types(aggregate.apply_filters(
            si, aggregate.Filters(snrs=(-5.0,), noises=("babble",))), False)
        summary = aggregate.summarise(filtered, aggregate.KEYS, models)
        tables.print_summary(summary, ["model0"])

    def run_all():
        summary = aggregate.summarise(aggregate.pool_types(si, False), aggregate.KEYS, models)
        tables.print_summary(summary, ["model0"])

    t_query = _median_time(run, repeats)
    t_all = _median_time(run_all, repeats)
    print(f"aggregate + print, {len(si)} rows ({num_models} models x {num_utts} utts x 9 targets): "
          f"--snr -5 --noise babble {1000 * t_query:.0f} ms; all conditions {1000 * t_all:.0f} ms")


def bench_paired(num_models: int, num_utts: int, repeats: int) -> None:
    """Paired comparisons (10,000-resample cluster bootstrap) of every model vs one baseline:
    ``num_utts`` mixtures of num_utts / 40 clean sentences (8 noise types x 5 SNRs) per model,
    and a clean set of ``num_utts`` sentences (one cluster each, the largest resample)."""
    from sitool.scoring import aggregate, paired

    rng = np.random.default_rng(0)
    types = [("babble", f"babble{k}") for k in range(3, 7)] + \
            [("non-babble", t) for t in ("white", "pink", "brown", "hum")]
    snrs = [20.0, 10.0, 5.0, 0.0, -5.0]
    n_clean = max(1, num_utts // 40)
    rows = []
    for m in range(num_models):
        for i in range(num_utts):
            (cat, typ), snr = types[i % 8], snrs[(i // 8) % 5]
            rows.append((f"model{m}", f"model{m}", "test_noisy", f"u{i}", f"c{i // 40 % n_clean}",
                         cat, typ, snr))
            rows.append((f"model{m}", f"model{m}", "test", f"c{i}", f"c{i}", "clean", "clean",
                         math.inf))
    base = pd.DataFrame(rows, columns=["model", "exp", "set", "utt", "clean_utt", "category",
                                       "noise_type", "snr_db"])
    si = base.loc[base.index.repeat(6)].reset_index(drop=True)
    si["target"] = aggregate.TVS * len(base)
    si["ppmc"] = rng.uniform(0.2, 0.9, len(si))
    models = [f"model{m}" for m in range(num_models)]
    pooled = aggregate.pool_types(si, False)

    def run():
        paired.paired_comparisons(pooled, models, ["model0"], aggregate.KEYS, aggregate.TVS)

    t = _median_time(run, repeats)
    print(f"paired comparisons, {len(si)} rows ({num_models - 1} comparisons x 11 cells, "
          f"{paired.N_BOOT} resamples; clean cell {num_utts} clusters): {t:.2f} s")


def bench_pool(decode) -> None:
    from sitool.scoring import utt_scores

    n = len(decode.enhanced_scp)
    t1 = _median_time(lambda: utt_scores.score_se(decode, overwrite=True, nj=1), 1)
    t2 = _median_time(lambda: utt_scores.score_se(decode, overwrite=True, nj=2), 1)
    print(f"SE scoring (enhanced + noisy input), {n} utts: nj=1 {t1:.1f} s, nj=2 {t2:.1f} s "
          f"(x{t1 / t2:.2f})")


def bench_shards(decode, repeats: int) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items()
           if k not in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    n = len(decode.enhanced_scp)

    def run_jobs(threads: int) -> None:
        jobs = [subprocess.Popen([sys.executable, "-m", "sitool", "score", "--exp",
                                  str(decode.exp_dir), "--nj", "2", "--job", str(job),
                                  "--num-threads", str(threads), "--overwrite", "--no-plots"],
                                 env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                for job in (1, 2)]
        if any(job.wait() for job in jobs):
            raise SystemExit("bench_shards: a sitool score job failed")

    default = _median_time(lambda: run_jobs(0), repeats)
    one = _median_time(lambda: run_jobs(1), repeats)
    print(f"stage 6 shard jobs (2 side by side), {n} noisy utts, SE + SI scoring: "
          f"default threads {1000 * default / n:.0f} ms/utt (baseline), --num-threads 1 "
          f"{1000 * one / n:.0f} ms/utt (x{default / one:.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--utts", type=int, default=20, help="clean test utterances (x2 SNRs)")
    parser.add_argument("--models", type=int, default=5)
    parser.add_argument("--agg-utts", type=int, default=6000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--pool", action="store_true")
    parser.add_argument("--shards", action="store_true")
    args = parser.parse_args()
    import logging

    logging.basicConfig(level=logging.WARNING)
    root = Path(tempfile.mkdtemp(prefix="bench_scoring."))
    try:
        decode, data = build(root, args.utts)
        bench_si(decode, args.repeats)
        bench_se_metrics(data, args.repeats)
        bench_aggregate(args.models, args.agg_utts, max(1, args.repeats // 2))
        bench_paired(args.models, args.agg_utts, 1)
        if args.pool:
            bench_pool(decode)
        if args.shards:
            bench_shards(decode, max(1, args.repeats // 2))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
