"""Paired comparisons of two models over the test utterances they share, with 95 % CIs.

The method (docs/scoring.md, "Paired comparisons", has the long form):

1. **Utterance score** = mean over the headline targets of the utterance's PPMC (targets with
   a constant reference track, ``ppmc = NA``, left out of that utterance's mean).
2. **Seeds.** A model with several seeds (``X``, ``X_seed2``, ...) gets, per utterance, the
   mean of its seeds' utterance scores; only then are two models paired. The CI is therefore
   over test utterances, not over seeds (the seed spread is the ``± std`` of the tables).
3. **Pairs.** Model A and baseline B are paired on the utterances both decoded in the same
   condition cell (same set, utterance id, hence same clean utterance, noise and SNR).
4. **Statistics.** ``diff`` = mean over pairs of (A − B); ``gain`` = 100 (mean A − mean B) /
   mean B in %.
5. **CI.** Bootstrap, :data:`N_BOOT` resamples, fixed seed :data:`SEED`, resampling **clean
   utterances** with replacement (a cluster bootstrap): every pair whose mixture was made from a
   drawn clean utterance enters once per draw, since the mixtures of one sentence (noise types
   pooled in a cell) are not independent. For clean speech a cluster is one utterance. The
   interval is the *expanded percentile* interval (Hesterberg 2015): the plain percentile
   interval is too narrow with few clusters (it behaves like mean ± z·s·sqrt((n−1)/n) instead
   of ± t·s), so the tail probability α/2 = 2.5 % is replaced by Φ(−sqrt(n/(n−1))·t_{n−1,
   0.975}) (n = clusters; 1.08 % for n = 12, → 2.5 % for large n). A comparison is *better* or
   *worse* when the interval of the difference excludes 0.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from sitool.scoring.aggregate import relative_improvement, sort_conditions
from sitool.scoring.tables import (NOISY_INPUT, SE_DIGITS, SE_LABELS, condition_label,
                                   markdown_table, text_table)

N_BOOT = 10_000
SEED = 0
LEVEL = 0.95
PAIR_KEYS = ["set", "utt", "clean_utt"]
CHUNK = 1 << 21          # cluster indices per bootstrap block (16 MiB of int64)


def utterance_scores(si: pd.DataFrame, targets: Sequence[str], keys: Sequence[str]) -> pd.DataFrame:
    """One row per (model, exp, keys..., set, utt, clean_utt): ``score`` = mean PPMC over
    ``targets`` with a defined PPMC (NaN when none)."""
    by = list(dict.fromkeys(["model", "exp", *keys, *PAIR_KEYS]))
    sub = si[si["target"].isin(list(targets))]
    return (sub.groupby(by, sort=False, dropna=False)["ppmc"].mean()
            .rename("score").reset_index())


def seed_average(utts: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """Per (model, keys..., set, utt, clean_utt): the mean over the model's seeds (exps) of the
    utterance score, and ``n_seeds`` (seeds that decoded and scored it)."""
    by = list(dict.fromkeys(["model", *keys, *PAIR_KEYS]))
    return (utts.dropna(subset=["score"]).groupby(by, sort=False, dropna=False)
            .agg(score=("score", "mean"), n_seeds=("exp", "nunique")).reset_index())


def pair(scores: pd.DataFrame, model: str, baseline: str, keys: Sequence[str]) -> pd.DataFrame:
    """The utterances ``model`` and ``baseline`` share, one row each: keys, set, utt,
    clean_utt, ``a`` (model score), ``b`` (baseline score)."""
    on = list(dict.fromkeys([*keys, *PAIR_KEYS]))
    a = scores.loc[scores["model"] == model, [*on, "score"]].rename(columns={"score": "a"})
    b = scores.loc[scores["model"] == baseline, [*on, "score"]].rename(columns={"score": "b"})
    return a.merge(b, on=on, how="inner")


def cluster_sums(pairs: pd.DataFrame, cluster: str = "clean_utt") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per cluster (sorted by name, so the resampling is reproducible): sum of ``a``, sum of
    ``b`` and the number of pairs."""
    g = pairs.groupby(cluster, sort=True)
    return (g["a"].sum().to_numpy(float), g["b"].sum().to_numpy(float),
            g.size().to_numpy(float))


