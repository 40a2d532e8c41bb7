#!/usr/bin/env python3
"""Synthetic-corpus benchmark (stage 0): VocalTractLab synthesis throughput.

1. Throughput in seconds of audio per wall second, exactly as ``sitool synth-corpus`` runs
   it (worker processes, chunks of one speaker's utterances, targets, files), for ``--nj 1``
   (the baseline) and ``--nj 2``: median of ``--runs`` runs over the same ``--utts``
   utterances of the default corpus (default length distribution). Also the workers' CPU
   seconds per second of audio, which does not depend on what else the machine runs.
2. The estimated wall time of the default stage 0 (``--num-utts``, 2 workers): the exact
   audio length of that corpus' plan (known without synthesis) / the ``--nj 2`` throughput,
   and x CPU cost / 2 for two idle cores. With ``--full``, the stage is also run and timed
   in a scratch directory.

    python bench/synth_corpus.py                      # ~3 min on 2 quiet cores
    python bench/synth_corpus.py --num-utts 90 --full
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sitool.corpora.synth.corpus import (DEFAULT_SECONDS, make_corpus,  # noqa: E402
                                         synthesize_utterances, utterance_spec)
from sitool.corpora.synth.speakers import SPEAKERS, plan_utterances  # noqa: E402


def plan_specs(num_utts: int, seed: int):
    """The utterances (attempt 0) of the default corpus with ``num_utts`` utterances."""
    position = {s.id: i for i, s in enumerate(SPEAKERS)}
    speaker = {s.id: s for s in SPEAKERS}
    return [utterance_spec(p, speaker[p.speaker], position[p.speaker], seed, 0, DEFAULT_SECONDS)
            for p in plan_utterances(num_utts, SPEAKERS)]


def audio_seconds(spec) -> float:
    return sum(seg.duration for seg in spec.segments)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def throughput(specs, nj: int, runs: int) -> tuple[list[float], list[float]]:
    """Per run: seconds of audio per wall second, and worker CPU seconds per audio second."""
    figures, cpu_costs = [], []
    for run in range(runs):
        with tempfile.TemporaryDirectory(prefix="sitool_bench_synth_") as tmp:
            cpu = children_cpu()
            start = time.perf_counter()
            report = synthesize_utterances(specs, tmp, nj=nj)
            wall = time.perf_counter() - start
            cpu = children_cpu() - cpu
        if report.failed:
            raise SystemExit(f"synthesis failed: {report.failed}")
        figures.append(report.audio_seconds / wall)
        cpu_costs.append(cpu / report.audio_seconds)
        print(f"  nj={nj} run {run + 1}: {report.audio_seconds:.1f} s of audio in {wall:.1f} s "
              f"-> {figures[-1]:.3f} s/s (worker CPU {cpu_costs[-1]:.2f} s per s of audio)",
              flush=True)
    return figures, cpu_costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--utts", type=int, default=4, help="utterances per run")
    parser.add_argument("--runs", type=int, default=3, help="runs per --nj setting")
    parser.add_argument("--num-utts", type=int, default=90, help="default corpus size")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--full", action="store_true", help="also run and time stage 0")
    args = parser.parse_args()

    plan = plan_specs(args.num_utts, args.seed)
    # The bench utterances: the first --utts of one speaker's worth of the plan's length
    # distribution, all for one speaker so a run is as few worker jobs as in the real stage.
    pool = plan_specs(15 * args.utts, args.seed + 1000)
    specs = [s for s in pool if s.speaker.id == SPEAKERS[0].id][:args.utts]
    print(f"bench: {len(specs)} utterances, {sum(map(audio_seconds, specs)):.1f} s of audio "
          f"per run, {args.runs} runs per setting")
    medians, cpu_costs = {}, []
    for nj in (1, 2):
        figures, costs = throughput(specs, nj, args.runs)
        medians[nj] = statistics.median(figures)
        cpu_costs += costs
    cpu_cost = statistics.median(cpu_costs)
    print(f"throughput nj=1 (baseline): {medians[1]:.3f} s of audio per wall second "
          f"({1 / medians[1]:.2f} s of wall time per s of audio)")
    print(f"throughput nj=2:            {medians[2]:.3f} s/s ({medians[2] / medians[1]:.2f}x "
          "the baseline)")
    total = sum(map(audio_seconds, plan))
    print(f"worker CPU per second of audio (median of all runs): {cpu_cost:.2f} s")
    print(f"default stage 0 (--num-utts {args.num_utts}, {total:.0f} s of audio): estimated "
          f"{total / medians[2]:.0f} s with --nj 2, {total / medians[1]:.0f} s with --nj 1 "
          f"at this machine's load; {total * cpu_cost / min(2, os.cpu_count() or 1):.0f} s "
          "with --nj 2 on idle cores (CPU cost / 2)")
    if args.full:
        with tempfile.TemporaryDirectory(prefix="sitool_bench_stage0_") as tmp:
            start = time.perf_counter()
            report = make_corpus(Path(tmp) / "synth", num_utts=args.num_utts, nj=2,
                                 seed=args.seed, progress=False)
            wall = time.perf_counter() - start
        print(f"default stage 0 measured: {report.audio_seconds:.0f} s of audio in {wall:.0f} s "
              f"({report.audio_seconds / wall:.3f} s/s), {len(report.failed)} failed")


if __name__ == "__main__":
    main()
