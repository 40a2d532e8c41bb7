"""``sitool score --by-phone``: how well each target is inverted inside each phone class.

For decode dirs whose data dir has a phone alignment (``phones.ctm``), every frame inside a
phone interval is assigned the phone's classes (``sitool.alignment.phone_classes``: place,
manner, vowel, silence; ``m`` counts as bilabial and as nasal). Per model, condition
(category x SNR, noise types pooled) and class, over the pooled frames of every utterance:

- ``ppmc``: Pearson correlation of predicted and reference frames (pooled across
  utterances: a class has too few frames per utterance for a per-utterance correlation);
- ``rmse``: in the target's units;
- ``ref_mean`` and ``pred_mean``: mean reference and predicted value, which show systematic
  misses (e.g. a lip aperture that never reaches closure at bilabials: ``ref_mean`` near 0,
  ``pred_mean`` well above);
- ``n_intervals``, ``n_frames``.

Written per decode dir to ``phone_scores.tsv`` and printed as one block per condition.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from typing import Sequence

import numpy as np
import pandas as pd

from sitool.alignment import CLASS_ORDER, frames_in, is_arpabet, phone_classes
from sitool.datadir import load_target_file
from sitool.errors import SitoolError
from sitool.io import atomic_write_text
from sitool.scoring import metrics
from sitool.scoring.aggregate import (TVS, Filters, apply_filters, format_snr, pool_types,
                                      sort_conditions)
from sitool.scoring.decodes import DecodeDir

log = logging.getLogger(__name__)

PHONE_FILE = "phone_scores.tsv"
KEYS = ["set", "category", "noise_type", "snr_db"]
COLUMNS = [*KEYS, "class", "target", "unit", "n_intervals", "n_frames", "ppmc", "rmse",
           "ref_mean", "pred_mean"]


def _stats(pred: np.ndarray, ref: np.ndarray) -> dict:
    corr = metrics.ppmc(pred, ref) if len(pred) >= 2 else metrics.PPMC(None, metrics.CONST_REF)
    return {"ppmc": math.nan if corr.value is None else corr.value,
            "rmse": metrics.rmse(pred, ref), "ref_mean": float(np.mean(ref)),
            "pred_mean": float(np.mean(pred))}


def decode_phone_scores(decode: DecodeDir) -> pd.DataFrame | None:
    """The per-class rows of one decode dir (None when its data has no phone alignment)."""
    from sitool.scoring.utt_scores import _condition_fields, scored_targets

    phones = decode.data.phones
    if not phones or not decode.has_targets:
        return None
    pairs = scored_targets(decode)
    arpabet = is_arpabet(s.phone for segs in phones.values() for s in segs)
    rate = decode.targets.frame_rate
    # (condition, class) -> per target lists of frames; interval counts
    frames: dict[tuple, list[list[np.ndarray]]] = defaultdict(lambda: [[] for _ in pairs])
    refs: dict[tuple, list[list[np.ndarray]]] = defaultdict(lambda: [[] for _ in pairs])
    intervals: dict[tuple, int] = defaultdict(int)
    unknown: set[str] = set()
    for utt in decode.tv_scp:
        if utt not in phones:
            continue
        pred = load_target_file(decode.tv_scp[utt], decode.targets)
        ref = decode.data.target_array(utt)
        pred, ref = metrics.trim_to_shorter(pred, ref, rate, where=decode.tv_scp[utt])
        cond = _condition_fields(decode, utt)
        key = tuple(cond[k] for k in KEYS)
        for seg in phones[utt]:
            idx = frames_in(seg, len(pred), rate)
            classes = phone_classes(seg.phone, arpabet)
            if not classes:
                unknown.add(seg.phone)
            if not idx.size:
                continue
            for cls in classes:
                intervals[key + (cls,)] += 1
                for n, (i, j, _, _) in enumerate(pairs):
                    frames[key + (cls,)][n].append(pred[idx, i])
                    refs[key + (cls,)][n].append(ref[idx, j])
    if unknown:
        log.info("%s: phone labels without a class, left out: %s", decode.path,
                 " ".join(sorted(unknown)))
    rows = []
    for key, per_target in frames.items():
        for n, (_, _, name, unit) in enumerate(pairs):
            pred = np.concatenate(per_target[n])
            ref = np.concatenate(refs[key][n])
            rows.append({**dict(zip([*KEYS, "class"], key)), "target": name, "unit": unit,
                         "n_intervals": intervals[key], "n_frames": len(pred),
                         **_stats(pred, ref)})
    if not rows:
        return None
    df = pd.DataFrame(rows, columns=COLUMNS)
    order = {c: i for i, c in enumerate(CLASS_ORDER)}
    df = df.sort_values(by=["snr_db", "category", "class"],
                        key=lambda s: s.map(order) if s.name == "class" else s)
    atomic_write_text(decode.path / PHONE_FILE, df.to_csv(sep="\t", index=False,
                                                           float_format="%.6g"))
    return df


def pooled_phone_scores(decodes: Sequence[DecodeDir], model_of) -> pd.DataFrame:
    """Every decode dir's per-class rows with ``model`` and ``exp`` columns."""
    frames = []
    for d in decodes:
        df = decode_phone_scores(d)
        if df is not None:
            frames.append(df.assign(model=model_of(d), exp=d.tag))
    if not frames:
        raise SitoolError("--by-phone: none of the decoded data dirs has a phone alignment "
                          "(phones.ctm); the synthetic corpus and labelled real corpora have one")
    return pd.concat(frames, ignore_index=True)


def by_phone_report(df: pd.DataFrame, filters: Filters, models: Sequence[str]) -> str:
    """One block per set and condition: rows = classes, per target ``PPMC / RMSE (ref → pred)``."""
    df = pool_types(apply_filters(df, filters), by_type=False)
    lines = ["", "== per phone class (frames pooled over utterances; cell = PPMC / RMSE, "
                 "mean reference -> mean prediction) =="]
    conds = sort_conditions(df[["set", "category", "noise_type", "snr_db"]].drop_duplicates())
    targets = list(dict.fromkeys(df["target"]))
    if all(tv in targets for tv in TVS):      # the printout: the six TVs (the TSV has all)
        targets = list(TVS)
    from sitool.scoring.tables import text_table

    for cond in conds.to_dict("records"):
        sub = df[(df["set"] == cond["set"]) & (df["category"] == cond["category"])
                 & (df["snr_db"] == cond["snr_db"])]
        label = "clean" if cond["category"] == "clean" else \
            f"{cond['category']} {format_snr(cond['snr_db'])} dB"
        for model in [m for m in models if (sub["model"] == m).any()]:
            rows = []
            msub = sub[sub["model"] == model]
            for cls in [c for c in CLASS_ORDER if (msub["class"] == c).any()]:
                csub = msub[msub["class"] == cls]
                row = [cls, str(int(csub["n_intervals"].max()))]
                for target in targets:
                    t = csub[csub["target"] == target]
                    if t.empty:
                        row.append("–")
                        continue
                    # pooled over seeds/exps of one model: mean of their values
                    ppmc, rmse = t["ppmc"].mean(), t["rmse"].mean()
                    ppmc_text = "n/a" if math.isnan(ppmc) else f"{ppmc:.2f}"
                    row.append(f"{ppmc_text} / {rmse:.3g} ({t['ref_mean'].mean():.3g} -> "
                               f"{t['pred_mean'].mean():.3g})")
                rows.append(row)
            lines += ["", f"{cond['set']}: {label} — {model}",
                      text_table(["class", "n"] + targets, rows)]
    return "\n".join(lines) + "\n"
