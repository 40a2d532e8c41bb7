"""From per-utterance rows to table cells: filters, grouping, mean PPMC, seeds, relative gain.

Definitions (docs/scoring.md has the long form):

- per-target PPMC of a group = mean over the group's utterances of the utterance's PPMC for
  that target (utterances with a constant reference track excluded, see ``metrics``);
- mean PPMC = mean over the headline targets of the per-target PPMC: those a ``headline:``
  list in the scored data dirs' ``targets`` file names (:func:`choose_headline`); without one,
  the six TVs (LA LP TTCL TTCD TBCL TBCD) when every scored model predicts them all, else every
  target all models share except the source features (F0, periodicity, aperiodicity,
  voicing);
- RMSE of a group = mean over utterances of the utterance's RMSE (target units);
- a model with several seeds: mean and sample std (ddof 1) over seeds of the seeds' values;
- relative improvement of P over a baseline P_base = 100 (P - P_base) / P_base, undefined
  (n/a) when P_base <= 0.

Rows pool noise types within a category unless ``by_type``: the ``noise_type`` column then
reads ``all``.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from sitool.articulation.source import SOURCE_NAMES
from sitool.datadir import CLEAN, CONDITION_CATEGORIES
from sitool.errors import SitoolError
from sitool.scoring.metrics import CONST_PRED, CONST_REF

log = logging.getLogger(__name__)

TVS = ["LA", "LP", "TTCL", "TTCD", "TBCL", "TBCD"]
# Source (not articulatory) targets, left out of the default headline: those sitool prepare
# appends from the audio (sitool.articulation.source) and the synthetic corpus' VOICING.
SOURCE_FEATURES = (*SOURCE_NAMES, "VOICING")
DEFAULT_RULE = "default"
ALL_TYPES = "all"
KEYS = ["set", "category", "noise_type", "snr_db"]
POOLED_KEYS = ["category", "noise_type", "snr_db"]


@dataclass
class Filters:
    """What ``--set``, ``--snr`` and ``--noise`` select (empty = everything)."""

    sets: Sequence[str] = ()
    snrs: Sequence[float] = ()
    noises: Sequence[str] = ()

    def describe(self) -> str:
        parts = []
        if self.sets:
            parts.append("set " + ", ".join(self.sets))
        if self.snrs:
            parts.append("SNR " + ", ".join(format_snr(s) for s in self.snrs))
        if self.noises:
            parts.append("noise " + ", ".join(self.noises))
        return "; ".join(parts) if parts else "none"


def parse_snr(text: str) -> float:
    """``--snr`` value: a number in dB, or ``clean``/``inf`` for clean speech."""
    if str(text).strip().lower() in ("clean", "inf", "+inf"):
        return math.inf
    try:
        return float(text)
    except ValueError:
        raise SitoolError(f"--snr {text!r}: expected a number in dB or 'clean'") from None


def format_snr(snr: float) -> str:
    if math.isinf(snr):
        return "clean"
    return f"{snr:g}"


def _available(values) -> str:
    return ", ".join(sorted({str(v) for v in values}))


def apply_filters(df: pd.DataFrame, filters: Filters) -> pd.DataFrame:
    """Rows of ``df`` that match every given filter; an unknown value is an error listing the known ones.

    ``noises`` entries are categories (``babble``, ``non-babble``, ``clean``) or noise types
    (e.g. ``white``); a row matches when its category or its type is listed.
    """
    mask = pd.Series(True, index=df.index)
    if filters.sets:
        unknown = [s for s in filters.sets if s not in set(df["set"])]
        if unknown:
            raise SitoolError(f"--set {unknown[0]}: no decode dir of that set; scored sets: "
                              f"{_available(df['set'])}")
        mask &= df["set"].isin(list(filters.sets))
    if filters.snrs:
        snr_mask = pd.Series(False, index=df.index)
        for snr in filters.snrs:
            hit = df["snr_db"] == snr if math.isinf(snr) else np.isclose(df["snr_db"], snr)
            if not hit.any():
                raise SitoolError(f"--snr {format_snr(snr)}: no scored utterance at that SNR; "
                                  f"scored SNRs: {_available(format_snr(s) for s in df['snr_db'].unique())}")
            snr_mask |= hit
        mask &= snr_mask
    if filters.noises:
        known = set(df["category"]) | set(df["noise_type"])
        unknown = [n for n in filters.noises if n not in known]
        if unknown:
            raise SitoolError(f"--noise {unknown[0]}: not a scored noise category or type; "
                              f"categories: {_available(df['category'])}; "
                              f"types: {_available(df['noise_type'])}")
        noises = list(filters.noises)
        mask &= df["category"].isin(noises) | df["noise_type"].isin(noises)
    out = df[mask]
    if out.empty:
        raise SitoolError(f"no scored utterance matches the filters ({filters.describe()})")
    return out


def is_source_feature(name: str) -> bool:
    """F0, periodicity, aperiodicity or voicing (any case): not an articulatory target."""
    return name.lower() in {n.lower() for n in SOURCE_FEATURES}


def choose_headline(df: pd.DataFrame, declared: Sequence[str] | None = None,
                    source: str = "") -> tuple[list[str], str]:
    """The targets mean PPMC averages, and how they were chosen (``DEFAULT_RULE`` or
    ``declared``).

    ``declared``: the ``headline:`` list of the scored data dirs' ``targets`` file
    (``source``); its targets that some scored model lacks are left out (logged). Without
    one: the six TVs if every experiment has them, else the targets they share except the
    source features (all shared targets when those are all source features)."""
    per_exp = [set(g) for _, g in df.groupby("exp")["target"]]
    common = set.intersection(*per_exp) if per_exp else set()
    if declared is not None:
        targets = [t for t in declared if t in common]
        missing = [t for t in declared if t not in common]
        if not targets:
            raise SitoolError(f"{source}: no headline target ({', '.join(declared)}) is "
                              "predicted by every scored model; fix the headline list or score "
                              "the models separately")
        if missing:
            log.warning("%s: headline targets %s are not predicted by every scored model; the "
                        "headline is over %s", source, ", ".join(missing), ", ".join(targets))
        return targets, "declared"
    if all(tv in common for tv in TVS):
        return list(TVS), DEFAULT_RULE
    ordered = list(dict.fromkeys(df["target"]))
    shared = [t for t in ordered if t in common]
    if not shared:
        raise SitoolError("the scored experiments share no target; score them separately")
    articulatory = [t for t in shared if not is_source_feature(t)]
    return articulatory or shared, DEFAULT_RULE


def headline_targets(df: pd.DataFrame, declared: Sequence[str] | None = None,
                     source: str = "") -> list[str]:
    """The targets mean PPMC averages (:func:`choose_headline`)."""
    return choose_headline(df, declared, source)[0]


def pool_types(df: pd.DataFrame, by_type: bool) -> pd.DataFrame:
    """Unless ``by_type``, relabel every noisy row's ``noise_type`` as ``all`` (pool within category)."""
    if by_type:
        return df
    df = df.copy()
    df.loc[df["category"] != CLEAN, "noise_type"] = ALL_TYPES
    return df


