#!/usr/bin/env python
"""Training throughput (utterance-seconds of audio per wall-clock second) on this machine.

Three set-ups, each built from its recipe config (heads, batch size, learning rates):

* ``si (cache)``       conf/train_si_clean.yaml: frozen SSL, hidden states read from the cache
* ``si (on the fly)``  the same model with the frozen SSL run on the audio (baseline for the cache)
* ``joint``            conf/train_joint.yaml: SSL fine-tuned (freeze: cnn) + SI + SE heads,
                        mixtures materialised from mix.tsv

Each set-up runs full training steps (data loading, forward, backward, AdamW) over the same
bucketed batches; the figure is the median over steps of audio seconds / step seconds. Then a
torch.profiler summary of a few steps says where the time goes.

    . ./path.sh && python bench/train_throughput.py                  # default recipe data
    python bench/train_throughput.py --root /path/to/recipe_dir     # data/, exp/, dump/ there
    python bench/train_throughput.py --toy                          # self-made toy data

Without the recipe's data (data/train, data/train_multi, exp/ssl_tiny, dump/ssl/ssl_tiny) or
with ``--toy`` it builds a toy set and a random SSL model of the recipe's size in
/tmp/sitool_bench_train/.

``--real-rates`` measures instead ``joint`` (train + train_multi, as conf/train_joint.yaml)
on a corpus recorded at ``--input-rate`` (48 kHz) with noise at ``--noise-rate`` (22.05 kHz),
long utterances (``--utt-seconds``), in three layouts of the same audio:

* ``16 kHz``   corpus and noise stored at 16 kHz (the reference);
* ``before``   as the old prepare / prepare-noise left a real corpus: wav.scp pointing at the
               48 kHz files, noise dirs at the 22.05 kHz files (resampled on every read);
* ``after``    as ``sitool prepare`` / ``prepare-noise`` write it now (16 kHz copies).

Each repeat is one pass over the training batches with the in-process audio cache emptied
first (as a training process or DataLoader worker starts), rate = audio seconds / seconds of
the pass; the median over ``--repeats`` (layouts interleaved) is printed.

    python bench/train_throughput.py --real-rates                    # ~2 min on 2 cores
    python bench/train_throughput.py --real-rates --input-rate 44100 --noise-rate 20000
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sitool.config import from_dict, to_dict  # noqa: E402
from sitool.datadir import DataDir  # noqa: E402
from sitool.models.model import build_model  # noqa: E402
from sitool.training.batching import make_batches  # noqa: E402
from sitool.training.config import TrainConfig, load_train_config  # noqa: E402
from sitool.training.data import collate  # noqa: E402
from sitool.training.trainer import make_dataset, make_optimizer, target_info  # noqa: E402
from sitool.training.normalisation import fit_normaliser  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def toy_recipe(root: Path) -> dict:
    """Toy clean + noisy sets, a recipe-size random WavLM and its cache."""
    from sitool.ssl.cache_writer import cache_ssl
    from sitool.testing.data_dirs import make_toy_data_dir
    from sitool.testing.noisy_dirs import make_noisy_copy
    from sitool.testing.ssl_model import make_tiny_ssl_model

    ssl = root / "ssl_tiny"
    if not (ssl / "config.json").is_file():
        make_tiny_ssl_model(ssl, hidden=192, layers=4, conv_dim=64)
    train = root / "data" / "train"
    if not train.is_dir():
        make_toy_data_dir(train, num_utts=24, num_speakers=4, seconds=(1.0, 3.0), prefix="b")
    multi = root / "data" / "train_multi"
    if not multi.is_dir():
        make_noisy_copy(train, multi, snrs=(-5.0, 0.0, 5.0, 10.0, 20.0))
    cache = root / "dump"
    cache_ssl(str(ssl), train, cache / "train", progress=False)
    return {"ssl": str(ssl), "train": str(train), "multi": str(multi), "cache": str(cache)}


def recipe_paths(root: Path) -> dict | None:
    """The default recipe's outputs under ``root`` (None if a stage has not run there)."""
    paths = {"ssl": "exp/ssl_tiny", "train": "data/train", "multi": "data/train_multi",
             "cache": "dump/ssl/ssl_tiny"}
    needed = [root / paths["ssl"] / "config.json", root / paths["train"] / "utt2spk",
              root / paths["multi"] / "utt2spk", root / paths["cache"] / "train" / "meta.yaml"]
    return {k: str(root / v) for k, v in paths.items()} if all(p.exists() for p in needed) else None


