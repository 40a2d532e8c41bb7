"""``RESULTS.md``: the headline table and the detail a speech scientist checks next.

Sections: a one-line finding at the lowest SNR; mean PPMC by SNR for babble and non-babble
(rows clean and each SNR, a column per model, the joint model's relative gain over each
baseline, n utterances per cell, mean ± std over seeds); relative improvement of every model;
paired comparisons with 95 % CIs over test utterances (``paired``);
per-target PPMC and RMSE at clean and the lowest SNR; mean PPMC per noise type at the lowest
SNR; speech-enhancement metrics, and the enhanced audio against its noisy input with 95 % CIs
(``se_paired``); excluded tracks; the models and data behind the numbers; how
the file was produced (command, date, git commit, sitool version).

Paths name no directory of the machine it ran on: links (figures, scores.tsv) are relative to
the file's own directory, experiment and data dirs to the recipe dir (the current directory,
where run.sh runs ``sitool score``).
"""

from __future__ import annotations

import datetime
import math
import os
import platform
import subprocess
from pathlib import Path
from typing import Sequence


import sitool
from sitool.io import atomic_write_text
from sitool.scoring import tables
from sitool.scoring.aggregate import (ALL_TYPES, SE_METRICS, SOURCE_FEATURES, TVS, Filters,
                                      Summary, format_snr, lookup)
from sitool.scoring.tables import (NOISY_INPUT, REFERENCE_MARK, SE_DIGITS, SE_LABELS, fmt_gain,
                                   fmt_number, markdown_table, reference_label, seed_label)

NOISY_CATEGORIES = ["babble", "non-babble"]


def git_commit(repo: str | os.PathLike | None = None) -> str:
    """``<short hash>`` of the code's checkout, ``+ local changes`` when dirty, or ``unknown``."""
    repo = Path(repo) if repo is not None else Path(sitool.__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short=12", "HEAD"],
                                capture_output=True, text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout)"
    return f"{commit} + local changes" if dirty else commit


def _relpath(path: Path, start: Path) -> str:
    try:
        return os.path.relpath(path, start)
    except ValueError:
        return str(path)


def recipe_path(path: str | os.PathLike, recipe_dir: Path) -> str:
    """``path`` relative to ``recipe_dir`` when it is inside it (``data/test``), else as given."""
    try:
        return str(Path(path).resolve().relative_to(recipe_dir.resolve()))
    except ValueError:
        return str(path)


def _noisy_snrs(summary: Summary) -> list[float]:
    """Noisy SNRs present, high to low."""
    snrs = summary.per_model.loc[summary.per_model["category"] != "clean", "snr_db"].unique()
    return sorted((float(s) for s in snrs), reverse=True)


def _condition(category: str, snr: float, noise_type: str | None = None) -> dict:
    if category == "clean":
        return {"category": "clean", "noise_type": "clean", "snr_db": math.inf}
    return {"category": category, "noise_type": noise_type or ALL_TYPES, "snr_db": snr}


def _featured(experiments, baselines: Sequence[str]) -> list[str]:
    """Models whose gain over the baselines the headline shows: joint models, else all
    non-baselines (never the filterbank references)."""
    types = experiments.model_types()
    rest = [m for m in experiments.models if m not in baselines and m not in experiments.references]
    joint = [m for m in rest if types.get(m) == "joint"]
    return joint or rest


def _rows_for_category(summary: Summary, category: str) -> list[dict]:
    rows = [_condition("clean", math.inf)]
    rows += [_condition(category, snr) for snr in _noisy_snrs(summary)]
    return [c for c in rows if any(summary.cell(m, c) is not None for m in summary.models)]


def _n_column(summary: Summary, condition: dict) -> tuple[str, dict[str, str]]:
    """The row's n when every model agrees, and per-model notes where one differs."""
    ns = {m: tables.n_label(summary.cell(m, condition)) for m in summary.models
          if summary.cell(m, condition) is not None}
    common = max(set(ns.values()), key=list(ns.values()).count) if ns else "0"
    notes = {m: f" (n={n})" for m, n in ns.items() if n != common}
    return common, notes


