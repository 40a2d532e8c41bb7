"""Tables for people: number formatting, plain-text and Markdown tables, and the ``sitool score`` printout.

The printout has one block per condition (set, category, noise, SNR); inside it one row per
model with its mean PPMC (± std over seeds), the relative improvement over each baseline and
the per-target PPMC. ``--rmse`` adds per-target RMSE rows; SE metrics get their own block.
"""

from __future__ import annotations

import math
from typing import Sequence

import pandas as pd

from sitool.scoring.aggregate import SE_METRICS, Summary, format_snr, lookup, sort_conditions

NOISY_INPUT = "noisy input"
SE_LABELS = {"pesq": "PESQ", "stoi": "STOI", "si_sdr": "SI-SDR [dB]", "estoi": "ESTOI",
             "pesq_nb": "PESQ-NB", "csig": "CSIG", "cbak": "CBAK", "covl": "COVL"}
SE_DIGITS = {"pesq": 2, "stoi": 3, "si_sdr": 1, "estoi": 3, "pesq_nb": 2, "csig": 2, "cbak": 2,
             "covl": 2}


def _finite(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def fmt_number(value, digits: int = 3, std=None) -> str:
    """``0.812`` or ``0.812 ± 0.010``; ``–`` when missing."""
    if not _finite(value):
        return "–"
    text = f"{value:.{digits}f}"
    if _finite(std):
        text += f" ± {std:.{digits}f}"
    return text


def fmt_gain(value: float) -> str:
    """Relative improvement in %, signed; ``n/a`` when undefined."""
    if not _finite(value):
        return "n/a"
    return f"{value:+.1f} %"


def condition_label(condition: dict) -> str:
    """``clean``, ``babble -5 dB``, ``non-babble/white 0 dB``, prefixed with the set when present."""
    category = condition.get("category")
    noise_type = condition.get("noise_type")
    snr = condition.get("snr_db")
    if category == "clean":
        label = "clean"
    else:
        name = category if noise_type in (None, "all", category) else f"{category}/{noise_type}"
        label = f"{name} {format_snr(snr)} dB"
    if "set" in condition:
        label = f"{condition['set']}: {label}"
    return label


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool] | None = None) -> str:
    """A plain-text table with aligned columns (``right[i]`` right-aligns column i)."""
    right = list(right) if right is not None else [False] + [True] * (len(header) - 1)
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells):
        return "  ".join(str(c).rjust(w) if r else str(c).ljust(w)
                         for c, w, r in zip(cells, widths, right)).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool] | None = None) -> str:
    """A GitHub-flavoured Markdown table (``right[i]`` right-aligns column i)."""
    right = list(right) if right is not None else [False] + [True] * (len(header) - 1)
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---:" if r else ":---" for r in right) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def seed_label(model: str, n_seeds: int) -> str:
    return model if n_seeds <= 1 else f"{model} ({n_seeds} seeds)"


REFERENCE_MARK = "[fbank ref.]"


def reference_label(label: str, model: str, references: Sequence[str]) -> str:
    """``label`` marked as a log-mel filterbank reference row when ``model`` is one."""
    return f"{label} {REFERENCE_MARK}" if model in references else label


def n_label(cell: pd.Series | None) -> str:
    """Utterances per seed behind a cell (``a–b`` when seeds differ)."""
    if cell is None:
        return "0"
    lo, hi = int(cell["n_utts"]), int(cell["n_utts_max"])
    return str(lo) if lo == hi else f"{lo}–{hi}"


