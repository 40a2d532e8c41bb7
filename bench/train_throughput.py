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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--toy", action="store_true", help="use a self-made toy set")
    parser.add_argument("--root", type=Path, default=REPO,
                        help="recipe dir holding data/, exp/ssl_tiny, dump/ (default: this checkout)")
    parser.add_argument("--steps", type=int, default=9, help="timed steps per set-up")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--no-profile", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
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
