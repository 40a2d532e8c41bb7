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
3. With ``--profile``: where a worker's CPU goes, per second of audio, for the bench
   utterances in one process: gestural score -> motor trajectories, ``synth_block``,
   resampling to 16 kHz and the target geometry (one ``tube`` per 10 ms frame).
4. ``--state-steps 1,2``: the workers' CPU per second of audio (``--nj 1``, median of
   ``--runs``) when ``synth_block`` gets every k-th tract state (``synth-corpus
   --state-step``), against k = 1 (the baseline: the ``--nj 1`` runs of 1.) in the same run.

The corpus is the default recipe's (``local/corpus.sh``: ``--speakers 8,2,4,4 --num-utts
108``); ``--speakers 8,1,2,4 --num-utts 90`` is the fixed table of ``sitool synth-corpus``.

    python bench/synth_corpus.py                      # ~3 min on 2 quiet cores
    python bench/synth_corpus.py --profile --runs 1
    python bench/synth_corpus.py --full
"""

from __future__ import annotations

import argparse
import dataclasses
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
from sitool.corpora.synth.speakers import (make_speakers, parse_counts,  # noqa: E402
                                           plan_utterances)


def plan_specs(num_utts: int, seed: int, speakers):
    """The utterances (attempt 0) of the corpus of ``speakers`` with ``num_utts`` utterances."""
    position = {s.id: i for i, s in enumerate(speakers)}
    speaker = {s.id: s for s in speakers}
    return [utterance_spec(p, speaker[p.speaker], position[p.speaker], seed, 0, DEFAULT_SECONDS)
            for p in plan_utterances(num_utts, speakers)]


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


PROFILE_CODE = """
import json, sys, time
import numpy as np
import scipy.signal  # noqa: F401 - imported here, not timed in the first resample
from sitool.audio import SAMPLE_RATE, resample
from sitool.corpora.synth import synthesis, vtl
from sitool.corpora.synth.anatomy import adapt_articulation, tongue_body_blend
from sitool.corpora.synth.phones import Segment
from sitool.corpora.synth.speakers import Speaker
from sitool.corpora.synth.targets import FRAME_RATE
job = json.loads(sys.argv[1])
speaker = Speaker(**job["speaker"])
cost = dict.fromkeys(["motor", "synth_block", "resample", "targets"], 0.0)
def timed(step, fn):
    start = time.process_time()
    out = fn()
    cost[step] += time.process_time() - start
    return out
motors = [timed("motor", lambda: synthesis.motor_trajectories([Segment(*p) for p in segs]))
          for segs in job["utts"]]
anatomy = vtl.set_anatomy(synthesis.speaker_anatomy(speaker))
audio_s = 0.0
for motor in motors:
    tract = vtl.clip_tract(adapt_articulation(motor.tract, vtl.REFERENCE_ANATOMY, anatomy,
                                              tongue_body_blend(speaker.pharynx_scale)))
    glottis = synthesis.drive_glottis(motor, speaker, np.random.default_rng(0))
    audio = timed("synth_block", lambda: vtl.synthesize(tract, glottis))
    audio16 = timed("resample", lambda: resample(audio.astype(np.float32), vtl.AUDIO_RATE,
                                                   SAMPLE_RATE))
    frames = len(audio16) * int(FRAME_RATE) // SAMPLE_RATE
    timed("targets", lambda: synthesis.measure_targets(tract, glottis, frames))
    audio_s += len(audio16) / SAMPLE_RATE
print(json.dumps({k: v / audio_s for k, v in cost.items()}), flush=True)
import os
os._exit(0)   # VocalTractLab segfaults at a normal exit after an anatomy change
"""


def profile(specs) -> None:
    """CPU seconds per second of audio of each synthesis step, in one worker-like process."""
    import json
    import subprocess

    job = {"speaker": specs[0].speaker.row(),
           "utts": [[[seg.phone, seg.duration] for seg in spec.segments] for spec in specs]}
    out = subprocess.run([sys.executable, "-c", PROFILE_CODE, json.dumps(job)], check=True,
                         capture_output=True, text=True).stdout
    cost = json.loads(out.splitlines()[-1])
    total = sum(cost.values())
    print("worker CPU per second of audio, by step: " + ", ".join(
        f"{k} {v:.2f} s ({100 * v / total:.0f} %)" for k, v in cost.items())
        + f"; total {total:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--utts", type=int, default=4, help="utterances per run")
    parser.add_argument("--runs", type=int, default=3, help="runs per --nj setting")
    parser.add_argument("--num-utts", type=int, default=108, help="default corpus size")
    parser.add_argument("--speakers", default="8,2,4,4",
                        help="speakers per split (the default recipe's; 8,1,2,4: fixed table)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--full", action="store_true", help="also run and time stage 0")
    parser.add_argument("--profile", action="store_true", help="CPU cost of each step")
    parser.add_argument("--state-steps", default="1",
                        help="also measure these synth-corpus --state-step values (e.g. 1,2)")
    args = parser.parse_args()

    speakers = make_speakers(parse_counts(args.speakers))
    plan = plan_specs(args.num_utts, args.seed, speakers)
    # The bench utterances: the first --utts of one speaker's worth of the plan's length
    # distribution, all for one speaker so a run is as few worker jobs as in the real stage.
    pool = plan_specs(len(speakers) * args.utts, args.seed + 1000, speakers)
    specs = [s for s in pool if s.speaker.id == speakers[0].id][:args.utts]
    print(f"bench: {len(specs)} utterances, {sum(map(audio_seconds, specs)):.1f} s of audio "
          f"per run, {args.runs} runs per setting")
    if args.profile:
        profile(specs)
    medians, costs_by_nj = {}, {}
    for nj in (1, 2):
        figures, costs_by_nj[nj] = throughput(specs, nj, args.runs)
        medians[nj] = statistics.median(figures)
    cpu_costs = costs_by_nj[1] + costs_by_nj[2]
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
    steps = [int(k) for k in args.state_steps.split(",")]
    if steps != [1]:
        cost = {1: statistics.median(costs_by_nj[1])}   # the nj=1 runs above: the baseline
        for k in sorted(set(steps) - {1}):
            stepped = [dataclasses.replace(spec, state_step=k) for spec in specs]
            print(f"state step {k}:")
            cost[k] = statistics.median(throughput(stepped, 1, args.runs)[1])
        print("worker CPU per second of audio by --state-step (nj=1): " + ", ".join(
            f"{k}: {c:.2f} s" + (" (baseline)" if k == 1 else f" ({c / cost[1]:.2f}x)")
            for k, c in cost.items()))
    if args.full:
        with tempfile.TemporaryDirectory(prefix="sitool_bench_stage0_") as tmp:
            start = time.perf_counter()
            report = make_corpus(Path(tmp) / "synth", num_utts=args.num_utts, nj=2,
                                 seed=args.seed, speakers=speakers, progress=False)
            wall = time.perf_counter() - start
        print(f"default stage 0 measured: {report.audio_seconds:.0f} s of audio in {wall:.0f} s "
              f"({report.audio_seconds / wall:.3f} s/s), {len(report.failed)} failed")


if __name__ == "__main__":
    main()