def setups(paths: dict) -> dict[str, TrainConfig]:
    si = load_train_config(REPO / "conf" / "train_si_clean.yaml")
    joint = load_train_config(REPO / "conf" / "train_joint.yaml")
    out = {}
    for name, base, sets, cache in (("si (cache)", si, [paths["train"]], paths["cache"]),
                                    ("si (on the fly)", si, [paths["train"]], None),
                                    ("joint", joint, [paths["multi"]], None)):
        data = to_dict(base)
        data["model"]["ssl"].update(model=paths["ssl"], cache=cache)
        data["data"].update(train_sets=sets, dev_sets=sets)
        out[name] = from_dict(TrainConfig, data, name)
    return out


def build(cfg: TrainConfig):
    sets = [DataDir(d) for d in cfg.data.train_sets]
    info, columns = target_info(sets, None)
    normaliser = fit_normaliser(sets, info, columns)
    model = build_model(cfg.model, len(columns), info.frame_rate, load_ssl=not cfg.model.uses_cache)
    dataset = make_dataset(cfg, cfg.data.train_sets, model, normaliser, columns, True)
    batches = make_batches(dataset.durations, cfg.data.batch_seconds, cfg.data.max_batch_utts)
    return model, dataset, batches, make_optimizer(model, cfg)


def step(model, optimizer, dataset, indices, cfg) -> tuple[float, float, float]:
    """One training step; returns (audio seconds, load seconds, compute seconds)."""
    start = time.perf_counter()
    batch = collate([dataset[i] for i in indices])
    loaded = time.perf_counter()
    loss, _ = model.loss(model(batch), batch)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad],
                                   cfg.optim.grad_clip)
    optimizer.step()
    done = time.perf_counter()
    seconds = sum(dataset.durations[i] for i in indices)
    return seconds, loaded - start, done - loaded


def measure(name: str, cfg: TrainConfig, steps: int, profile: bool) -> dict:
    torch.manual_seed(0)
    model, dataset, batches, optimizer = build(cfg)
    model.train()
    order = batches * (1 + (steps + 1) // max(1, len(batches)))
    step(model, optimizer, dataset, order[0], cfg)                 # warm-up
    rates, load_share = [], []
    for indices in order[1:steps + 1]:
        seconds, load, compute = step(model, optimizer, dataset, indices, cfg)
        rates.append(seconds / (load + compute))
        load_share.append(load / (load + compute))
    result = {"name": name, "rate": statistics.median(rates), "steps": len(rates),
              "load_share": statistics.median(load_share),
              "batch_seconds": statistics.median(sum(dataset.durations[i] for i in b)
                                                 for b in batches)}
    if profile:
        from torch.profiler import ProfilerActivity, profile as torch_profile

        with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
            for indices in order[1:4]:
                step(model, optimizer, dataset, indices, cfg)
        result["profile"] = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12)
    return result


def _write_layout(out: Path, like: DataDir, wav_scp: dict[str, str]) -> Path:
    from sitool.datadir import write_data_dir

    return write_data_dir(out, utt2spk=like.utt2spk, utt2dur=like.utt2dur, wav_scp=wav_scp,
                          tv_scp=like.tv_scp, targets=like.targets)