def headline_table(summary: Summary, category: str, baselines: Sequence[str],
                   featured: Sequence[str], references: Sequence[str] = ()) -> str:
    """Rows clean and each SNR; columns n, every model's mean PPMC (filterbank references
    marked), featured models' gains."""
    seeds = {m: int(summary.per_model.loc[summary.per_model["model"] == m, "n_seeds"].max())
             for m in summary.models if (summary.per_model["model"] == m).any()}
    models = [m for m in summary.models if m in seeds]
    gains = [(f, b) for f in featured for b in baselines if f != b and f in seeds and b in seeds]
    header = ["SNR [dB]", "n"] + [reference_label(seed_label(m, seeds[m]), m, references)
                                  for m in models]
    header += [f"{f} vs {b}" for f, b in gains]
    rows = []
    for cond in _rows_for_category(summary, category):
        n, notes = _n_column(summary, cond)
        row = [format_snr(cond["snr_db"]), n]
        for m in models:
            cell = summary.cell(m, cond)
            row.append("–" if cell is None else fmt_number(cell["mean"], 3, cell["std"]) + notes.get(m, ""))
        row += [fmt_gain(summary.gain(f, b, cond)) for f, b in gains]
        rows.append(row)
    return markdown_table(header, rows)


def gain_table(summary: Summary, baseline: str) -> str:
    """Relative improvement of every other model over ``baseline``: rows category x SNR."""
    models = [m for m in summary.models if m != baseline]
    header = ["condition"] + models
    rows = []
    seen = set()
    for category in NOISY_CATEGORIES:
        for cond in _rows_for_category(summary, category):
            label = tables.condition_label(cond)
            if label in seen:
                continue
            seen.add(label)
            rows.append([label] + [fmt_gain(summary.gain(m, baseline, cond)) for m in models])
    return markdown_table(header, rows)


def _all_targets(summary: Summary) -> list[str]:
    return list(dict.fromkeys(summary.per_target["target"]))


def _unit(summary: Summary, target: str) -> str:
    return str(summary.per_target.loc[summary.per_target["target"] == target, "unit"].iloc[0])


def target_table(summary: Summary, condition: dict, value: str) -> str:
    """Per-target ``ppmc`` (``value='mean'``) or ``rmse`` for every model in one condition."""
    targets = _all_targets(summary)
    if value == "rmse":
        header = ["model"] + [f"{t} [{_unit(summary, t)}]" for t in targets]
    else:
        header = ["model"] + targets + ["mean PPMC"]
    rows = []
    for m in summary.models:
        cell = summary.cell(m, condition)
        if cell is None:
            continue
        row = [m]
        for t in targets:
            tc = summary.target_cell(m, condition, t)
            if tc is None:
                row.append("–")
            elif value == "rmse":
                row.append(fmt_number(tc["rmse"], 3, tc["rmse_std"]))
            else:
                row.append(fmt_number(tc["mean"], 3, tc["std"]))
        if value != "rmse":
            row.append(fmt_number(cell["mean"], 3, cell["std"]))
        rows.append(row)
    return markdown_table(header, rows)


def noise_type_table(by_type: Summary, snr: float) -> str:
    """Mean PPMC per noise type at one SNR: rows noise types, columns models."""
    conds = by_type.conditions()
    conds = conds[(conds["category"] != "clean") & (conds["snr_db"] == snr)]
    header = ["noise type", "category", "n"] + by_type.models
    right = [False, False] + [True] * (len(header) - 2)
    rows = []
    for _, c in conds.iterrows():
        cond = c.to_dict()
        n, notes = _n_column(by_type, cond)
        row = [cond["noise_type"], cond["category"], n]
        for m in by_type.models:
            cell = by_type.cell(m, cond)
            row.append("–" if cell is None else fmt_number(cell["mean"], 3, cell["std"]) + notes.get(m, ""))
        rows.append(row)
    return markdown_table(header, rows, right=right)