def _group(df: pd.DataFrame, by: list[str]):
    return df.groupby(by, sort=False, dropna=False)


def per_target(si: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """One row per (model, exp, keys..., target): PPMC and RMSE means and utterance counts.

    Columns: ``ppmc`` (mean over included utterances), ``n_utts``, ``n_ppmc`` (utterances
    in the PPMC mean), ``const_ref`` (excluded), ``const_pred`` (counted as 0), ``rmse``, ``unit``.
    """
    by = ["model", "exp", *keys, "target"]
    g = _group(si.assign(_const_ref=si["status"] == CONST_REF,
                         _const_pred=si["status"] == CONST_PRED), by)
    return g.agg(ppmc=("ppmc", "mean"), n_ppmc=("ppmc", "count"), n_utts=("utt", "nunique"),
                  const_ref=("_const_ref", "sum"), const_pred=("_const_pred", "sum"),
                  rmse=("rmse", "mean"), unit=("unit", "first")).reset_index()


def mean_ppmc(targets_df: pd.DataFrame, keys: Sequence[str], targets: Sequence[str]) -> pd.DataFrame:
    """One row per (model, exp, keys...): ``mean_ppmc`` over ``targets``, ``n_targets``, ``n_utts``."""
    sub = targets_df[targets_df["target"].isin(list(targets))]
    g = _group(sub, ["model", "exp", *keys])
    return g.agg(mean_ppmc=("ppmc", "mean"), n_targets=("ppmc", "count"),
                 n_utts=("n_utts", "max")).reset_index()


def over_seeds(df: pd.DataFrame, keys: Sequence[str], value: str) -> pd.DataFrame:
    """Mean and sample std over a model's seeds of ``value``; one row per (model, keys...).

    Columns: ``mean``, ``std`` (NaN with one seed), ``n_seeds``, ``n_utts`` (per seed; the
    smallest when seeds differ), ``n_utts_max``.
    """
    g = _group(df, ["model", *keys])
    out = g.agg(mean=(value, "mean"), std=(value, "std"), n_seeds=("exp", "nunique"),
                n_utts=("n_utts", "min"), n_utts_max=("n_utts", "max")).reset_index()
    return out


def relative_improvement(value: float, baseline: float) -> float:
    """100 (value - baseline) / baseline in %, NaN when the baseline is not positive or missing."""
    if baseline is None or value is None or not np.isfinite(baseline) or not np.isfinite(value) \
            or baseline <= 0:
        return math.nan
    return 100.0 * (value - baseline) / baseline


def sort_conditions(df: pd.DataFrame) -> pd.DataFrame:
    """Order rows: set, category (clean, babble, non-babble, others), noise type, SNR high to low."""
    order = {c: i for i, c in enumerate(CONDITION_CATEGORIES)}
    keyed = df.assign(
        _cat=df["category"].map(lambda c: order.get(c, len(order))),
        _type=df["noise_type"].map(lambda t: (t != ALL_TYPES, t)),
        _snr=-df["snr_db"],
    )
    by = [c for c in ("set", "_cat", "category", "_type", "_snr") if c in keyed]
    return keyed.sort_values(by, kind="stable").drop(columns=["_cat", "_type", "_snr"])


@dataclass
class Summary:
    """Everything the tables print, for one grouping (``keys``) of the filtered scores."""

    keys: list[str]
    targets: list[str]                 # headline targets behind mean PPMC
    per_target: pd.DataFrame           # per (model, exp, keys, target)
    per_exp: pd.DataFrame              # mean PPMC per (model, exp, keys)
    per_model: pd.DataFrame            # mean PPMC over seeds per (model, keys)
    target_models: pd.DataFrame        # per-target PPMC / RMSE over seeds per (model, keys, target)
    se: pd.DataFrame | None = None     # SE metrics over seeds per (system, keys), see se_summary
    models: list[str] = field(default_factory=list)
    headline_file: str | None = None   # the targets file whose headline: list chose ``targets``
                                       # (None: the default rule, choose_headline)

    def conditions(self) -> pd.DataFrame:
        """The distinct condition rows, in display order."""
        return sort_conditions(self.per_model[self.keys].drop_duplicates()).reset_index(drop=True)

    def cell(self, model: str, condition: dict) -> pd.Series | None:
        """The over-seeds mean PPMC row of ``model`` in ``condition`` (None when absent)."""
        return lookup(self.per_model, {"model": model, **condition})

    def target_cell(self, model: str, condition: dict, target: str) -> pd.Series | None:
        return lookup(self.target_models, {"model": model, "target": target, **condition})

    def gain(self, model: str, baseline: str, condition: dict) -> float:
        cell, base = self.cell(model, condition), self.cell(baseline, condition)
        if cell is None or base is None:
            return math.nan
        return relative_improvement(cell["mean"], base["mean"])


def lookup(df: pd.DataFrame, where: dict) -> pd.Series | None:
    """The first row of ``df`` whose columns equal ``where``'s values (floats compared with
    tolerance, inf exactly); None when there is none."""
    mask = pd.Series(True, index=df.index)
    for key, value in where.items():
        if isinstance(value, float) and math.isinf(value):
            mask &= df[key] == value
        elif isinstance(value, float):
            mask &= np.isclose(df[key].astype(float), value)
        else:
            mask &= df[key] == value
    hits = df[mask]
    return None if hits.empty else hits.iloc[0]


def summarise(si: pd.DataFrame, keys: Sequence[str], models: Sequence[str],
              se: pd.DataFrame | None = None, targets: Sequence[str] | None = None,
              headline_file: str | None = None) -> Summary:
    """Aggregate filtered SI rows (and SE rows) by ``keys`` for every model; ``targets``
    (default :func:`headline_targets`) make the mean PPMC, chosen by the ``headline:`` of
    ``headline_file`` when given."""
    keys = list(keys)
    targets = list(targets) if targets is not None else headline_targets(si)
    tt = per_target(si, keys)
    per_exp = mean_ppmc(tt, keys, targets)
    per_model = over_seeds(per_exp, keys, "mean_ppmc")
    ppmc_models = over_seeds(tt, [*keys, "target"], "ppmc")
    rmse_models = over_seeds(tt, [*keys, "target"], "rmse")
    target_models = ppmc_models.merge(
        rmse_models[["model", *keys, "target", "mean", "std"]].rename(
            columns={"mean": "rmse", "std": "rmse_std"}),
        on=["model", *keys, "target"], how="left")
    counts = _group(tt, ["model", *keys, "target"]).agg(
        const_ref=("const_ref", "sum"), const_pred=("const_pred", "sum"),
        unit=("unit", "first")).reset_index()
    target_models = target_models.merge(counts, on=["model", *keys, "target"], how="left")
    se_summary = summarise_se(se, keys) if se is not None and not se.empty else None
    return Summary(keys=keys, targets=targets, per_target=tt, per_exp=per_exp,
                   per_model=per_model, target_models=target_models, se=se_summary,
                   models=list(models), headline_file=headline_file)


SE_METRICS = ["pesq", "stoi", "si_sdr", "estoi", "pesq_nb", "csig", "cbak", "covl"]
SE_PLOTTED = ["pesq", "stoi", "si_sdr"]      # the SE-vs-SNR figure's panels


def summarise_se(se: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """SE metrics per (system, keys...): mean over utterances, then mean/std over seeds.

    ``system`` is a model name (enhanced audio) or ``noisy input``. Utterances where PESQ or
    STOI could not be computed (no speech found) are left out of that metric's mean and
    counted in ``<metric>_missing``.
    """
    keys = list(keys)
    per_exp = _group(se, ["system", "exp", *keys]).agg(
        n_utts=("utt", "nunique"),
        **{m: (m, "mean") for m in SE_METRICS},
        **{f"{m}_missing": (m, lambda s: int(s.isna().sum())) for m in SE_METRICS},
    ).reset_index()
    g = _group(per_exp, ["system", *keys])
    aggs = {"n_seeds": ("exp", "nunique"), "n_utts": ("n_utts", "min")}
    for m in SE_METRICS:
        aggs[m] = (m, "mean")
        aggs[f"{m}_std"] = (m, "std")
        aggs[f"{m}_missing"] = (f"{m}_missing", "max")
    return g.agg(**aggs).reset_index()
