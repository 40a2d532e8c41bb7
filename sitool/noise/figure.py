"""``sitool plot-mix``: spectrograms of one utterance, clean on top, then its mixtures."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from sitool.audio import SAMPLE_RATE
from sitool.datadir import DataDir
from sitool.errors import SitoolError
from sitool.mixture import MixRow, load_clean, materialise
from sitool.plotting import draw_phones, log_spectrogram, save_figure, use_agg

DYNAMIC_RANGE_DB = 80.0


def pick_rows(rows: dict[str, MixRow], clean_utt: str | None, snr_db: float,
              types: Sequence[str] | None) -> list[MixRow]:
    """The rows of ``clean_utt`` (default: the first) at ``snr_db`` for ``types`` (default:
    the first babble and the first non-babble type), in the order asked."""
    if not rows:
        raise SitoolError("plot-mix: the data dir has no mix.tsv rows (is it a noisy set?)")
    clean_utt = clean_utt or min(r.clean_utt for r in rows.values())
    candidates = sorted((r for r in rows.values() if r.clean_utt == clean_utt
                         and abs(r.snr_db - snr_db) < 1e-6), key=lambda r: r.noise_type)
    if not candidates:
        raise SitoolError(f"plot-mix: no mixture of {clean_utt!r} at {snr_db:g} dB "
                          "(a test-grid set has every SNR of its grid)")
    by_type = {r.noise_type: r for r in candidates}
    if types is None:
        types = [next(r.noise_type for r in candidates if r.category == c)
                 for c in ("babble", "non-babble") if any(r.category == c for r in candidates)]
    missing = [t for t in types if t not in by_type]
    if missing:
        raise SitoolError(f"plot-mix: {clean_utt} has no {missing[0]!r} mixture at {snr_db:g} dB; "
                          f"types there: {', '.join(sorted(by_type))}")
    return [by_type[t] for t in types]


def plot_mixtures(noisy_data: str | os.PathLike, out: str | os.PathLike,
                  clean_utt: str | None = None, snr_db: float = -5.0,
                  types: Sequence[str] | None = None) -> Path:
    """Clean spectrogram on top, then one panel per chosen mixture, on one colour scale."""
    data = DataDir(noisy_data)
    rows = pick_rows(data.mix, clean_utt, snr_db, types)
    signals = [("clean", load_clean(rows[0].clean_path))]
    signals += [(f"{r.noise_type} ({r.category}), {r.snr_db:+g} dB SNR", materialise(r))
                for r in rows]
    specs = [log_spectrogram(np.array(s, dtype=np.float32)) for _, s in signals]  # writable copy
    top = max(float(s.max()) for s in specs)
    plt = use_agg()
    fig, axes = plt.subplots(len(signals), 1, figsize=(9, 1.9 * len(signals)), sharex=True)
    duration = len(signals[0][1]) / SAMPLE_RATE
    for ax, (title, _), spec in zip(axes, signals, specs):
        ax.imshow(spec, origin="lower", aspect="auto", cmap="magma", vmin=top - DYNAMIC_RANGE_DB,
                  vmax=top, extent=(0, duration, 0, SAMPLE_RATE / 2000))
        ax.set_ylabel("kHz")
        ax.set_title(title, fontsize=9, loc="left")
    phones = data.phones.get(rows[0].utt, ())
    if phones:
        draw_phones(axes[0], phones)
    axes[-1].set_xlabel("time [s]")
    fig.suptitle(f"{data.name}: {rows[0].clean_utt}", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, out)