def se_tables(summary: Summary) -> list[str]:
    """One table per SE metric: rows category x SNR, columns noisy input and each SE model."""
    se = summary.se
    systems = [s for s in [NOISY_INPUT, *summary.models] if (se["system"] == s).any()]
    seeds = {s: int(se.loc[se["system"] == s, "n_seeds"].max()) for s in systems}
    out = []
    for metric in SE_METRICS:
        header = ["condition", "n"] + [seed_label(s, seeds[s]) for s in systems]
        rows = []
        seen = set()
        for category in ["clean", *NOISY_CATEGORIES]:
            for cond in _rows_for_category(summary, category) if category != "clean" else \
                    [_condition("clean", math.inf)]:
                label = tables.condition_label(cond)
                cells = {s: lookup(se, {"system": s, **cond}) for s in systems}
                if label in seen or all(c is None for c in cells.values()):
                    continue
                seen.add(label)
                n = next(str(int(c["n_utts"])) for c in cells.values() if c is not None)
                row = [label, n]
                for s in systems:
                    c = cells[s]
                    if c is None:
                        row.append("—" if s == NOISY_INPUT and cond["category"] == "clean" else "–")
                        continue
                    text = fmt_number(c[metric], SE_DIGITS[metric], c[f"{metric}_std"])
                    if c[f"{metric}_missing"]:
                        text += f" ({int(c[f'{metric}_missing'])} unscored)"
                    row.append(text)
                rows.append(row)
        out.append(f"**{SE_LABELS[metric]}**\n\n" + markdown_table(header, rows))
    return out


def exclusions_table(summary: Summary) -> str | None:
    """Counts of excluded (constant reference) and flat-prediction tracks per model and target."""
    tt = summary.per_target
    counts = tt.groupby(["model", "target"], sort=False).agg(
        const_ref=("const_ref", "sum"), const_pred=("const_pred", "sum"),
        n=("n_utts", "sum")).reset_index()
    counts = counts[(counts["const_ref"] > 0) | (counts["const_pred"] > 0)]
    if counts.empty:
        return None
    rows = [[r.model, r.target, str(int(r.const_ref)), str(int(r.const_pred)), str(int(r.n))]
            for r in counts.itertuples()]
    return markdown_table(["model", "target", "excluded (constant reference)",
                           "PPMC = 0 (constant prediction)", "utterance tracks"], rows)


def models_table(experiments, recipe_dir: Path) -> str:
    rows = []
    for model in experiments.models:
        exps = experiments.exps_of(model)
        decodes = [d for d in experiments.decodes if experiments.model_of(d) == model]
        types = sorted({d.model_type + (" (fbank)" if d.frontend == "fbank" else "")
                        for d in decodes})
        checkpoints = sorted({d.checkpoint for d in decodes})
        sets = sorted({f"{d.set_name} ({len(d.tv_scp or d.enhanced_scp)})" for d in decodes})
        data = sorted({recipe_path(d.meta["data_dir"], recipe_dir) if d.meta.get("data_dir")
                       else "?" for d in decodes})
        rows.append([model, ", ".join(types), ", ".join(recipe_path(e, recipe_dir) for e in exps),
                     ", ".join(checkpoints), ", ".join(sets), ", ".join(data)])
    return markdown_table(["model", "type", "experiment dir(s)", "checkpoint",
                           "decoded sets (utterances)", "data dirs"], rows,
                          right=[False] * 6)


def _gains_at(summary: Summary, model: str, base: str, snr: float) -> list[str]:
    """``+x % in <category> noise (base → model)`` for each noisy category at ``snr``."""
    gains = []
    for category in NOISY_CATEGORIES:
        cond = _condition(category, snr)
        cell, bcell = summary.cell(model, cond), summary.cell(base, cond)
        if cell is not None and bcell is not None:
            gains.append(f"{fmt_gain(summary.gain(model, base, cond))} in {category} noise "
                         f"({fmt_number(bcell['mean'])} → {fmt_number(cell['mean'])})")
    return gains


def finding(summary: Summary, baselines: Sequence[str], featured: Sequence[str],
            references: Sequence[str] = ()) -> str | None:
    """One sentence: the featured models' gain over the first baseline at the lowest SNR, and
    one over each filterbank reference."""
    snrs = _noisy_snrs(summary)
    if not snrs or not (baselines or references):
        return None
    lowest = snrs[-1]
    sentences = []
    if baselines:
        base = baselines[0]
        parts = [f"mean PPMC of **{m}** relative to {base}: " + ", ".join(gains)
                 for m in featured if m != base
                 for gains in [_gains_at(summary, m, base, lowest)] if gains]
        if parts:
            sentences.append(f"At {format_snr(lowest)} dB SNR, " + "; ".join(parts) + ".")
    for ref in references:
        parts = [f"**{m}** " + ", ".join(gains) for m in featured
                 for gains in [_gains_at(summary, m, ref, lowest)] if gains]
        if parts:
            sentences.append(f"Relative to the log-mel filterbank reference {ref} at "
                             f"{format_snr(lowest)} dB: " + "; ".join(parts) + ".")
    return " ".join(sentences) or None


