"""Clean data dirs written on the fly: toy utterances with 3 targets, or with the nine TVs.

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


EMA_TARGETS = TargetInfo(names=["UL_x", "UL_y", "TT_y"], units=["mm", "mm", "mm"],
                         frame_rate=100.0)


def make_offset_speaker_data_dir(out: str | os.PathLike, offsets: dict[str, Sequence[float]],
                                 utts_per_speaker: int = 2, seed: int = 0) -> Path:
    """A clean data dir of toy utterances whose three EMA-like targets (UL_x, UL_y, TT_y, mm)
    are shifted by a per-speaker offset (``offsets[speaker]``, one value per column), as when
    each speaker's sensor coordinates have their own origin: the movement (a std of a few mm)
    is the toy tracks', the offsets are the speakers'."""
    rng = np.random.default_rng(seed)
    utterances = []
    for spk, offset in offsets.items():
        for i in range(utts_per_speaker):
            audio, targets = toy_utterance(rng, float(rng.uniform(1.0, 1.4)))
            shifted = (targets + np.asarray(offset, np.float32)).astype(np.float32)
            utterances.append((f"{spk}_{i:03d}", spk, audio, shifted))
    return write_media_data_dir(out, utterances, EMA_TARGETS)
