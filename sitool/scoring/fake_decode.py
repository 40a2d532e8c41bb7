"""Decode dirs and noisy data dirs built from known quantities, for tests and benchmarks.

``with_correlation`` makes a prediction whose PPMC with the reference is exactly a chosen
value, so tests can assert table numbers computed by hand. ``write_decode_dir`` writes a
decode dir in the layout ``sitool decode`` produces; ``make_noisy_data_dir`` writes a
noisy set (``mix.tsv`` rows, no audio) over a clean data dir with given noise files.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from sitool.audio import SAMPLE_RATE, write_audio
from sitool.datadir import DataDir, TargetInfo, write_data_dir
from sitool.io import atomic_save_npy, format_table, write_yaml


TV_TARGETS = TargetInfo(
    names=["LA", "LP", "TTCL", "TTCD", "TBCL", "TBCD", "VEL", "F0", "voicing"],
    units=["mm", "mm", "deg", "mm", "deg", "mm", "cm2", "Hz", "1"],
    frame_rate=100.0,
)


def make_tv_data_dir(out: str | os.PathLike, num_utts: int = 3, seed: int = 0,
                     constant_voicing: Sequence[int] = (0,)) -> Path:
    """A clean data dir with the six TVs plus VEL, F0 and voicing (toy audio, smooth tracks).

    The voicing track of the utterances whose index is in ``constant_voicing`` is constant
    (all voiced), to exercise the constant-reference rule.
    """
    from sitool.testing import toy_utterance, write_media_data_dir

    rng = np.random.default_rng(seed)
    utterances = []
    for i in range(num_utts):
        audio, base = toy_utterance(rng, float(rng.uniform(1.0, 1.4)))
        frames = len(base)
        t = np.arange(frames) / 100.0
        cols = [base[:, 0], base[:, 1], 40 + 10 * base[:, 2], base[:, 2] - 3,
                100 + 5 * np.sin(2 * np.pi * 1.3 * t + i), 2 * np.cos(2 * np.pi * 0.8 * t + i),
                0.5 + 0.5 * np.sin(2 * np.pi * 2.1 * t), 120 + 20 * np.sin(2 * np.pi * 0.7 * t),
                np.ones(frames) if i in constant_voicing else (np.sin(2 * np.pi * 1.7 * t) > 0)]
        targets = np.stack(cols, axis=1).astype(np.float32)
        utterances.append((f"spk{i % 2}_{i:03d}", f"spk{i % 2}", audio, targets))
    return write_media_data_dir(out, utterances, TV_TARGETS)


def with_correlation(ref: np.ndarray, rho: float, rng: np.random.Generator,
                     offset: float = 0.0, gain: float = 1.0) -> np.ndarray:
    """A track whose Pearson correlation with the 1-D ``ref`` is exactly ``rho``.

    ``pred = offset + mean(ref) + gain * (rho * r + sqrt(1 - rho^2) * w)``, where ``r`` is
    ``ref`` minus its mean and ``w`` is zero-mean noise made orthogonal to ``r`` with the same norm.
    """
    ref = np.asarray(ref, dtype=np.float64)
    r = ref - ref.mean()
    w = rng.standard_normal(ref.shape)
    w -= w.mean()
    w -= r * (np.dot(w, r) / np.dot(r, r))
    w *= np.linalg.norm(r) / np.linalg.norm(w)
    return offset + ref.mean() + gain * (rho * r + np.sqrt(max(0.0, 1 - rho ** 2)) * w)


def write_decode_dir(
    exp_dir: str | os.PathLike,
    data_dir: str | os.PathLike,
    predict: Callable[[str, np.ndarray], np.ndarray] | None,
    set_name: str | None = None,
    model: str = "si",
    targets: TargetInfo | None = None,
    enhance: Callable[[str, np.ndarray], np.ndarray] | None = None,
    utts: Sequence[str] | None = None,
    config: Mapping | None = None,
    frontend: str = "ssl",
) -> Path:
    """Write ``exp_dir/decode/<set>/`` as ``sitool decode`` does.

    ``predict(utt, reference [frames, n])`` returns the prediction array (None: a model
    without an SI head); ``enhance(utt, noisy audio)`` (optional) returns enhanced 16 kHz audio. ``config`` becomes the
    experiment's ``config.yaml`` (for seed grouping); ``frontend`` goes into ``decode.yaml``
    (``fbank``: a filterbank reference model).
    """
    data = DataDir(data_dir)
    exp_dir = Path(exp_dir)
    out = exp_dir / "decode" / (set_name or data.name)
    info = targets or data.targets
    utts = list(utts) if utts is not None else data.utts
    tv_scp, enhanced_scp = {}, {}
    for utt in utts:
        if predict is not None:
            pred = np.asarray(predict(utt, data.target_array(utt)), dtype=np.float32)
            path = out / "tv" / f"{utt}.npy"
            atomic_save_npy(path, pred)
            tv_scp[utt] = str(path)
        if enhance is not None:
            wav = out / "enhanced" / f"{utt}.wav"
            write_audio(wav, enhance(utt, data.audio(utt)), SAMPLE_RATE, subtype="FLOAT")
            enhanced_scp[utt] = str(wav)
    out.mkdir(parents=True, exist_ok=True)
    if predict is not None:
        (out / "tv.scp").write_text(format_table(tv_scp))
        info.write(out / "targets")
    if enhance is not None:
        (out / "enhanced.scp").write_text(format_table(enhanced_scp))
    write_yaml(out / "decode.yaml", {"data_dir": str(data.path), "exp": str(exp_dir),
                                     "checkpoint": "best", "model_type": model,
                                     "frontend": frontend, "num_utts": len(utts)})
    if config is not None:
        write_yaml(exp_dir / "config.yaml", dict(config))
    return out


def make_noise_file(path: str | os.PathLike, seconds: float, seed: int, kind: str = "white") -> Path:
    """A noise wav: ``white`` Gaussian noise, or ``babble`` (a sum of random harmonic voices)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SAMPLE_RATE)
    if kind == "white":
        noise = rng.standard_normal(n)
    else:
        t = np.arange(n) / SAMPLE_RATE
        noise = np.zeros(n)
        for _ in range(4):
            f0 = 100 + 100 * rng.random() + 20 * np.sin(2 * np.pi * rng.uniform(0.5, 2) * t)
            phase = 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE
            envelope = 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(2, 5) * t + rng.uniform(0, 6))
            noise += envelope * sum(np.sin(h * phase) / h for h in range(1, 8))
    noise = (0.3 * noise / np.max(np.abs(noise))).astype(np.float32)
    write_audio(path, noise, SAMPLE_RATE, subtype="FLOAT")
    return Path(path)


