#!/usr/bin/env python3
"""Mixing benchmarks (stage 2).

1. Materialisation throughput of ``sitool.mixture.materialise`` over every row of a
   noisy set, in x real time (seconds of audio made per second), median of --repeats passes:
   with the in-process LRU audio cache (warm) vs the baseline of reloading every file from
   disk for every row (cache cleared before each row).
2. With --stage2: wall time of the default recipe's stage-2 commands (synth-noise,
   prepare-noise synth, mix x3, exactly as run.sh runs them) on the real data dirs, written
   to a scratch directory so the recipe's own outputs are untouched.

    python bench/mixing.py                               # toy noisy set built on the fly
    python bench/mixing.py --noisy data/test_noisy       # an existing noisy set
    python bench/mixing.py --noisy data/test_noisy --stage2 --data data
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sitool import mixture
from sitool.audio import SAMPLE_RATE
from sitool.datadir import DataDir


def toy_noisy_set(root: Path) -> Path:
    """20 toy test utterances x 8 noise types x 5 SNRs, like the default test grid."""
    from sitool.noise.noisy_sets import mix_data_dir
    from sitool.noise.readers import read_synth
    from sitool.noise.sources import prepare_noise_dirs
    from sitool.noise.synth import synth_noise
    from sitool.testing.data_dirs import make_toy_data_dir

    test = make_toy_data_dir(root / "data/test", num_utts=20, num_speakers=4, seed=1,
                             seconds=(1.5, 3.0), prefix="te")
    talkers = make_toy_data_dir(root / "data/babble_talkers", num_utts=12, num_speakers=4,
                                seed=2, prefix="bb")
    noise = synth_noise(root / "noise", seed=1, babble_talkers=talkers)
    dirs = prepare_noise_dirs(lambda: read_synth(noise), root / "data", seed=1)
    return mix_data_dir(test, dirs["test"], root / "data/test_noisy", seed=1,
                        snrs=[-5, 0, 5, 10, 20], progress=False)


def one_pass(rows: list[mixture.MixRow], uncached: bool) -> float:
    start = time.perf_counter()
    for row in rows:
        if uncached:
            mixture.AUDIO_CACHE.clear()
        mixture.materialise(row)
    return time.perf_counter() - start


def throughput(noisy: Path, repeats: int) -> None:
    rows = list(DataDir(noisy).mix.values())
    audio_s = sum(mixture.load_clean(r.clean_path).size for r in rows) / SAMPLE_RATE
    one_pass(rows, uncached=False)  # warm the cache
    cached = [audio_s / one_pass(rows, uncached=False) for _ in range(repeats)]
    uncached = [audio_s / one_pass(rows, uncached=True) for _ in range(repeats)]
    print(f"noisy set: {noisy} ({len(rows)} rows, {audio_s:.1f} s of audio)")
    print(f"materialise, LRU cache (warm): median {statistics.median(cached):9.0f} x real time")
    print(f"materialise, uncached baseline: median {statistics.median(uncached):9.0f} x real time")
    print(f"speed-up from caching: {statistics.median(cached) / statistics.median(uncached):.1f}x")


def stage2(data: Path, scratch: Path) -> None:
    """Time the run.sh stage-2 commands into ``scratch`` (inputs: data/{train,dev,test,babble_talkers})."""
    d = scratch / "data"
    d.mkdir(parents=True, exist_ok=True)
    for name in ("train", "dev", "test", "babble_talkers"):
        (d / name).symlink_to((data / name).resolve())
    commands = {
        "synth-noise": f"sitool synth-noise --out {scratch}/noise --seed 1 "
                       f"--babble-talkers {d}/babble_talkers",
        "prepare-noise synth": f"sitool prepare-noise synth {scratch}/noise --out {d} --seed 1",
        "mix train_multi": f"sitool mix {d}/train {d}/noise_train {d}/train_multi --per-utt 2 "
                           "--snr-range -5,20 --seed 1",
        "mix dev_multi": f"sitool mix {d}/dev {d}/noise_dev {d}/dev_multi --per-utt 2 "
                         "--snr-range -5,20 --seed 1",
        "mix test_noisy": f"sitool mix {d}/test {d}/noise_test {d}/test_noisy "
                          "--snrs -5,0,5,10,20 --num-utts 20 --seed 1",
    }
    total = 0.0
    for label, command in commands.items():
        start = time.perf_counter()
        subprocess.run(shlex.split(command), check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        elapsed = time.perf_counter() - start
        total += elapsed
        print(f"{elapsed:7.1f} s  {label}")
    print(f"{total:7.1f} s  stage 2 total")
    for name in ("train_multi", "dev_multi", "test_noisy"):
        print(f"          {name}: {len(DataDir(d / name).utts)} mixtures")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--noisy", type=Path, help="noisy data dir (default: a toy grid)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--stage2", action="store_true", help="also time the stage-2 commands")
    parser.add_argument("--data", type=Path, default=Path("data"), help="for --stage2")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_mixing.") as tmp:
        noisy = args.noisy or toy_noisy_set(Path(tmp))
        throughput(noisy, args.repeats)
        if args.stage2:
            stage2(args.data, Path(tmp) / "stage2")


if __name__ == "__main__":
    sys.exit(main())