def real_rate_layouts(root: Path, input_rate: int, noise_rate: int,
                      seconds: float) -> dict[str, dict]:
    """The three layouts of ``--real-rates`` (module docstring) under ``root``."""
    import numpy as np
    import soundfile as sf

    from sitool.audio import SAMPLE_RATE, resample
    from sitool.corpora import generic
    from sitool.corpora.build import PrepareOptions, prepare_corpus
    from sitool.noise.noisy_sets import mix_data_dir
    from sitool.noise.sources import (NoiseFile, noise_dir_paths, prepare_noise_dirs,
                                      split_noise_files, write_noise_dir)
    from sitool.testing.corpus_formats import make_generic_corpus

    if root.exists():
        import shutil

        shutil.rmtree(root)
    corpus = make_generic_corpus(root / "corpus", speakers=[f"s{i}" for i in range(1, 7)],
                                 utts_per_speaker=3, seconds=seconds)
    originals = {}
    for wav in sorted((corpus / "wav").glob("*.wav")):    # keep the 16 kHz audio, store 48 kHz
        audio, rate = sf.read(wav, dtype="float32")
        originals[wav.stem] = root / "corpus16k" / wav.name
        originals[wav.stem].parent.mkdir(parents=True, exist_ok=True)
        sf.write(originals[wav.stem], audio, rate, subtype="PCM_16")
        sf.write(wav, resample(audio, rate, input_rate), input_rate, subtype="PCM_24")
    rng = np.random.default_rng(0)
    noise16, noise_in = [], []
    for i, colour in enumerate(("white", "pink", "brown", "hum", "fan", "engine")):
        signal = rng.standard_normal(30 * SAMPLE_RATE)
        if colour != "white":
            signal = np.cumsum(signal) * 0.02 if colour == "brown" else np.convolve(
                signal, np.ones(4 + i) / (4 + i), mode="same")
        signal = (0.1 * signal / np.std(signal)).astype(np.float32)
        for rate, files in ((SAMPLE_RATE, noise16), (noise_rate, noise_in)):
            path = root / f"noise{rate}" / f"{colour}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, resample(signal, SAMPLE_RATE, rate), rate, subtype="PCM_16")
            files.append(NoiseFile(colour, str(path.resolve()), "mixed", "non-babble"))
    layouts = {}
    for name in ("16 kHz", "before", "after"):
        data = root / name.replace(" ", "")
        options = PrepareOptions(targets="columns", source_features=False)
        prepare_corpus(generic.make_reader(corpus), corpus, data, options=options)
        train = DataDir(data / "train")
        if name == "after":                                # what sitool prepare writes now
            noise = prepare_noise_dirs(lambda: noise_in, data, seed=1)["train"]
        else:                                              # wav.scp at the stored files
            stored = {u: str(originals[u]) if name == "16 kHz" else
                      str((corpus / "wav" / f"{u}.wav").resolve()) for u in train.utts}
            train = DataDir(_write_layout(data / "train_stored", train, stored))
            files = noise16 if name == "16 kHz" else noise_in
            split = split_noise_files(files, seed=1, progress=False)
            noise = noise_dir_paths(data)["train"]
            write_noise_dir(noise, split["train"])       # the old prepare-noise: no copies
        multi = mix_data_dir(train.path, noise, data / "train_multi", seed=1, per_utt=1,
                             progress=False)
        layouts[name] = {"train": str(train.path), "multi": str(multi)}
    return layouts


def joint_config(paths: dict, ssl: str) -> TrainConfig:
    data = to_dict(load_train_config(REPO / "conf" / "train_joint.yaml"))
    data["model"]["ssl"].update(model=ssl, cache=None)
    sets = [paths["train"], paths["multi"]]
    data["data"].update(train_sets=sets, dev_sets=sets)
    return from_dict(TrainConfig, data, "joint")