def make_noisy_data_dir(
    out: str | os.PathLike,
    clean_dir: str | os.PathLike,
    noises: Sequence[tuple[str, str, str]],
    snrs: Sequence[float],
    seed: int = 0,
) -> Path:
    """A noisy set over ``clean_dir``: every utterance x noise x SNR, as ``mix.tsv`` rows.

    ``noises`` holds ``(noise_type, category, wav path)``. The gain gives the SNR by the
    sitool definition (P.56 active speech level vs noise power); scale keeps the peak < 1.
    """
    from sitool.mixture import MixRow, format_mix_tsv, noise_segment
    from sitool.noise.snr import active_speech_level, mixture_gain, noise_power

    clean = DataDir(clean_dir)
    rows, utt2spk, utt2dur, tv_scp = [], {}, {}, {}
    for utt in clean.utts:
        audio = clean.audio(utt)
        level = active_speech_level(audio).power
        for noise_type, category, wav in noises:
            segment = noise_segment(str(wav), 0.0, audio.size)
            for snr in snrs:
                gain = mixture_gain(level, noise_power(segment), snr)
                peak = float(np.max(np.abs(audio + gain * segment)))
                scale = min(1.0, 0.95 / peak)
                noisy_utt = f"{utt}_{noise_type}_snr{snr:g}".replace("-", "m")
                rows.append(MixRow(noisy_utt, utt, f"{noise_type}0", noise_type, category,
                                   float(snr), str(Path(wav).resolve()), 0.0, float(gain), seed,
                                   clean.wav_scp[utt], float(scale)))
                utt2spk[noisy_utt] = clean.utt2spk[utt]
                utt2dur[noisy_utt] = clean.utt2dur[utt]
                tv_scp[noisy_utt] = clean.tv_scp[utt]
    return write_data_dir(out, utt2spk=utt2spk, utt2dur=utt2dur, tv_scp=tv_scp,
                          targets=clean.targets, extra_files={"mix.tsv": format_mix_tsv(rows)})