def conditions_note(by_type: Summary) -> str:
    """Which noise types make up each category and which SNRs were tested."""
    conds = by_type.conditions()
    noisy = conds[conds["category"] != "clean"]
    parts = []
    for category, group in noisy.groupby("category", sort=False):
        parts.append(f"{category}: {', '.join(sorted(set(group['noise_type'])))}")
    snrs = sorted(set(noisy["snr_db"]), reverse=True)
    text = "Test conditions: clean speech"
    if parts:
        text += f"; noise types {'; '.join(parts)}; SNRs {', '.join(format_snr(s) for s in snrs)} dB"
    return text + " (conditions as in each noisy set's mix.tsv)."


def headline_note(summary: Summary, recipe_dir: Path) -> str:
    """One line: which targets the headline mean PPMC is over, why, and which are left out."""
    left_out = [t for t in _all_targets(summary) if t not in summary.targets]
    if summary.headline_file is not None:
        why = f"the `headline:` list of {recipe_path(summary.headline_file, recipe_dir)}"
    elif summary.targets == list(TVS):
        why = "the default: the six tract variables"
    else:
        why = ("the default: every target the models share but the source features "
               f"({', '.join(SOURCE_FEATURES)})")
    text = f"Headline targets (mean PPMC): {', '.join(summary.targets)} ({why}"
    if left_out:
        text += f"; not in it: {', '.join(left_out)}, see the per-target tables"
    return text + "; a `headline:` list in the data dir's `targets` file chooses others)."