def measure_real_rates(args) -> None:
    from sitool import mixture
    from sitool.audio import RESAMPLE_LOG
    from sitool.log import quiet_progress_bars
    from sitool.testing.ssl_model import make_tiny_ssl_model

    quiet_progress_bars()

    root = Path("/tmp/sitool_bench_train")
    ssl = root / "ssl_tiny"
    if not (ssl / "config.json").is_file():
        make_tiny_ssl_model(ssl, hidden=192, layers=4, conv_dim=64)
    start = time.perf_counter()
    layouts = real_rate_layouts(root / f"rates_{args.input_rate}_{args.noise_rate}",
                                args.input_rate, args.noise_rate, args.utt_seconds)
    print(f"joint training throughput, {args.threads} thread(s): corpus at {args.input_rate} Hz, "
          f"noise at {args.noise_rate} Hz, {args.utt_seconds:g} s utterances (data made in "
          f"{time.perf_counter() - start:.0f} s)")
    runs = {}
    for name, paths in layouts.items():
        torch.manual_seed(0)
        cfg = joint_config(paths, str(ssl))
        model, dataset, batches, optimizer = build(cfg)
        model.train()
        step(model, optimizer, dataset, batches[0], cfg)   # warm-up
        runs[name] = (cfg, model, dataset, batches, optimizer)
    rates: dict[str, list[float]] = {name: [] for name in runs}
    load_share: dict[str, list[float]] = {name: [] for name in runs}
    resampled: dict[str, int] = {}
    for _ in range(args.repeats):
        for name, (cfg, model, dataset, batches, optimizer) in runs.items():
            mixture.AUDIO_CACHE.clear()
            RESAMPLE_LOG.reset()
            audio = load = total = 0.0
            for indices in batches:
                seconds, loaded, compute = step(model, optimizer, dataset, indices, cfg)
                audio, load, total = audio + seconds, load + loaded, total + loaded + compute
            rates[name].append(audio / total)
            load_share[name].append(load / total)
            resampled[name] = sum(RESAMPLE_LOG.counts.values())
    ref = statistics.median(rates["16 kHz"])
    print(f"{'layout':8s} {'audio-s/s':>10s} {'vs 16 kHz':>10s} {'data load':>10s} "
          f"{'files resampled/pass':>21s}  (all passes)")
    for name in runs:
        median = statistics.median(rates[name])
        print(f"{name:8s} {median:10.1f} {median / ref:9.2f}x "
              f"{100 * statistics.median(load_share[name]):9.0f}% {resampled[name]:21d}  "
              + " ".join(f"{r:.1f}" for r in rates[name]))
    audio_s = sum(runs["16 kHz"][2].durations)
    print(f"(median of {args.repeats} passes per layout, interleaved; a pass = one epoch of "
          f"{len(runs['16 kHz'][3])} batches, {audio_s:.0f} s of audio, audio cache emptied "
          "first)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--toy", action="store_true", help="use a self-made toy set")
    parser.add_argument("--root", type=Path, default=REPO,
                        help="recipe dir holding data/, exp/ssl_tiny, dump/ (default: this checkout)")
    parser.add_argument("--steps", type=int, default=9, help="timed steps per set-up")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads [default: 2; --real-rates: 1, as "
                             "conf/train_joint.yaml trains]")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--real-rates", action="store_true",
                        help="joint on a corpus at --input-rate with noise at --noise-rate: "
                             "16 kHz vs the old (before) and new (after) prepared layouts")
    parser.add_argument("--input-rate", type=int, default=48000,
                        help="--real-rates: sample rate of the corpus audio")
    parser.add_argument("--noise-rate", type=int, default=22050,
                        help="--real-rates: sample rate of the noise files")
    parser.add_argument("--utt-seconds", type=float, default=6.0,
                        help="--real-rates: utterance length")
    parser.add_argument("--repeats", type=int, default=3,
                        help="--real-rates: passes per layout (median)")
    args = parser.parse_args()
    if args.threads is None:
        args.threads = 1 if args.real_rates else 2
    torch.set_num_threads(args.threads)
    if args.real_rates:
        measure_real_rates(args)
        return
    paths = None if args.toy else recipe_paths(args.root)
    source = f"default recipe data in {args.root}"
    if paths is None:
        paths = toy_recipe(Path("/tmp/sitool_bench_train"))
        source = "toy data + random recipe-size SSL (/tmp/sitool_bench_train)"
    print(f"training throughput, {args.threads} thread(s), {source}")
    results = [measure(name, cfg, args.steps, not args.no_profile)
               for name, cfg in setups(paths).items()]
    base = results[1]["rate"]
    print(f"{'set-up':18s} {'audio-s/s':>10s} {'vs si on the fly':>17s} {'data load':>10s} "
          f"{'batch (s audio)':>16s}")
    for r in results:
        print(f"{r['name']:18s} {r['rate']:10.1f} {r['rate'] / base:16.2f}x "
              f"{100 * r['load_share']:9.0f}% {r['batch_seconds']:16.1f}")
    print(f"(median over {results[0]['steps']} steps each; a step = load + forward + backward "
          "+ AdamW)")
    for r in results:
        if "profile" in r:
            print(f"\n== where the time goes: {r['name']} (torch.profiler, 3 steps, top ops by "
                  "self CPU time) ==")
            print(r["profile"])


if __name__ == "__main__":
    main()
