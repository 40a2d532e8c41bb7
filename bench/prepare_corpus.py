#!/usr/bin/env python3
"""Stage-1 throughput for real corpora (``sitool prepare <corpus>``) on this CPU.

Writes a fixture corpus in a real corpus' on-disk format (``sitool.testing.corpus_formats``:
MOCHA 500 Hz EST, mngu0 200 Hz EST, HPRC and USC-TIMIT .mat, XRMB .txy) and times, per variant:

    read      the reader alone: every utterance loaded (the baseline: file parsing)
    tv        full prepare: gaps, resampling, palate, tract variables, no source features
    tv+src    full prepare with F0 / periodicity / aperiodicity from the audio

Prints the median wall time and CPU time over ``--repeats`` passes and "x RT" (corpus audio
seconds per CPU second: the rate on an otherwise idle core, useful on a shared machine).

    python bench/prepare_corpus.py                         # MOCHA, 40 utterances of 3 s
    python bench/prepare_corpus.py --corpus xrmb --utts 60 --repeats 5
"""

from __future__ import annotations

import argparse
import logging
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from sitool.corpora import hprc, mngu0, mocha, usctimit, xrmb
from sitool.corpora.build import PrepareOptions, prepare_corpus
from sitool.testing import corpus_formats

CORPORA = {
    "mocha": (mocha.READER, lambda root, n, s: corpus_formats.make_mocha_corpus(
        root, utts_per_speaker=n // 2, seconds=s)),
    "mngu0": (mngu0.READER, lambda root, n, s: corpus_formats.make_mngu0_corpus(
        root, utts=n, seconds=s)),
    "hprc": (hprc.READER, lambda root, n, s: corpus_formats.make_hprc_corpus(
        root, utts_per_speaker=n // 3, seconds=s)),
    "xrmb": (xrmb.READER, lambda root, n, s: corpus_formats.make_xrmb_corpus(
        root, utts_per_speaker=n // 3, seconds=s)),
    "usctimit": (usctimit.READER, lambda root, n, s: corpus_formats.make_usctimit_corpus(
        root, utts_per_speaker=n // 3, seconds=s)),
}


def timed(func) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    func()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", choices=sorted(CORPORA), default="mocha")
    parser.add_argument("--utts", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=3.0, help="per utterance")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    reader, make = CORPORA[args.corpus]
    work = Path(tempfile.mkdtemp(prefix="bench_prepare_"))
    try:
        root = make(work / "raw", args.utts, args.seconds)
        refs = reader.find(root)
        audio_s = len(refs) * args.seconds
        variants = {
            "read": lambda: [reader.load(ref) for ref in refs],
            "tv": lambda: prepare_corpus(reader, root, work / "data", options=PrepareOptions(
                source_features=False, overwrite=True)),
            "tv+src": lambda: prepare_corpus(reader, root, work / "data", options=PrepareOptions(
                overwrite=True)),
        }
        print(f"{args.corpus}: {len(refs)} utterances, {audio_s:.0f} s of audio, "
              f"median of {args.repeats}")
        print(f"{'variant':<8} {'wall s':>8} {'cpu s':>8} {'x RT (cpu)':>11}")
        for name, run in variants.items():
            runs = [timed(run) for _ in range(args.repeats)]
            wall = statistics.median(r[0] for r in runs)
            cpu = statistics.median(r[1] for r in runs)
            print(f"{name:<8} {wall:8.2f} {cpu:8.2f} {audio_s / cpu:11.0f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
