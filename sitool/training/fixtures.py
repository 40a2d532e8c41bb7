"""Small training set-ups for tests and benchmarks: a tiny SSL model, toy data dirs and a
training config dict sized to run in seconds on a CPU."""

from __future__ import annotations

import copy
import os
from pathlib import Path

import numpy as np

from sitool.audio import SAMPLE_RATE, write_audio
from sitool.datadir import DataDir, write_data_dir
from sitool.testing import make_tiny_ssl_model, make_toy_data_dir

TINY_HEADS = {
    "si": {"gru_units": [24, 16], "dropout": 0.1},
    "se": {"proj_dim": 24, "lstm_units": 16, "lstm_layers": 2, "dropout": 0.1},
}


def make_toy_setup(root: str | os.PathLike, num_train: int = 6, num_dev: int = 4,
                   ssl_hidden: int = 32) -> dict[str, Path]:
    """Write ``root/ssl`` (tiny WavLM), ``root/data/train`` and ``root/data/dev`` (clean toy
    dirs). Returns their paths."""
    root = Path(root)
    paths = {"ssl": root / "ssl", "train": root / "data" / "train", "dev": root / "data" / "dev"}
    if not (paths["ssl"] / "config.json").is_file():
        make_tiny_ssl_model(paths["ssl"], hidden=ssl_hidden, layers=2, conv_dim=16)
    if not paths["train"].is_dir():
        make_toy_data_dir(paths["train"], num_utts=num_train, num_speakers=2, seed=0, prefix="tr")
    if not paths["dev"].is_dir():
        make_toy_data_dir(paths["dev"], num_utts=num_dev, num_speakers=2, seed=1, prefix="dv")
    return paths


def make_noisy_copy(clean_dir: str | os.PathLike, out: str | os.PathLike,
                    snrs: tuple[float, ...] = (0.0, 10.0), seed: int = 0) -> Path:
    """A noisy set (``mix.tsv``, no wav.scp) of ``clean_dir``: each utterance once, with white
    noise at SNRs cycling through ``snrs`` (dB, whole-utterance RMS). Targets are shared."""
    from sitool.mixture import MixRow, format_mix_tsv

    clean = DataDir(clean_dir)
    out = Path(out)
    rng = np.random.default_rng(seed)
    noise_path = out.parent / f"{out.name}_noise.wav"
    write_audio(noise_path, (0.1 * rng.standard_normal(SAMPLE_RATE * 4)).astype(np.float32),
                subtype="FLOAT")
    noise_rms = 0.1
    rows, utt2spk, utt2dur, tv_scp = [], {}, {}, {}
    for i, utt in enumerate(clean.utts):
        snr = snrs[i % len(snrs)]
        audio = clean.audio(utt)
        gain = float(np.sqrt(np.mean(audio ** 2)) / noise_rms * 10 ** (-snr / 20))
        name = f"{utt}-white{snr:+.0f}"
        rows.append(MixRow(name, utt, "white0", "white", "non-babble", snr,
                           str(noise_path.resolve()), round(0.1 * i, 3), gain, seed + i,
                           str(Path(clean.wav_scp[utt]).resolve()), 0.5))
        utt2spk[name] = clean.utt2spk[utt]
        utt2dur[name] = clean.utt2dur[utt]
        tv_scp[name] = clean.tv_scp[utt]
    return write_data_dir(out, utt2spk=utt2spk, utt2dur=utt2dur, tv_scp=tv_scp,
                          targets=clean.targets, extra_files={"mix.tsv": format_mix_tsv(rows)})


def toy_config(model_type: str, ssl: str | os.PathLike, train: list, dev: list,
               epochs: int = 2, freeze: str = "all", cache: str | None = None,
               **sections) -> dict:
    """A training config dict for tiny models; ``sections`` deep-merge over the defaults."""
    cfg = {
        "model": {"type": model_type,
                  "ssl": {"model": str(ssl), "freeze": freeze, "cache": cache},
                  **copy.deepcopy(TINY_HEADS)},
        "data": {"train_sets": [str(d) for d in train], "dev_sets": [str(d) for d in dev],
                 "batch_seconds": 4.0, "max_batch_utts": 4},
        "optim": {"epochs": epochs, "lr_heads": 3e-3, "lr_encoder": 3e-4, "warmup_steps": 2,
                  "patience": 0},
        "seed": 1,
        "threads": 1,
    }
    _merge(cfg, sections)
    return cfg


def _merge(base: dict, extra: dict) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


def joint_model_around(encoder, n_targets: int = 3, target_rate: float = 100.0,
                       gradient_checkpointing: bool = False, heads: dict | None = None):
    """A joint (SI + SE mask) model built around an SSL encoder already in memory (e.g.
    ``sitool.ssl.sizes.random_wavlm``), its transformer fine-tuned (``freeze: cnn``), with
    the training settings of ``model.ssl`` applied as ``load_encoder`` does."""
    from sitool.config import from_dict
    from sitool.models.config import ModelConfig
    from sitool.models.frontend import SSLGeometry, configure_encoder
    from sitool.models.model import InversionModel

    cfg = from_dict(ModelConfig, {
        "type": "joint", "ssl": {"model": encoder.name, "freeze": "cnn",
                                 "gradient_checkpointing": gradient_checkpointing},
        **copy.deepcopy(heads or TINY_HEADS)})
    configure_encoder(encoder, cfg.ssl)
    geometry = SSLGeometry.from_hf_config(encoder.model.config)
    return InversionModel(cfg, geometry, n_targets, target_rate, encoder)


def synthetic_joint_batch(seconds: list[float], n_targets: int = 3, rate: float = 100.0,
                          seed: int = 0):
    """A training batch for a joint model: noisy toy audio, its clean reference and targets."""
    from sitool.models.framerate import frames_for_samples
    from sitool.testing import toy_utterance
    from sitool.training.data import collate

    rng = np.random.default_rng(seed)
    items = []
    for i, s in enumerate(seconds):
        clean, _ = toy_utterance(rng, s)
        noisy = (clean + 0.05 * rng.standard_normal(len(clean))).astype(np.float32)
        frames = frames_for_samples(len(clean), rate)
        items.append({"utt": f"u{i}", "wav": noisy, "clean_wav": clean, "si_frames": frames,
                      "targets": rng.standard_normal((frames, n_targets)).astype(np.float32)})
    return collate(items)


def joint_train_steps(model, batches, precision: str = "fp32", device: str = "cpu") -> dict:
    """Train ``model`` on ``batches`` (one optimiser step each) with the trainer's own epoch
    loop (AdamW, clipping, precision); returns its mean losses."""
    import torch

    from sitool.config import from_dict
    from sitool.precision import grad_scaler
    from sitool.training import distributed as D
    from sitool.training.config import TrainConfig
    from sitool.training.trainer import make_optimizer, train_epoch

    cfg = from_dict(TrainConfig, {"optim": {"warmup_steps": 0}, "precision": precision})
    ctx = D.DistContext(rank=0, local_rank=0, world_size=1, device=torch.device(device))
    model.to(device)
    optimizer = make_optimizer(model, cfg)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    return train_epoch(model, model, batches, optimizer, scheduler, cfg, ctx, 1, False,
                       precision, grad_scaler(precision, device))