def render_results(experiments, headline: Summary, by_type: Summary, filters: Filters,
                   sets: Sequence[str], plots: Sequence[Path] = (), out_dir: Path = Path("."),
                   command: str | None = None, paired=None, se_paired=None,
                   recipe_dir: Path | None = None) -> str:
    """The text of RESULTS.md; ``headline`` and ``by_type`` are pooled over ``sets``;
    ``recipe_dir`` (default: the current directory) is what experiment and data dirs are
    written relative to."""
    recipe_dir = Path.cwd() if recipe_dir is None else Path(recipe_dir)
    baselines = experiments.baselines
    featured = _featured(experiments, baselines)
    now = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    lines = ["# Results: speech inversion in noise", ""]
    lines.append(
        f"Scored {now} by sitool {sitool.__version__} (commit {git_commit()}). "
        f"Models: {', '.join(experiments.models)}"
        + (f"; baseline(s): {', '.join(baselines)}" if baselines else "") + ".")
    lines.append("")
    references = experiments.references
    sentence = finding(headline, baselines, featured, references)
    if sentence:
        lines += [sentence, ""]
    lines += [conditions_note(by_type), "", headline_note(headline, recipe_dir), ""]
    lines += [
        "## Mean PPMC by SNR",
        "",
        f"Mean PPMC = Pearson correlation between predicted and reference trajectory, per target "
        f"and utterance, averaged over utterances, then over the targets {', '.join(headline.targets)}. "
        "Higher is better (1 = perfect shape). n = test utterances behind each cell (per seed; "
        "`(n=…)` marks a cell with a different count). Models trained with several seeds show "
        "mean ± std over seeds. `A vs B` = relative improvement 100·(P_A − P_B)/P_B in %. "
        "The clean row is the same reference point in both tables. Definitions: docs/scoring.md.",
        "",
    ]
    for category in NOISY_CATEGORIES:
        if not _rows_for_category(headline, category) or all(
                c["category"] == "clean" for c in _rows_for_category(headline, category)):
            continue
        lines += [f"### {category.capitalize()} noise", "",
                  headline_table(headline, category, baselines, featured, references), ""]
    if not any(c != "clean" for c in headline.per_model["category"]):
        lines += ["### Clean speech", "",
                  headline_table(headline, "clean", baselines, featured, references), ""]
    if references:
        lines += [f"{REFERENCE_MARK}: reference on log-mel filterbanks (no SSL) with the same "
                  "SI head, as SUPERB reports FBANK: the floor every SSL model must clear.", ""]
    for plot in plots:
        if plot.name.startswith("ppmc_vs_snr"):
            lines += [f"![Mean PPMC vs SNR]({_relpath(plot, out_dir)})", ""]
    for base in baselines:
        if len(headline.models) > 1 and _noisy_snrs(headline):
            lines += [f"## Relative improvement over {base} (%)", "", gain_table(headline, base), ""]
    for ref in references:
        if len(headline.models) > 1 and _noisy_snrs(headline):
            lines += [f"## Relative improvement over the filterbank reference {ref} (%)", "",
                      gain_table(headline, ref), ""]
    if paired is not None:
        from sitool.scoring.paired import markdown_section

        lines += markdown_section(paired, headline.keys)
    snrs = _noisy_snrs(headline)
    lines += ["## Per-target PPMC", "",
              "Every predicted target (including velum, F0 and voicing when present), mean over "
              "utterances (± std over seeds).", ""]
    detail_conditions = [_condition("clean", math.inf)]
    if snrs:
        detail_conditions += [_condition(c, snrs[-1]) for c in NOISY_CATEGORIES]
    detail_conditions = [c for c in detail_conditions
                         if any(headline.cell(m, c) is not None for m in headline.models)]
    for cond in detail_conditions:
        lines += [f"### {tables.condition_label(cond)}", "", target_table(headline, cond, "mean"), ""]
    lines += ["## Per-target RMSE", "",
              "Root-mean-square error in the targets' units, mean over utterances.", ""]
    for cond in detail_conditions:
        lines += [f"### {tables.condition_label(cond)}", "", target_table(headline, cond, "rmse"), ""]
    if snrs:
        lines += [f"## Mean PPMC by noise type at {format_snr(snrs[-1])} dB", "",
                  noise_type_table(by_type, snrs[-1]), ""]
    if headline.se is not None and not headline.se.empty:
        lines += ["## Speech enhancement", "",
                  "Enhanced audio of models with an SE head and the unprocessed noisy input, each "
                  "against the clean reference: PESQ (wide-band, ITU-T P.862.2, 1.04–4.64), STOI "
                  "(0–1), SI-SDR (dB, capped at 100). Mean over utterances.", ""]
        for table in se_tables(headline):
            lines += [table, ""]
        if se_paired is not None:
            from sitool.scoring.paired import se_markdown_lines

            lines += se_markdown_lines(se_paired, headline.keys)
    excl = exclusions_table(headline)
    if excl:
        lines += ["## Constant tracks", "",
                  "PPMC is undefined for a track that does not vary. A constant reference track "
                  "leaves that utterance out of the target's average; a constant prediction of a "
                  "varying reference counts as PPMC 0. Counts over all scored conditions "
                  "(summed over seeds):", "",
                  excl, ""]
    example = [p for p in plots if not p.name.startswith(("ppmc_vs_snr", "se_vs_snr"))]
    se_plots = [p for p in plots if p.name.startswith("se_vs_snr")]
    if example or se_plots:
        lines += ["## Figures", ""]
        for plot in se_plots + example:
            lines += [f"![{plot.stem}]({_relpath(plot, out_dir)})", ""]
    lines += ["## Models and data", "", models_table(experiments, recipe_dir), ""]
    lines += ["## How this was produced", ""]
    if command:
        lines += ["```sh", command, "```", ""]
    lines += [
        f"- date: {now}; host: {platform.node()}",
        f"- sitool {sitool.__version__}, commit {git_commit()}",
        f"- headline sets (pooled): {', '.join(sets)}; filters: {filters.describe()}",
        "- per-utterance scores (one row per utterance and target): "
        + ", ".join(f"`{_relpath(d.path / 'scores.tsv', out_dir)}`" for d in experiments.decodes),
        "- recompute any table from those files without re-scoring: "
        "`sitool score --exp exp/TAG ... [--snr X] [--noise N]` (cached by content).",
        "",
    ]
    return "\n".join(lines)


def write_results(path: str | os.PathLike, experiments, headline: Summary, by_type: Summary,
                  filters: Filters, sets: Sequence[str], plots: Sequence[Path] = (),
                  command: str | None = None, paired=None, se_paired=None) -> Path:
    """Write RESULTS.md atomically (``paired``: a ``paired.paired_comparisons`` frame for the
    "Paired comparisons" section; ``se_paired``: a ``paired.se_against_input`` frame for the
    speech-enhancement section); returns its path."""
    path = Path(path)
    text = render_results(experiments, headline, by_type, filters, sets, plots,
                          out_dir=path.resolve().parent, command=command, paired=paired,
                          se_paired=se_paired)
    atomic_write_text(path, text)
    return path