def bootstrap_indices(n_clusters: int, n_boot: int = N_BOOT, seed: int = SEED):
    """The resamples' cluster indices, drawn with replacement (numpy PCG64, ``seed``), as
    ``[rows, n_clusters]`` blocks of at most :data:`CHUNK` numbers, ``n_boot`` rows in all
    (blocks bound the memory; the draws are those of one ``[n_boot, n_clusters]`` call)."""
    rng = np.random.default_rng(seed)
    rows = max(1, CHUNK // max(1, n_clusters))
    for start in range(0, n_boot, rows):
        yield rng.integers(0, n_clusters, size=(min(rows, n_boot - start), n_clusters),
                           dtype=np.int32)


def resampled_means(sum_a: np.ndarray, sum_b: np.ndarray, count: np.ndarray,
                    idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean of ``a`` and of ``b`` over the pairs of each resample (rows of ``idx``)."""
    if np.all(count == count[0]):            # e.g. clean speech: one pair per cluster
        n = count[0] * idx.shape[1]
    else:
        n = count[idx].sum(axis=1)
    return sum_a[idx].sum(axis=1) / n, sum_b[idx].sum(axis=1) / n


def bootstrap_means(sum_a: np.ndarray, sum_b: np.ndarray, count: np.ndarray,
                    n_boot: int = N_BOOT, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """:func:`resampled_means` over every block of :func:`bootstrap_indices`: ``n_boot`` values each."""
    parts = [resampled_means(sum_a, sum_b, count, idx)
             for idx in bootstrap_indices(len(count), n_boot, seed)]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def expanded_tail(n_clusters: int, level: float = LEVEL) -> float:
    """Tail probability for the expanded percentile interval of a mean over ``n_clusters``:
    Φ(−sqrt(n/(n−1)) t_{n−1, 1−α/2}) with α = 1 − ``level`` (0 below 2 clusters)."""
    if n_clusters < 2:
        return 0.0
    t = stats.t.ppf(1 - (1 - level) / 2, n_clusters - 1)
    return float(stats.norm.cdf(-math.sqrt(n_clusters / (n_clusters - 1)) * t))


def percentile_ci(samples: np.ndarray, tail: float = (1 - LEVEL) / 2) -> tuple[float, float]:
    """The ``tail``-th and (1 − ``tail``)-th quantiles of ``samples`` (NaNs dropped; NaN if none)."""
    samples = samples[np.isfinite(samples)]
    if samples.size == 0:
        return math.nan, math.nan
    tail = 100 * tail
    lo, hi = np.percentile(samples, [tail, 100 - tail])
    return float(lo), float(hi)


def compare_pairs(pairs: pd.DataFrame, n_boot: int = N_BOOT, seed: int = SEED,
                  level: float = LEVEL) -> dict:
    """Paired statistics of one cell: ``n_pairs``, ``n_clusters``, ``mean_a``, ``mean_b``,
    ``diff`` and ``gain`` (%) with their bootstrap CIs (``*_lo``, ``*_hi``)."""
    n_clusters = int(pairs["clean_utt"].nunique())
    mean_a = float(pairs["a"].mean()) if len(pairs) else math.nan
    mean_b = float(pairs["b"].mean()) if len(pairs) else math.nan
    out = {"n_pairs": len(pairs), "n_clusters": n_clusters, "mean_a": mean_a, "mean_b": mean_b,
           "diff": mean_a - mean_b, "gain": relative_improvement(mean_a, mean_b)}
    if n_clusters < 2:                        # no spread to resample: no interval
        return {**out, "diff_lo": math.nan, "diff_hi": math.nan, "gain_lo": math.nan,
                "gain_hi": math.nan}
    sum_a, sum_b, count = cluster_sums(pairs)
    boot_a, boot_b = bootstrap_means(sum_a, sum_b, count, n_boot, seed)
    with np.errstate(divide="ignore", invalid="ignore"):
        boot_gain = np.where(boot_b > 0, 100.0 * (boot_a - boot_b) / boot_b, np.nan)
    tail = expanded_tail(len(count), level)
    diff_lo, diff_hi = percentile_ci(boot_a - boot_b, tail)
    gain_lo, gain_hi = percentile_ci(boot_gain, tail) if mean_b > 0 else (math.nan, math.nan)
    return {**out, "diff_lo": diff_lo, "diff_hi": diff_hi, "gain_lo": gain_lo, "gain_hi": gain_hi}


def comparison_list(models: Sequence[str], baselines: Sequence[str],
                    references: Sequence[str] = ()) -> list[tuple[str, str]]:
    """``(model, baseline)``: every model against every baseline, each unordered pair once
    (a baseline is compared only against the baselines listed before it); then every other
    model against each reference (the filterbank rows, which are not compared with each other)."""
    out = []
    others = [m for m in models if m not in references]
    for j, base in enumerate(baselines):
        for model in others:
            if model == base or (model in baselines and list(baselines).index(model) < j):
                continue
            out.append((model, base))
    for ref in references:
        out += [(model, ref) for model in others]
    return out


def paired_comparisons(si: pd.DataFrame, models: Sequence[str], baselines: Sequence[str],
                       keys: Sequence[str], targets: Sequence[str], n_boot: int = N_BOOT,
                       seed: int = SEED, level: float = LEVEL,
                       references: Sequence[str] = ()) -> pd.DataFrame:
    """Every (model, baseline) comparison in every condition cell of the filtered SI rows.

    One row per (model, baseline, keys...) with the columns of :func:`compare_pairs` and
    ``excludes_zero`` (the CI of the difference excludes 0). Empty without baselines and references.
    """
    keys = list(keys)
    columns = ["model", "baseline", *keys, "n_pairs", "n_clusters", "mean_a", "mean_b", "diff",
               "diff_lo", "diff_hi", "gain", "gain_lo", "gain_hi", "excludes_zero"]
    scores = seed_average(utterance_scores(si, targets, keys), keys)
    rows = []
    for model, base in comparison_list(models, baselines, references):
        rows += cell_rows(pair(scores, model, base, keys), keys, {"model": model, "baseline": base},
                          n_boot, seed, level)
    df = pd.DataFrame(rows, columns=columns)
    if df.empty:
        return df
    return sort_conditions(df).reset_index(drop=True)


def cell_rows(pairs: pd.DataFrame, keys: Sequence[str], label: dict, n_boot: int = N_BOOT,
              seed: int = SEED, level: float = LEVEL) -> list[dict]:
    """One row per condition cell (``keys``) of ``pairs``: ``label``, the cell's keys, the
    statistics of :func:`compare_pairs` and ``excludes_zero``."""
    rows = []
    for cond, cell in pairs.groupby(list(keys), sort=False, dropna=False):
        cond = cond if isinstance(cond, tuple) else (cond,)
        stats = compare_pairs(cell, n_boot, seed, level)
        excludes = bool(stats["diff_lo"] > 0 or stats["diff_hi"] < 0)
        rows.append({**label, **dict(zip(keys, cond)), **stats, "excludes_zero": excludes})
    return rows


# ---------------------------------------------------------------- enhanced audio vs its input

SE_COMPARED = ("pesq", "stoi", "si_sdr")   # the SE measures compared with the noisy input


def se_against_input(se: pd.DataFrame, systems: Sequence[str], keys: Sequence[str],
                     metrics: Sequence[str] = SE_COMPARED, n_boot: int = N_BOOT,
                     seed: int = SEED, level: float = LEVEL) -> pd.DataFrame:
    """Each SE system's enhanced audio against the unprocessed input it was given (the
    ``NOISY_INPUT`` rows of ``se``), in every condition cell and for every metric.

    Paired per mixture: ``a`` = the enhanced audio's score (a system's seeds averaged per
    mixture first), ``b`` = the input's score, both against the clean reference; the CI is the
    cluster bootstrap of :func:`compare_pairs`. One row per (system, metric, keys...) with
    the columns of :func:`compare_pairs` and ``excludes_zero``.
    """
    keys = list(keys)
    on = list(dict.fromkeys([*keys, *PAIR_KEYS]))
    noisy = se[se["system"] == NOISY_INPUT]
    rows = []
    for system in systems:
        enhanced = se[se["system"] == system]
        if enhanced.empty:
            continue
        for metric in metrics:
            a = (enhanced.dropna(subset=[metric]).groupby(on, sort=False, dropna=False)[metric]
                 .mean().rename("a").reset_index())
            b = noisy.dropna(subset=[metric])[[*on, metric]].rename(columns={metric: "b"})
            rows += cell_rows(a.merge(b, on=on, how="inner"), keys,
                              {"system": system, "metric": metric}, n_boot, seed, level)
    columns = ["system", "metric", *keys, "n_pairs", "n_clusters", "mean_a", "mean_b", "diff",
               "diff_lo", "diff_hi", "gain", "gain_lo", "gain_hi", "excludes_zero"]
    df = pd.DataFrame(rows, columns=columns)
    if df.empty:
        return df
    return sort_conditions(df).reset_index(drop=True)


def se_table_rows(df: pd.DataFrame, keys: Sequence[str]) -> list[list[str]]:
    """``[condition, system, n (clean utts), then per metric: input → enhanced, Δ [CI] verdict]``,
    one row per (condition, system)."""
    rows = []
    metrics = _se_metrics(df)
    for (system, *_), group in df.groupby(["system", *keys], sort=False, dropna=False):
        first = group.iloc[0]
        row = [_label(first, keys), system, f"{int(first['n_pairs'])} ({int(first['n_clusters'])})"]
        for metric in metrics:
            cell = group[group["metric"] == metric]
            if cell.empty:
                row.append("n/a")
                continue
            r = cell.iloc[0]
            digits = SE_DIGITS[metric]
            row.append(f"{r['mean_b']:.{digits}f} → {r['mean_a']:.{digits}f}, "
                       f"{fmt_ci(r['diff'], r['diff_lo'], r['diff_hi'], digits + 1, '')} "
                       f"{verdict(r)}")
        rows.append(row)
    return rows


def _se_metrics(df: pd.DataFrame) -> list[str]:
    """The compared SE measures present in ``df``, in table order."""
    present = set(df["metric"])
    return [m for m in SE_COMPARED if m in present]


def _se_header(df: pd.DataFrame) -> list[str]:
    return ["condition", "system", "n pairs (clean utts)",
            *[f"{SE_LABELS[m]}: input → enhanced, Δ [95 % CI]" for m in _se_metrics(df)]]


def _se_alignment(df: pd.DataFrame) -> list[bool]:
    return [False, False, True] + [False] * (len(_se_header(df)) - 3)


def describe_se_method(n_boot: int = N_BOOT, seed: int = SEED) -> str:
    return ("Each system's enhanced audio against the noisy input it was given, both scored "
            "against the clean reference, paired per mixture (a system's seeds averaged per "
            f"mixture first). 95 % CIs of the difference as above: {n_boot} cluster-bootstrap "
            f"resamples (seed {seed}) of the clean utterances. `better`/`worse` = the CI "
            "excludes 0; `inside noise` = it does not.")


def se_text_section(df: pd.DataFrame, keys: Sequence[str]) -> str:
    """The ``sitool score`` printout block of enhanced-vs-input comparisons ('' when none)."""
    if df.empty:
        return ""
    return ("== Speech enhancement vs the noisy input (95 % CI over test utterances) ==\n"
            + describe_se_method() + "\n"
            + text_table(_se_header(df), se_table_rows(df, keys), right=_se_alignment(df))
            + "\n")


def se_markdown_lines(df: pd.DataFrame, keys: Sequence[str]) -> list[str]:
    """RESULTS.md lines of the enhanced-vs-input comparisons ([] when there are none)."""
    if df.empty:
        return []
    return ["### Enhanced audio vs the noisy input (95 % CI over test utterances)", "",
            describe_se_method(), "",
            markdown_table(_se_header(df), se_table_rows(df, keys), right=_se_alignment(df)),
            ""]


# ---------------------------------------------------------------- presentation

def fmt_ci(value: float, lo: float, hi: float, digits: int = 1, unit: str = " %") -> str:
    """``+9.4 % [+3.1, +15.8]``; ``n/a`` when undefined."""
    if not np.isfinite(value):
        return "n/a"
    text = f"{value:+.{digits}f}{unit}"
    if np.isfinite(lo) and np.isfinite(hi):
        text += f" [{lo:+.{digits}f}, {hi:+.{digits}f}]"
    return text


def verdict(row: pd.Series) -> str:
    """``better`` / ``worse`` when the CI of the difference excludes 0, else ``inside noise``;
    ``no CI (1 sentence)`` when the cell has fewer than two clean utterances (no interval)."""
    if not (np.isfinite(row["diff_lo"]) and np.isfinite(row["diff_hi"])):
        return f"no CI ({int(row['n_clusters'])} sentence)"
    if not row["excludes_zero"]:
        return "inside noise"
    return "better" if row["diff"] > 0 else "worse"


def _label(row: pd.Series, keys: Sequence[str]) -> str:
    return condition_label({k: row[k] for k in keys})


def table_rows(df: pd.DataFrame, keys: Sequence[str]) -> list[list[str]]:
    """``[condition, A vs B, n (clean utts), mean A, mean B, Δ [CI], gain [CI], verdict]`` rows."""
    rows = []
    for _, r in df.iterrows():
        rows.append([_label(r, keys), f"{r['model']} vs {r['baseline']}",
                     f"{int(r['n_pairs'])} ({int(r['n_clusters'])})",
                     f"{r['mean_a']:.3f}", f"{r['mean_b']:.3f}",
                     fmt_ci(r["diff"], r["diff_lo"], r["diff_hi"], 3, ""),
                     fmt_ci(r["gain"], r["gain_lo"], r["gain_hi"]), verdict(r)])
    return rows


HEADER = ["condition", "comparison", "n pairs (clean utts)", "mean A", "mean B", "Δ mean PPMC [95 % CI]",
          "A vs B [95 % CI]", "verdict"]


def describe_method(n_boot: int = N_BOOT, seed: int = SEED) -> str:
    return (f"Paired over the test utterances both models decoded (per utterance: mean PPMC over the "
            f"headline targets; a model's seeds averaged per utterance first). 95 % CIs: expanded "
            f"percentile bootstrap (small-sample corrected), {n_boot} resamples (seed {seed}) of the "
            "clean utterances, every mixture of a drawn sentence entering with it. `better`/`worse` = CI of the difference excludes 0; "
            "`inside noise` = it does not.")


def text_section(df: pd.DataFrame, keys: Sequence[str]) -> str:
    """The ``sitool score`` printout block of paired comparisons ('' when there are none)."""
    if df.empty:
        return ""
    return ("== Paired comparisons (95 % CI over test utterances) ==\n" + describe_method() + "\n"
            + text_table(HEADER, table_rows(df, keys), right=[False, False] + [True] * 6) + "\n")


def markdown_section(df: pd.DataFrame, keys: Sequence[str]) -> list[str]:
    """RESULTS.md lines of the "Paired comparisons" section ([] when there are none)."""
    if df.empty:
        return []
    return ["## Paired comparisons (95 % CI over test utterances)", "", describe_method(), "",
            markdown_table(HEADER, table_rows(df, keys), right=[False, False] + [True] * 6), ""]

