"""Small fixtures the test suite and benchmarks build on: tiny data dirs written on the fly.

These are real data dirs in the contract's format (audio files, target .npy files), only
small and made from simple signals, so every stage can be exercised in seconds.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from sitool.audio import SAMPLE_RATE, write_audio
from sitool.datadir import TargetInfo, write_data_dir
from sitool.io import atomic_save_npy

TOY_TARGETS = TargetInfo(
    names=["LA", "LP", "TTCD"],
    units=["mm", "mm", "mm"],
    frame_rate=100.0,
    descriptions={"LA": "toy lip aperture", "LP": "toy lip protrusion",
                  "TTCD": "toy tongue-tip constriction degree"},
)


def toy_utterance(rng: np.random.Generator, seconds: float, rate: int = SAMPLE_RATE,
                  frame_rate: float = 100.0) -> tuple[np.ndarray, np.ndarray]:
    """A harmonic signal whose pitch and brightness follow two slow random tracks.

    Returns (audio [samples], targets [frames, 3]); the targets are smooth functions of the
    same tracks, so a model can learn them from the audio.
    """
    n = int(round(seconds * rate))
    frames = int(round(seconds * frame_rate))
    knots = rng.uniform(0, 1, size=(3, 6))
    t_knots = np.linspace(0, seconds, 6)
    t_frames = np.arange(frames) / frame_rate
    tracks = np.stack([np.interp(t_frames, t_knots, k) for k in knots], axis=1)
    t = np.arange(n) / rate
    f0 = 100 + 80 * np.interp(t, t_knots, knots[0])
    bright = np.interp(t, t_knots, knots[1])
    phase = 2 * np.pi * np.cumsum(f0) / rate
    audio = sum((bright ** (h / 4)) * np.sin(h * phase) / h for h in range(1, 12))
    audio = audio * np.interp(t, t_knots, 0.3 + 0.7 * knots[2])
    audio = (0.3 * audio / np.max(np.abs(audio))).astype(np.float32)
    targets = np.stack([10 * tracks[:, 0], 5 * tracks[:, 1] - 2, 8 * tracks[:, 2]], axis=1)
    return audio, targets.astype(np.float32)


def write_media_data_dir(out: str | os.PathLike,
                         utterances: Sequence[tuple[str, str, np.ndarray, np.ndarray]],
                         targets: TargetInfo) -> Path:
    """Write ``(utt, speaker, audio, target array)`` items as a clean data dir ``out``; the
    wav and .npy files go to ``<out>_media`` beside it."""
    out = Path(out)
    media = out.parent / f"{out.name}_media"
    utt2spk, utt2dur, wav_scp, tv_scp = {}, {}, {}, {}
    for utt, spk, audio, array in utterances:
        wav = media / f"{utt}.wav"
        npy = media / f"{utt}.npy"
        write_audio(wav, audio)
        atomic_save_npy(npy, array)
        utt2spk[utt] = spk
        utt2dur[utt] = len(audio) / SAMPLE_RATE
        wav_scp[utt] = str(wav.resolve())
        tv_scp[utt] = str(npy.resolve())
    return write_data_dir(out, utt2spk=utt2spk, utt2dur=utt2dur, wav_scp=wav_scp,
                          tv_scp=tv_scp, targets=targets)


def make_toy_data_dir(out: str | os.PathLike, num_utts: int = 4, num_speakers: int = 2,
                      seed: int = 0, seconds: tuple[float, float] = (1.0, 1.6),
                      prefix: str = "toy") -> Path:
    """Write a complete clean data dir of ``num_utts`` toy utterances (audio + targets)."""
    rng = np.random.default_rng(seed)
    utterances = []
    for i in range(num_utts):
        spk = f"{prefix}spk{i % num_speakers}"
        dur = float(rng.uniform(*seconds))
        audio, targets = toy_utterance(rng, dur)
        utterances.append((f"{spk}_{i:03d}", spk, audio, targets))
    return write_media_data_dir(out, utterances, TOY_TARGETS)


def make_tiny_ssl_model(out: str | os.PathLike, arch: str = "wavlm", hidden: int = 32,
                        layers: int = 2, conv_dim: int = 16, seed: int = 0,
                        feat_extract_norm: str = "group") -> Path:
    """Write a tiny randomly initialised SSL model dir (``save_pretrained`` format).

    ``arch`` is ``wavlm`` or ``hubert``. The conv feature encoder keeps the standard 7 layers
    (kernels 10,3,3,3,3,2,2; strides 5,2,2,2,2,2,2 → 320 samples, 50 frames/s at 16 kHz) with
    ``conv_dim`` channels each; the transformer has ``layers`` layers of width ``hidden``.
    The dir also holds a ``Wav2Vec2FeatureExtractor`` config (``do_normalize=True``), so
    ``load_ssl_encoder(out)`` loads it offline like a hub model. Returns ``out``.
    """
    import torch
    from transformers import (HubertConfig, HubertModel, Wav2Vec2FeatureExtractor, WavLMConfig,
                              WavLMModel)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    out = Path(out)
    common = dict(
        hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=2,
        intermediate_size=2 * hidden, conv_dim=(conv_dim,) * 7,
        num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2,
        feat_extract_norm=feat_extract_norm, do_stable_layer_norm=feat_extract_norm == "layer",
        conv_bias=feat_extract_norm == "layer",
    )
    if arch == "wavlm":
        config, model_cls = WavLMConfig(num_buckets=32, max_bucket_distance=200, **common), WavLMModel
    elif arch == "hubert":
        config, model_cls = HubertConfig(**common), HubertModel
    else:
        raise ValueError(f"arch must be 'wavlm' or 'hubert', got {arch!r}")
    torch.manual_seed(seed)
    model = model_cls(config).eval()
    model.save_pretrained(out)
    extractor = Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=SAMPLE_RATE,
                                         padding_value=0.0, do_normalize=True,
                                         return_attention_mask=feat_extract_norm == "layer")
    extractor.save_pretrained(out)
    return out
