"""Noisy data dirs (``mix.tsv`` rows over a clean data dir, no audio written) and noise files.

``make_noisy_data_dir`` is the test grid (every utterance x noise x SNR, at the SNR by
sitool's definition); ``make_noisy_copy`` is each utterance once in white noise at SNRs by
whole-utterance RMS, a quick multi-condition training set.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from sitool.audio import SAMPLE_RATE, write_audio
from sitool.datadir import DataDir, write_data_dir
from sitool.mixture import MixRow, format_mix_tsv, noise_segment
from sitool.noise.snr import active_speech_level, mixture_gain, noise_power


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


def make_noisy_copy(clean_dir: str | os.PathLike, out: str | os.PathLike,
                    snrs: tuple[float, ...] = (0.0, 10.0), seed: int = 0) -> Path:
    """A noisy set (``mix.tsv``, no wav.scp) of ``clean_dir``: each utterance once, with white
    noise at SNRs cycling through ``snrs`` (dB, whole-utterance RMS). Targets are shared."""
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


def make_white_noise_dirs(root: str | os.PathLike) -> dict[str, Path]:
    """``root/noise_files/white.wav`` (6 s of white noise, seed 0) prepared as the noise dirs
    ``root/data/noise_{train,dev,test}`` (``sitool prepare-noise dir``); returns them by split."""
    from sitool.noise.readers import read_audio_dir
    from sitool.noise.sources import prepare_noise_dirs

    root = Path(root)
    noise_files = root / "noise_files"
    rng = np.random.default_rng(0)
    write_audio(noise_files / "white.wav", (0.1 * rng.standard_normal(16000 * 6)).astype(np.float32))
    return prepare_noise_dirs(lambda: read_audio_dir(noise_files, "white", "non-babble"),
                              root / "data", seed=0)
