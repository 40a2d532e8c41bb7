"""Figures people would rather look at than read: one utterance's audio and targets."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from sitool.audio import SAMPLE_RATE
from sitool.datadir import DataDir, PhoneSegment
from sitool.errors import SitoolError
from sitool.io import atomic_path


def use_agg():
    """Import pyplot with the non-interactive Agg backend (no screen on servers)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, out: str | os.PathLike, dpi: int = 110) -> Path:
    """Write ``fig`` to ``out`` atomically (format from the suffix, PNG by default); close it.

    PNGs get a 128-colour palette: spectrograms compress poorly, and the palette makes them
    about 3x smaller with the same look.
    """
    plt = use_agg()
    out = Path(out)
    fmt = out.suffix.lstrip(".").lower() or "png"
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        if fmt == "png":
            from PIL import Image

            buffer = io.BytesIO()
            fig.savefig(buffer, dpi=dpi, format="png")
            buffer.seek(0)
            Image.open(buffer).convert("RGB").quantize(colors=128).save(tmp, format="PNG",
                                                                        optimize=True)
        else:
            fig.savefig(tmp, dpi=dpi, format=fmt)
    plt.close(fig)
    return out


def log_spectrogram(signal: np.ndarray, rate: int = SAMPLE_RATE, n_fft: int = 512,
                    hop: int = 160) -> np.ndarray:
    """Log-power spectrogram in dB, ``[freq, frames]``, with a Hann window."""
    import torch

    spec = torch.stft(torch.from_numpy(signal), n_fft=n_fft, hop_length=hop,
                      window=torch.hann_window(n_fft), return_complex=True)
    power = spec.abs().pow(2).numpy()
    return 10 * np.log10(power + 1e-10)


def draw_spectrogram(ax, signal: np.ndarray, rate: int = SAMPLE_RATE, title: str = "") -> None:
    spec = log_spectrogram(signal, rate)
    top = spec.max()
    ax.imshow(spec, origin="lower", aspect="auto", cmap="magma", vmin=top - 80, vmax=top,
              extent=(0, len(signal) / rate, 0, rate / 2000))
    ax.set_ylabel("kHz")
    if title:
        ax.set_title(title, fontsize=9, loc="left")


def draw_phones(ax, phones: Sequence[PhoneSegment]) -> None:
    """Phone boundaries as dotted lines with labels along the top of ``ax``."""
    for seg in phones:
        ax.axvline(seg.start, color="0.6", lw=0.5, ls=":")
        ax.text((seg.start + seg.end) / 2, 1.0, seg.phone, transform=ax.get_xaxis_transform(),
                ha="center", va="bottom", fontsize=7)


def shade_phones(ax, phones: Sequence[PhoneSegment]) -> None:
    """Phone intervals as alternating light bands (silences left white) with boundary lines."""
    from sitool.alignment import SILENCE, phone_classes

    for i, seg in enumerate(phones):
        if phone_classes(seg.phone) != (SILENCE,):
            ax.axvspan(seg.start, seg.end, color="0.93" if i % 2 else "0.87", lw=0, zorder=0)
        ax.axvline(seg.start, color="0.8", lw=0.5, ls=":", zorder=0)


def plot_tracks(
    signal: np.ndarray,
    tracks: Mapping[str, Mapping[str, np.ndarray]],
    names: Sequence[str],
    units: Sequence[str],
    frame_rate: float,
    out: str | os.PathLike,
    title: str = "",
    phones: Sequence[PhoneSegment] = (),
) -> Path:
    """Spectrogram on top, then one panel per target with every track in ``tracks``.

    ``tracks`` maps a legend label (e.g. "reference", "predicted") to ``{name: 1-D array}``.
    """
    plt = use_agg()
    n = len(names)
    fig, axes = plt.subplots(n + 1, 1, figsize=(10, 1.6 + 1.1 * n), sharex=True,
                             gridspec_kw={"height_ratios": [2.2] + [1] * n})
    draw_spectrogram(axes[0], signal, SAMPLE_RATE)
    if phones:
        draw_phones(axes[0], phones)
    if title:
        fig.suptitle(title, fontsize=10)
    for ax, name, unit in zip(axes[1:], names, units):
        for label, values in tracks.items():
            track = values[name]
            t = np.arange(len(track)) / frame_rate
            ax.plot(t, track, lw=1.0, label=label)
        ax.set_ylabel(f"{name}\n[{unit}]", fontsize=8, rotation=0, ha="right", va="center")
        ax.tick_params(labelsize=7)
        shade_phones(ax, phones)
    if len(tracks) > 1:
        axes[1].legend(fontsize=7, loc="upper right", ncol=len(tracks))
    axes[-1].set_xlabel("time [s]")
    fig.tight_layout()
    return save_figure(fig, out)


def plot_utterance(data_dir: str | os.PathLike, utt: str, out: str | os.PathLike) -> Path:
    """``sitool plot-utt``: spectrogram, every target track, and phone labels when known."""
    data = DataDir(data_dir)
    if utt not in data.utt2spk:
        raise SitoolError(f"{data.path / 'utt2spk'}: no utterance {utt!r}")
    signal = data.audio(utt)
    info = data.targets
    if info is None or utt not in data.tv_scp:
        raise SitoolError(f"{data.path}: no targets for {utt!r} (needs tv.scp and targets)")
    array = data.target_array(utt)
    tracks = {"reference": {name: array[:, i] for i, name in enumerate(info.names)}}
    cond = data.condition(utt)
    label = "clean" if cond.is_clean else f"{cond.noise_type} {cond.snr_db:+g} dB"
    return plot_tracks(signal, tracks, info.names, info.units, info.frame_rate, out,
                       title=f"{data.name}/{utt} ({label})", phones=data.phones.get(utt, ()))