def condition_block(summary: Summary, condition: dict, baselines: Sequence[str],
                    show_rmse: bool = False, references: Sequence[str] = ()) -> str:
    """The printout of one condition: a row per model, then SE metrics when present."""
    targets = list(dict.fromkeys(summary.per_target["target"]))
    header = ["model", "seeds", "n", "mean PPMC"] + [f"vs {b}" for b in baselines] + targets
    rows = []
    for model in summary.models:
        cell = summary.cell(model, condition)
        if cell is None:
            continue
        row = [reference_label(model, model, references), str(int(cell["n_seeds"])), n_label(cell),
               fmt_number(cell["mean"], 3, cell["std"])]
        row += ["—" if model == b else fmt_gain(summary.gain(model, b, condition)) for b in baselines]
        for target in targets:
            tc = summary.target_cell(model, condition, target)
            row.append(fmt_number(tc["mean"], 3) if tc is not None else "–")
        rows.append(row)
    title = f"== {condition_label(condition)} =="
    parts = [title, text_table(header, rows)]
    if show_rmse:
        units = {t: summary.per_target.loc[summary.per_target["target"] == t, "unit"].iloc[0]
                 for t in targets}
        rmse_rows = []
        for model in summary.models:
            if summary.cell(model, condition) is None:
                continue
            row = [model]
            for target in targets:
                tc = summary.target_cell(model, condition, target)
                row.append(fmt_number(tc["rmse"], 3) if tc is not None else "–")
            rmse_rows.append(row)
        parts += ["RMSE per target:", text_table(["model"] + [f"{t} [{units[t]}]" for t in targets],
                                                 rmse_rows)]
    if summary.se is not None:
        se_rows = se_table_rows(summary.se, summary.models, condition)
        if se_rows:
            parts += ["Speech enhancement (vs clean reference):", se_text_table(se_rows)]
    return "\n".join(parts)


def se_text_table(rows: list[list[str]]) -> str:
    return text_table(["system", "n"] + [SE_LABELS[m] for m in SE_METRICS], rows)


def se_table_rows(se: pd.DataFrame, models: Sequence[str], condition: dict) -> list[list[str]]:
    """``[system, n, PESQ, STOI, SI-SDR, ...]`` rows of one condition of the SE summary ``se``
    (``aggregate.summarise_se``): noisy input first, then ``models``."""
    rows = []
    for system in [NOISY_INPUT, *models]:
        cell = lookup(se, {"system": system, **condition})
        if cell is None:
            continue
        label = seed_label(system, int(cell["n_seeds"]))
        row = [label, str(int(cell["n_utts"]))]
        for m in SE_METRICS:
            text = fmt_number(cell[m], SE_DIGITS[m], cell[f"{m}_std"])
            if cell[f"{m}_missing"]:
                text += f" ({int(cell[f'{m}_missing'])} unscored)"
            row.append(text)
        rows.append(row)
    return rows


def print_se_summary(se: pd.DataFrame, keys: Sequence[str], models: Sequence[str]) -> str:
    """The printout for models without an SI head: one SE table per condition."""
    blocks = []
    for _, cond in sort_conditions(se[list(keys)].drop_duplicates()).iterrows():
        condition = cond.to_dict()
        blocks.append(f"== {condition_label(condition)} ==\n"
                      f"{se_text_table(se_table_rows(se, models, condition))}")
    return ("Speech enhancement (vs clean reference): mean over utterances (± std over seeds).\n\n"
            + "\n\n".join(blocks) + "\n")


def print_summary(summary: Summary, baselines: Sequence[str], show_rmse: bool = False,
                  references: Sequence[str] = ()) -> str:
    """The full ``sitool score`` printout: a heading, then one block per condition
    (``references``: models whose rows are marked as filterbank references)."""
    lines = [f"Mean PPMC over {' '.join(summary.targets)}: Pearson r per target and utterance, "
             "averaged over utterances, then over targets. n = utterances (per seed)."]
    if baselines:
        lines.append("vs B = relative improvement 100 (P - P_B) / P_B in % over baseline B.")
    if references:
        lines.append(f"{REFERENCE_MARK} = reference on log-mel filterbanks (no SSL), the floor "
                     "the SSL models must clear.")
    blocks = []
    for _, cond in summary.conditions().iterrows():
        blocks.append(condition_block(summary, cond.to_dict(), baselines, show_rmse, references))
    return "\n".join(lines) + "\n\n" + "\n\n".join(blocks) + "\n"
