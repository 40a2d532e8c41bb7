"""Figures of the scoring stage (matplotlib, Agg backend).

- ``ppmc_vs_snr.png``: mean PPMC against SNR, one panel per noise category (babble,
  non-babble), one line per model (error bars = std over seeds), clean as a reference point;
  below, small multiples: one panel per target (wrapped into rows of at most
  ``TARGET_COLUMNS``; line style = category), with one legend for the whole figure, so a
  corpus with 15 targets stays as readable as one with 6;
- ``se_vs_snr.png``: PESQ / STOI / SI-SDR against SNR for the noisy input and SE models;
- ``tracks_<utt>_<condition>.png``: one test utterance's predicted and reference trajectories
  under the spectrogram of the model input, clean and at the lowest SNR of each category, for
  the baseline and the joint model(s).
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from sitool.datadir import load_target_file
from sitool.plotting import plot_tracks, save_figure, use_agg
from sitool.scoring.aggregate import ALL_TYPES, SE_PLOTTED, Summary, format_snr
from sitool.scoring.tables import NOISY_INPUT, SE_LABELS

log = logging.getLogger(__name__)

NOISY_CATEGORIES = ["babble", "non-babble"]
TARGET_COLUMNS = 4                          # small multiples per row of ppmc_vs_snr.png
CATEGORY_STYLES = ["-", "--", ":", "-."]    # line style per noise category (small multiples)


def _categories(summary: Summary, df=None) -> list[str]:
    df = summary.per_model if df is None else df
    present = set(df["category"])
    return [c for c in NOISY_CATEGORIES if c in present] + sorted(
        present - set(NOISY_CATEGORIES) - {"clean"})


def _series(df, where: dict, value: str, std: str | None, category: str):
    """(SNRs, values, stds) of one line and the clean point (value, std) or None."""
    rows = df
    for key, v in where.items():
        rows = rows[rows[key] == v]
    noisy = rows[(rows["category"] == category) & (rows["noise_type"] == ALL_TYPES)].sort_values("snr_db")
    clean = rows[rows["category"] == "clean"]
    clean_point = None
    if not clean.empty:
        c = clean.iloc[0]
        clean_point = (c[value], c[std] if std else math.nan)
    stds = noisy[std].to_numpy(dtype=float) if std else np.full(len(noisy), np.nan)
    return noisy["snr_db"].to_numpy(dtype=float), noisy[value].to_numpy(dtype=float), stds, clean_point


def _draw_lines(ax, df, systems: Sequence[str], key: str, value: str, std: str | None,
                category: str, clean_x: float, where: dict | None = None, ls: str = "-",
                small: bool = False, with_clean: bool = True) -> None:
    for i, system in enumerate(systems):
        x, y, s, clean = _series(df, {key: system, **(where or {})}, value, std, category)
        color = f"C{i % 10}"
        if len(x):
            ax.errorbar(x, y, yerr=np.nan_to_num(s), marker="o", ms=2.5 if small else 4,
                        lw=1.0 if small else 1.4, capsize=0 if small else 3, color=color,
                        ls=ls, label=system)
        if clean is not None and with_clean:
            ax.errorbar([clean_x], [clean[0]], yerr=[np.nan_to_num(clean[1])], marker="s",
                        ms=3 if small else 5, capsize=0 if small else 3, color=color, ls="none",
                        label=None if len(x) else system)


def _snr_axis(ax, snrs: Sequence[float], clean_x: float, has_clean: bool) -> None:
    ticks = list(snrs) + ([clean_x] if has_clean else [])
    labels = [format_snr(s) for s in snrs] + (["clean"] if has_clean else [])
    ax.set_xticks(ticks)
    ax.set_xticklabels(labels)
    ax.set_xlabel("SNR [dB]")
    ax.grid(alpha=0.3)


def _clean_x(snrs: Sequence[float]) -> float:
    if not snrs:
        return 0.0
    span = max(snrs) - min(snrs)
    return max(snrs) + max(5.0, 0.25 * span)


def _plotted_targets(summary: Summary) -> list[str]:
    """Every target with scores, in the data's order (headline targets first)."""
    present = list(dict.fromkeys(summary.target_models["target"])) \
        if summary.target_models is not None and not summary.target_models.empty else []
    return [t for t in summary.targets if t in present] + \
        [t for t in present if t not in summary.targets]


def _wrap(names: Sequence[str], width: int = 60) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(" ".join(names), width))


def plot_ppmc_vs_snr(summary: Summary, out: str | os.PathLike) -> Path | None:
    """Mean PPMC vs SNR, a panel per noise category, a line per model (± std over seeds);
    under it a small panel per target (module docstring), one legend for the figure."""
    fig = ppmc_vs_snr_figure(summary)
    return None if fig is None else save_figure(fig, Path(out))


