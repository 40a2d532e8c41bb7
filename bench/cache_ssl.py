#!/usr/bin/env python3
"""SSL feature-extraction throughput (stage 3, ``cache-ssl``) on this CPU.

A WavLM-Base-sized model (transformers ``WavLMConfig()`` defaults, random weights, ~94 M
parameters, ~15 GFLOP per second of audio) extracts every hidden state of ``--seconds`` of
toy audio (utterances of 2-8 s). Variants, each in its own worker process (so the peak memory,
max RSS, is per variant; passes interleaved across variants):

    naive     per-utterance loop through SSLEncoder.forward, fp32 (the baseline)
    padded    sitool.ssl.extract with length-sorted batches of --batch-seconds padded audio
              (per-utterance CNN, padded + masked transformer), fp32
    exact     sitool.ssl.extract as cache-ssl runs it on CPU (one utterance per forward), fp32
    bf16      the same under torch.autocast(bfloat16), weights pre-cast once (cache-ssl
              --autocast bf16)
    bf16x2    bf16 as two concurrent 1-thread jobs, each on half of the utterances (what
              `cache-ssl --nj 2 --job J --num-threads 1` does on two cores)

and stores fp16 arrays as cache-ssl does. Prints median wall time over ``--repeats``
passes, x real time (audio seconds per wall second), CPU seconds and "CPU-est x RT" (audio
seconds per CPU second times --threads: the rate on an otherwise idle machine, useful when
the machine is shared), peak RSS, speed-up vs
naive, and the frame-wise cosine similarity of bf16 hidden states to fp32 (mean, worst layer).

    python bench/cache_ssl.py                      # defaults: 60 s of audio, 3 repeats, 2 threads
    python bench/cache_ssl.py --seconds 30 --repeats 5 --threads 1
    python bench/cache_ssl.py --arch tiny           # the in-recipe model size (conf/pretrain_ssl.yaml)
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

import numpy as np
import torch

VARIANTS = ("naive", "padded", "exact", "bf16", "bf16x2")


def make_encoder(arch: str):
    """A random-weight encoder; the same weights in every process (fixed seed)."""
    from transformers import WavLMConfig, WavLMModel

    from sitool.ssl.encoder import SSLEncoder

    torch.manual_seed(0)
    if arch == "base":
        model = WavLMModel(WavLMConfig())
    else:
        from sitool.config import load_config
        from sitool.ssl.pretrain import PretrainConfig, build_pretrain_model

        model = build_pretrain_model(load_config(PretrainConfig, "conf/pretrain_ssl.yaml").model)
    encoder = SSLEncoder(model, WaveformInputs(normalize=True), name=f"wavlm-{arch}-random")
    encoder.set_freeze("all")
    return encoder


def make_audio(seconds: float, seed: int = 0) -> list[np.ndarray]:
    from sitool.testing.data_dirs import toy_utterance

    rng = np.random.default_rng(seed)
    wavs, total = [], 0.0
    while total < seconds:
        dur = float(rng.uniform(2.0, 8.0))
        wavs.append(toy_utterance(rng, dur)[0])
        total += dur
    return wavs


def run_naive(encoder, wavs):
    out = []
    with torch.inference_mode():
        for wav in wavs:
            x = torch.from_numpy(wav)[None]
            states, _ = encoder(x, torch.tensor([x.shape[1]]))
            out.append(torch.stack([s[0] for s in states]).numpy().astype(np.float16))
    return out


def run_batched(encoder, wavs, batch_seconds, autocast=None):
    from sitool.ssl.extract import batch_by_length, extract_hidden_states

    out = [None] * len(wavs)
    for batch in batch_by_length([len(w) for w in wavs], batch_seconds):
        states = extract_hidden_states(encoder, [wavs[i] for i in batch], None, autocast)
        for i, state in zip(batch, states):
            out[i] = state.numpy().astype(np.float16)
    return out


def worker(args) -> None:
    """One variant, driven over stdin/stdout: prints "ready", then for every "run" line on
    stdin does one timed pass and prints its timing as JSON; on "stop" prints the peak RSS
    (and, for bf16, the similarity to fp32 on the first 4 utterances) and exits."""
    torch.set_num_threads(args.threads)
    encoder = make_encoder(args.arch)
    wavs = make_audio(args.seconds)
    if args.part:
        part, parts = (int(v) for v in args.part.split("/"))
        wavs = wavs[part - 1::parts]
    reference = None
    if args.worker == "bf16":
        from sitool.ssl.extract import cast_weights_for_autocast, extract_hidden_states

        reference = [extract_hidden_states(encoder, wavs[:4]),
                     extract_hidden_states(encoder, wavs[:4], None, "bf16")]
        cast_weights_for_autocast(encoder, "bf16")
    fn = {"naive": lambda: run_naive(encoder, wavs),
          "padded": lambda: run_batched(encoder, wavs, args.batch_seconds),
          "exact": lambda: run_batched(encoder, wavs, 0.0),
          "bf16": lambda: run_batched(encoder, wavs, 0.0, "bf16")}[args.worker]
    fn()  # warm-up (allocator, oneDNN kernel selection)
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip() != "run":
            break
        usage0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        fn()
        usage1, t1 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        cpu = usage1.ru_utime + usage1.ru_stime - usage0.ru_utime - usage0.ru_stime
        print(json.dumps({"wall": t1 - t0, "cpu": cpu}), flush=True)
    result = {"audio_seconds": sum(len(w) for w in wavs) / 16000,
              "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if reference is not None:
        from sitool.ssl.extract import cosine_fidelity

        result["cosine"] = cosine_fidelity(*reference)
    print(json.dumps(result), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="audio per pass (s)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-seconds", type=float, default=60.0,
                        help="padded audio per batch in the 'padded' variant")
    parser.add_argument("--arch", choices=["base", "tiny"], default="base")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--worker", choices=VARIANTS[:4], help=argparse.SUPPRESS)
    parser.add_argument("--part", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    variants = args.variants.split(",")
    # One idle worker process per variant (model loaded, warmed up); the passes are
    # interleaved round by round so that a busy moment on a shared machine hits every
    # variant alike. Workers wait on stdin between passes, using no CPU.
    workers = {}
    for variant in variants:
        jobs = [("bf16", "1", f"{j}/2") for j in (1, 2)] if variant == "bf16x2" else \
            [(variant, str(args.threads), "")]
        procs = []
        for name, threads, part in jobs:
            cmd = [sys.executable, __file__, "--worker", name, "--seconds", str(args.seconds),
                   "--threads", threads, "--batch-seconds", str(args.batch_seconds),
                   "--arch", args.arch] + (["--part", part] if part else [])
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    text=True)
            if proc.stdout.readline().strip() != "ready":
                raise SystemExit(f"worker {variant} failed to start")
            procs.append(proc)
        workers[variant] = procs
    timings = {v: [] for v in variants}
    for _ in range(args.repeats):
        for variant, procs in workers.items():
            t0 = time.perf_counter()
            for proc in procs:
                proc.stdin.write("run\n")
                proc.stdin.flush()
            runs = [json.loads(proc.stdout.readline()) for proc in procs]
            timings[variant].append({"wall": time.perf_counter() - t0,
                                     "cpu": sum(r["cpu"] for r in runs)})
    finals = {}
    for variant, procs in workers.items():
        outs = []
        for proc in procs:
            proc.stdin.write("stop\n")
            proc.stdin.flush()
            outs.append(json.loads(proc.stdout.readline()))
            proc.wait()
        finals[variant] = {"audio_seconds": sum(o["audio_seconds"] for o in outs),
                           "max_rss_mb": sum(o["max_rss_mb"] for o in outs)}
        if "cosine" in outs[0]:
            finals[variant]["cosine"] = outs[0]["cosine"]
    audio = finals[variants[0]]["audio_seconds"]
    base = statistics.median(t["wall"] for t in timings[variants[0]])
    print(f"WavLM-{args.arch} (random weights), {audio:.0f} s of audio, {args.threads} thread(s), "
          f"median of {args.repeats} interleaved passes; load average at the end "
          f"{open('/proc/loadavg').read().split()[0]}")
    print(f"{'variant':<10}{'wall s':>9}{'x RT':>8}{'CPU s':>9}{'CPU-est x RT':>14}"
          f"{'peak RSS MB':>13}{'vs ' + variants[0]:>12}")
    for variant in variants:
        wall = statistics.median(t["wall"] for t in timings[variant])
        cpu = statistics.median(t["cpu"] for t in timings[variant])
        threads = 2 if variant == "bf16x2" else args.threads
        print(f"{variant:<10}{wall:9.2f}{audio / wall:8.1f}{cpu:9.2f}"
              f"{audio / cpu * threads:14.1f}{finals[variant]['max_rss_mb']:13.0f}"
              f"{base / wall:11.2f}x")
    print("(peak RSS of bf16x2: the sum over its two processes)")
    for variant in variants[:1] + [v for v in variants if v == "bf16"]:
        if "cosine" in finals[variant]:
            cos = finals[variant]["cosine"]
            print(f"bf16 vs fp32 cosine similarity (frame-wise, first 4 utterances): mean "
                  f"{cos['mean']:.4f}, worst layer {cos['min_layer']:.4f}")


if __name__ == "__main__":
    main()