def ppmc_vs_snr_figure(summary: Summary):
    """The matplotlib figure of :func:`plot_ppmc_vs_snr` (None without noisy categories)."""
    categories = _categories(summary)
    if not categories:
        return None
    plt = use_agg()
    df = summary.per_model
    snrs = sorted(float(s) for s in df.loc[df["category"] != "clean", "snr_db"].unique())
    clean_x = _clean_x(snrs)
    has_clean = (df["category"] == "clean").any()
    targets = _plotted_targets(summary)
    cols = min(TARGET_COLUMNS, max(1, len(targets)))
    rows = math.ceil(len(targets) / cols) if targets else 0
    width = max(4.6 * len(categories), 3.0 * cols)
    fig = plt.figure(figsize=(width, 4.2 + 2.3 * rows), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[4.2, max(2.3 * rows, 0.01)]) \
        if rows else (fig, None)
    axes = top.subplots(1, len(categories), sharey=True, squeeze=False)[0]
    for ax, category in zip(axes, categories):
        _draw_lines(ax, df, summary.models, "model", "mean", "std", category, clean_x)
        _snr_axis(ax, snrs, clean_x, has_clean)
        ax.set_title(f"{category} noise: mean PPMC", fontsize=10)
    axes[0].set_ylabel("mean PPMC", fontsize=9)
    top.suptitle(f"mean over {len(summary.targets)} target(s): {_wrap(summary.targets, 90)}",
                 fontsize=8)
    if rows:
        grid = bottom.subplots(rows, cols, sharex=True, sharey=True, squeeze=False)
        tm = summary.target_models
        for k, ax in enumerate(grid.flat):
            if k >= len(targets):
                ax.set_visible(False)
                continue
            for c, category in enumerate(categories):
                _draw_lines(ax, tm, summary.models, "model", "mean", "std", category, clean_x,
                            where={"target": targets[k]},
                            ls=CATEGORY_STYLES[c % len(CATEGORY_STYLES)], small=True,
                            with_clean=c == 0)
            _snr_axis(ax, snrs, clean_x, has_clean)
            ax.set_title(targets[k], fontsize=9, pad=2)
            ax.tick_params(labelsize=7)
            ax.set_xlabel("SNR [dB]" if k + cols >= len(targets) else "", fontsize=8)
            if k % cols == 0:
                ax.set_ylabel("PPMC", fontsize=8)
        bottom.suptitle("PPMC per target", fontsize=9)
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=f"C{i % 10}", marker="o", lw=1.4, label=m)
               for i, m in enumerate(summary.models)]
    if rows and len(categories) > 1:
        handles += [Line2D([], [], color="0.3", lw=1.2, ls=CATEGORY_STYLES[c % 4],
                           label=f"{category} (per target)")
                    for c, category in enumerate(categories)]
    if has_clean:
        handles.append(Line2D([], [], color="0.3", marker="s", ls="none", label="clean"))
    fig.legend(handles=handles, loc="outside lower center", fontsize=8,
               ncol=min(len(handles), max(2, int(width // 1.8))), frameon=False)
    return fig


def plot_se_vs_snr(summary: Summary, out: str | os.PathLike) -> Path | None:
    """PESQ, STOI and SI-SDR vs SNR (rows) per noise category (columns), a line per system."""
    se = summary.se
    if se is None or se.empty:
        return None
    categories = _categories(summary, se)
    if not categories:
        return None
    plt = use_agg()
    systems = [s for s in [NOISY_INPUT, *summary.models] if (se["system"] == s).any()]
    snrs = sorted(float(s) for s in se.loc[se["category"] != "clean", "snr_db"].unique())
    clean_x = _clean_x(snrs)
    has_clean = (se["category"] == "clean").any()
    fig, axes = plt.subplots(len(SE_PLOTTED), len(categories), sharex=True, squeeze=False,
                             figsize=(4.6 * len(categories), 2.6 * len(SE_PLOTTED)))
    for row, metric in enumerate(SE_PLOTTED):
        for col, category in enumerate(categories):
            ax = axes[row][col]
            _draw_lines(ax, se, systems, "system", metric, f"{metric}_std", category, clean_x)
            _snr_axis(ax, snrs, clean_x, has_clean)
            if row == 0:
                ax.set_title(f"{category} noise", fontsize=10)
            if col == 0:
                ax.set_ylabel(SE_LABELS[metric], fontsize=9)
    axes[0][-1].legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, Path(out))


def _example_models(experiments) -> list[str]:
    """The baseline (first) and the joint model(s); without those, up to three models."""
    types = experiments.model_types()
    with_si = [m for m in experiments.models
               if any(d.has_targets for d in _decode_with_any(experiments, m))]
    chosen = [m for m in experiments.baselines[:1] if m in with_si]
    chosen += [m for m in with_si if types.get(m) == "joint" and m not in chosen]
    if len(chosen) < 2:
        chosen += [m for m in with_si if m not in chosen][:3 - len(chosen)]
    return chosen


def _decode_with(experiments, model: str, utt: str):
    """The first decode dir of ``model``'s first experiment that predicted ``utt``."""
    exps = experiments.exps_of(model)
    for exp in exps:
        for d in experiments.decodes:
            if Path(os.path.normpath(d.exp_dir)) == exp and utt in d.tv_scp:
                return d
    return None


def _example_utterances(experiments, models: Sequence[str], lowest_snr: float | None,
                        utt: str | None) -> list[tuple[str, str, object]]:
    """``(label, utt, data dir)`` for the clean utterance and its lowest-SNR noisy versions."""
    first = _decode_with_any(experiments, models[0])
    clean_decodes = [d for d in first if not d.data.is_noisy]
    noisy_decodes = [d for d in first if d.data.is_noisy]
    candidates = sorted({u for d in clean_decodes for u in d.tv_scp}) if utt is None else [utt]
    for clean_utt in candidates:
        if not all(_decode_with(experiments, m, clean_utt) for m in models):
            continue
        found = [("clean", clean_utt)]
        for category in NOISY_CATEGORIES:
            if lowest_snr is None:
                break
            matches = sorted(
                row.utt for d in noisy_decodes for row in d.data.mix.values()
                if row.clean_utt == clean_utt and row.category == category
                and math.isclose(float(row.snr_db), lowest_snr) and row.utt in d.tv_scp)
            matches = [u for u in matches if all(_decode_with(experiments, m, u) for m in models)]
            if matches:
                found.append((f"{category} {format_snr(lowest_snr)} dB", matches[0]))
        if utt is not None or len(found) > 1 or lowest_snr is None:
            return found
    if utt is not None:
        log.warning("--plot-utt %s: not decoded by every plotted model (%s); no track plots",
                    utt, ", ".join(models))
    return []


def _decode_with_any(experiments, model: str):
    exps = set(experiments.exps_of(model))
    return [d for d in experiments.decodes if Path(os.path.normpath(d.exp_dir)) in exps]


def plot_example_tracks(experiments, summary: Summary, out_dir: str | os.PathLike,
                        utt: str | None = None) -> list[Path]:
    """Predicted vs reference trajectories of one utterance, clean and at the lowest SNR."""
    models = _example_models(experiments)
    if not models:
        return []
    snrs = sorted(float(s) for s in summary.per_model.loc[
        summary.per_model["category"] != "clean", "snr_db"].unique())
    examples = _example_utterances(experiments, models, snrs[0] if snrs else None, utt)
    out_paths = []
    for label, example_utt in examples:
        decodes = {m: _decode_with(experiments, m, example_utt) for m in models}
        data = next(iter(decodes.values())).data
        info = data.targets
        names = [n for n in info.names if all(n in d.targets.names for d in decodes.values())]
        ref = data.target_array(example_utt)
        tracks = {"reference": {n: ref[:, info.names.index(n)] for n in names}}
        for model, d in decodes.items():
            pred = load_target_file(d.tv_scp[example_utt], d.targets)
            tracks[model] = {n: pred[:, d.targets.names.index(n)] for n in names}
        units = [info.unit(n) for n in names]
        safe = label.replace(" ", "_").replace("/", "-")
        out = Path(out_dir) / f"tracks_{examples[0][1]}_{safe}.png"
        title = f"{data.name}/{example_utt} ({label}): reference vs {', '.join(models)}"
        out_paths.append(plot_tracks(data.audio(example_utt), tracks, names, units,
                                     info.frame_rate, out, title=title,
                                     phones=data.phones.get(example_utt, ())))
    return out_paths


def make_plots(experiments, summary: Summary, out_dir: str | os.PathLike,
               utt: str | None = None) -> list[Path]:
    """Every figure of the stage into ``out_dir``; returns the files written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [plot_ppmc_vs_snr(summary, out_dir / "ppmc_vs_snr.png"),
             plot_se_vs_snr(summary, out_dir / "se_vs_snr.png")]
    paths += plot_example_tracks(experiments, summary, out_dir, utt)
    written = [p for p in paths if p is not None]
    for p in written:
        log.info("wrote %s", p)
    return written
