"""``sitool score``: score decode dirs, print comparison tables, write RESULTS.md and plots.

Library entry point: :func:`score_experiments`. The steps are separate functions so tests
(and notebooks) can call them: :func:`resolve_decodes`, :func:`score_all`,
:func:`load_si_scores`, :func:`load_se_scores`, then ``aggregate.summarise``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import pandas as pd

from sitool.errors import SitoolError
from sitool.scoring import aggregate, paired, tables
from sitool.scoring.aggregate import Filters
from sitool.scoring.decodes import DecodeDir, decode_dirs_of, find_experiments, model_names
from sitool.scoring.utt_scores import (ENHANCED, NOISY, NOISY_SE_FILE, SE_FILE, SI_FILE,
                                       read_score_file, score_decode_dir)

log = logging.getLogger(__name__)


def _norm(path: str | os.PathLike) -> Path:
    return Path(os.path.normpath(str(path)))


@dataclass
class Experiments:
    """The experiments being compared and their decode dirs."""

    decodes: list[DecodeDir]
    names: dict[Path, str]                 # exp dir -> model name (seed replicas share one)
    baselines: list[str] = field(default_factory=list)   # model names

    @property
    def references(self) -> list[str]:
        """Models on conventional features (``frontend: fbank``) that are not baselines: the
        reference rows (the floor the SSL models must clear), listed last."""
        fbank = {self.model_of(d) for d in self.decodes if d.frontend == "fbank"}
        return sorted(fbank - set(self.baselines))

    @property
    def models(self) -> list[str]:
        """Model names: baselines first, then the rest alphabetically, then the references."""
        references = self.references
        rest = sorted(set(self.names.values()) - set(self.baselines) - set(references))
        return [*self.baselines, *rest, *references]

    def model_of(self, decode: DecodeDir) -> str:
        return self.names[_norm(decode.exp_dir)]

    def model_types(self) -> dict[str, str]:
        return {self.model_of(d): d.model_type for d in self.decodes}

    def exps_of(self, model: str) -> list[Path]:
        return sorted(exp for exp, name in self.names.items() if name == model)


def resolve_decodes(exps: Sequence[str | os.PathLike] = (), baselines: Sequence[str | os.PathLike] = (),
                    sets: Sequence[str] = (), exp_root: str | os.PathLike = "exp") -> Experiments:
    """The decode dirs to score: of ``exps`` (default: every ``exp_root/*`` with decode dirs)
    plus the ``baselines``, restricted to ``sets`` when given."""
    exp_dirs = [_norm(e) for e in exps] if exps else [_norm(e) for e in find_experiments(exp_root)]
    base_dirs = [_norm(b) for b in baselines]
    for base in base_dirs:
        if base not in exp_dirs:
            exp_dirs.append(base)
    decodes = [d for exp in exp_dirs for d in decode_dirs_of(exp)]
    if sets:
        available = sorted({d.set_name for d in decodes})
        for name in sets:
            if name not in available:
                raise SitoolError(f"--set {name}: no decode dir of that set; decoded sets: "
                                  f"{', '.join(available)}")
        decodes = [d for d in decodes if d.set_name in sets]
    names = model_names(exp_dirs)
    baseline_models = list(dict.fromkeys(names[b] for b in base_dirs))
    _check_same_data(decodes)
    return Experiments(decodes=decodes, names=names, baselines=baseline_models)


def _check_same_data(decodes: Sequence[DecodeDir]) -> None:
    """Warn when decode dirs of one set name were made from different data dirs."""
    by_set: dict[str, set[str]] = {}
    for d in decodes:
        by_set.setdefault(d.set_name, set()).add(str(_norm(d.meta.get("data_dir", ""))))
    for name, data_dirs in by_set.items():
        if len(data_dirs) > 1:
            log.warning("decode set %s comes from different data dirs (%s): models are not "
                        "compared on the same utterances", name, ", ".join(sorted(data_dirs)))


def score_all(experiments: Experiments, overwrite: bool = False, nj: int = 1,
              job: int | None = None, se: bool = True, progress: bool = True) -> list[Path]:
    """Score every decode dir (cached); with ``job``, only that shard of each."""
    paths = []
    for decode in experiments.decodes:
        paths += score_decode_dir(decode, overwrite=overwrite, nj=nj, job=job, se=se,
                                  progress=progress)
    return paths


def load_si_scores(experiments: Experiments) -> pd.DataFrame:
    """Every decode dir's ``scores.tsv`` in one frame, with ``exp``, ``model``, ``model_type``."""
    frames = []
    for d in experiments.decodes:
        if not d.has_targets:
            continue
        df = read_score_file(d.path / SI_FILE)
        frames.append(df.assign(exp=d.tag, model=experiments.model_of(d), model_type=d.model_type))
    if not frames:
        raise SitoolError("no decode dir has predicted targets (tv.scp); nothing to score for SI")
    return pd.concat(frames, ignore_index=True)


def load_se_scores(experiments: Experiments) -> pd.DataFrame | None:
    """Enhanced rows (``system`` = model name) and noisy-input rows (once per set and utterance)."""
    frames = []
    for d in experiments.decodes:
        if not (d.path / SE_FILE).is_file():
            continue
        enhanced = read_score_file(d.path / SE_FILE)
        enhanced = enhanced[enhanced["system"] == ENHANCED]
        frames.append(enhanced.assign(exp=d.tag, system=experiments.model_of(d)))
        noisy_path = d.path / NOISY_SE_FILE
        if noisy_path.is_file():
            noisy = read_score_file(noisy_path)
            noisy = noisy[noisy["system"] == NOISY]
            frames.append(noisy.assign(exp=tables.NOISY_INPUT, system=tables.NOISY_INPUT))
    if not frames:
        return None
    df = pd.concat(frames, ignore_index=True)
    is_noisy = df["system"] == tables.NOISY_INPUT
    noisy = df[is_noisy].drop_duplicates(subset=["set", "utt"])
    return pd.concat([df[~is_noisy], noisy], ignore_index=True)


def rows_per_type(df: pd.DataFrame, filters: Filters, by_type: bool) -> bool:
    """Whether the cells keep one noise type each: ``by_type``, or a ``--noise`` filter that
    names a noise type rather than a category of ``df``."""
    categories = set(df["category"])
    return by_type or any(n not in categories for n in filters.noises)


def declared_headline(experiments: Experiments) -> tuple[list[str] | None, str | None]:
    """The ``headline:`` list of the scored data dirs' ``targets`` files and the file that
    declares it ((None, None) when none does). Sets that declare different lists are an error;
    a set that declares none, or whose data dir is gone (scores read from their files, as
    the model card does), follows the others."""
    found: dict[tuple[str, ...], str] = {}
    for decode in experiments.decodes:
        data_dir = decode.meta.get("data_dir")
        if not decode.has_targets or not data_dir or not Path(str(data_dir)).is_dir():
            continue
        path = decode.data.path / "targets"
        info = decode.data.targets
        if info is not None and info.headline is not None:
            found.setdefault(tuple(info.headline), str(path))
    if len(found) > 1:
        (first, first_path), (other, other_path) = list(found.items())[:2]
        raise SitoolError(f"{other_path}: headline {', '.join(other)} differs from "
                          f"{', '.join(first)} in {first_path}; the scored sets must declare "
                          "the same headline (or none)")
    for headline, path in found.items():
        return list(headline), path
    return None, None


def headline_of(experiments: Experiments, si: pd.DataFrame) -> tuple[list[str], str | None]:
    """The headline targets of the scored models and the targets file that declared them
    (None: the default rule, ``aggregate.choose_headline``)."""
    declared, path = declared_headline(experiments)
    targets, _ = aggregate.choose_headline(si, declared, path or "")
    return targets, path


def build_summary(experiments: Experiments, si: pd.DataFrame, se: pd.DataFrame | None,
                  filters: Filters, by_type: bool, pool_sets: bool = False) -> aggregate.Summary:
    """Filter and aggregate the loaded scores (``pool_sets``: group without the set column).

    A ``--noise`` filter naming a noise type (not a category) keeps rows per noise type.
    The mean PPMC is over :func:`headline_of`'s targets.
    """
    targets, headline_file = headline_of(experiments, si)
    by_type = rows_per_type(si, filters, by_type)
    si = aggregate.pool_types(aggregate.apply_filters(si, filters), by_type)
    keys = aggregate.POOLED_KEYS if pool_sets else aggregate.KEYS
    if se is not None:
        se = aggregate.pool_types(se, by_type)
        se = se[se["set"].isin(set(si["set"])) & se["category"].isin(set(si["category"]))
                & se["noise_type"].isin(set(si["noise_type"])) & se["snr_db"].isin(set(si["snr_db"]))]
    return aggregate.summarise(si, keys, experiments.models, se=se, targets=targets,
                               headline_file=headline_file)


def build_paired(experiments: Experiments, si: pd.DataFrame, filters: Filters, by_type: bool,
                 pool_sets: bool = False) -> pd.DataFrame:
    """Paired comparisons (``paired.paired_comparisons``) of every model against each baseline
    and each filterbank reference, in the condition cells :func:`build_summary` makes from the same arguments."""
    targets, _ = headline_of(experiments, si)
    si = aggregate.pool_types(aggregate.apply_filters(si, filters),
                              rows_per_type(si, filters, by_type))
    keys = aggregate.POOLED_KEYS if pool_sets else aggregate.KEYS
    return paired.paired_comparisons(si, experiments.models, experiments.baselines, keys, targets,
                                     references=experiments.references)


def build_se_paired(experiments: Experiments, se: pd.DataFrame, filters: Filters, by_type: bool,
                    pool_sets: bool = False) -> pd.DataFrame:
    """Every SE system's enhanced audio against the noisy input (``paired.se_against_input``)
    in the condition cells of the filtered SE rows."""
    se = aggregate.pool_types(aggregate.apply_filters(se, filters),
                              rows_per_type(se, filters, by_type))
    keys = aggregate.POOLED_KEYS if pool_sets else aggregate.KEYS
    systems = [m for m in experiments.models if m in set(se["system"])]
    return paired.se_against_input(se, systems, keys)


def headline_sets(experiments: Experiments, filters: Filters) -> list[str]:
    """Sets pooled in RESULTS.md's headline: ``--set`` values, else sets named ``test*``, else all."""
    if filters.sets:
        return list(filters.sets)
    names = sorted({d.set_name for d in experiments.decodes})
    test = [n for n in names if n.startswith("test")]
    return test or names


def default_plot_dir(experiments: Experiments) -> Path:
    """``exp/<tag>/plots`` for one experiment, else ``<common parent of the exps>/plots``."""
    exps = sorted({_norm(d.exp_dir) for d in experiments.decodes})
    if len(exps) == 1:
        return exps[0] / "plots"
    return Path(os.path.commonpath([str(e.parent) for e in exps])) / "plots"


def se_only_result(experiments: Experiments, se: pd.DataFrame, filters: Filters, by_type: bool,
                   score_files: list[Path], results: str | os.PathLike | None,
                   ci: bool = True) -> "ScoreResult":
    """The SE tables of experiments that have no SI head (e.g. ``exp/train_se``); ``ci`` adds
    the enhanced-vs-input comparisons."""
    if results is not None:
        raise SitoolError("--results: RESULTS.md compares SI models; the scored experiments are "
                          "SE-only (score them with an SI model, or drop --results)")
    summary = aggregate.summarise_se(aggregate.pool_types(aggregate.apply_filters(se, filters),
                                                          by_type), aggregate.KEYS)
    log.info("no SI head in the scored experiments: speech-enhancement tables only, no plots")
    text = tables.print_se_summary(summary, aggregate.KEYS, experiments.models)
    if ci:
        text += "\n" + paired.se_text_section(build_se_paired(experiments, se, filters, by_type),
                                              aggregate.KEYS)
    return ScoreResult(text=text, score_files=score_files)


@dataclass
class ScoreResult:
    text: str                     # the printout
    score_files: list[Path]
    results: Path | None = None
    plots: list[Path] = field(default_factory=list)


def score_experiments(
    exps: Sequence[str | os.PathLike] = (),
    baselines: Sequence[str | os.PathLike] = (),
    filters: Filters | None = None,
    by_type: bool = False,
    show_rmse: bool = False,
    results: str | os.PathLike | None = None,
    plots: str | os.PathLike | None = None,
    make_plots: bool = True,
    plot_utt: str | None = None,
    exp_root: str | os.PathLike = "exp",
    overwrite: bool = False,
    nj: int = 1,
    job: int | None = None,
    se: bool = True,
    command: str | None = None,
    ci: bool = True,
    by_phone: bool = False,
    progress: bool = True,
) -> ScoreResult:
    """Score, compare and report the experiments (``sitool score``).

    With ``job`` only that shard of every decode dir is scored (no tables); a later call
    without ``job`` merges the shards. ``by_phone`` adds per-phone-class tables
    (``sitool.scoring.by_phone``). ``results`` writes a RESULTS.md (pooled over the
    headline sets); plots go to ``plots`` (default :func:`default_plot_dir`) unless
    ``make_plots`` is false. ``ci`` adds paired comparisons with 95 % CIs against the
    baselines to the printout and RESULTS.md (``paired``). ``progress``: progress bars
    while scoring.
    """
    filters = filters or Filters()
    experiments = resolve_decodes(exps, baselines, filters.sets, exp_root)
    score_files = score_all(experiments, overwrite=overwrite, nj=nj, job=job, se=se,
                            progress=progress)
    if job is not None:
        return ScoreResult(text=f"scored shard {job}/{nj} of {len(experiments.decodes)} decode dir(s)\n",
                           score_files=score_files)
    se_df = load_se_scores(experiments) if se else None
    if se_df is not None and not any(d.has_targets for d in experiments.decodes):
        return se_only_result(experiments, se_df, filters, by_type, score_files, results, ci)
    si = load_si_scores(experiments)
    summary = build_summary(experiments, si, se_df, filters, by_type)
    text = tables.print_summary(summary, experiments.baselines, show_rmse,
                                references=experiments.references)
    if ci and (experiments.baselines or experiments.references):
        text += "\n" + paired.text_section(build_paired(experiments, si, filters, by_type),
                                           summary.keys)
    if ci and se_df is not None:
        text += "\n" + paired.se_text_section(build_se_paired(experiments, se_df, filters, by_type),
                                              summary.keys)
    if by_phone:      # per phone class, from the data dirs' phones.ctm (scoring/by_phone.py)
        from sitool.scoring import by_phone as phone_scoring

        text += phone_scoring.by_phone_report(
            phone_scoring.pooled_phone_scores(experiments.decodes, experiments.model_of),
            filters, experiments.models)
    result = ScoreResult(text=text, score_files=score_files)
    headline = None
    if results is not None or make_plots:
        head_filters = Filters(sets=headline_sets(experiments, filters), snrs=filters.snrs,
                               noises=filters.noises)
        headline = build_summary(experiments, si, se_df, head_filters, by_type=False, pool_sets=True)
    if make_plots:
        from sitool.scoring import plots as plotting

        plot_dir = Path(plots) if plots is not None else default_plot_dir(experiments)
        result.plots = plotting.make_plots(experiments, headline, plot_dir, utt=plot_utt)
    if results is not None:
        from sitool.scoring import results_md

        by_type_summary = build_summary(
            experiments, si, se_df, Filters(sets=head_filters.sets, snrs=filters.snrs,
                                            noises=filters.noises), by_type=True, pool_sets=True)
        result.results = results_md.write_results(
            results, experiments, headline, by_type_summary, filters=filters,
            sets=head_filters.sets, plots=result.plots, command=command,
            paired=build_paired(experiments, si, head_filters, by_type=False, pool_sets=True)
            if ci and (experiments.baselines or experiments.references) else None,
            se_paired=build_se_paired(experiments, se_df, head_filters, by_type=False,
                                      pool_sets=True) if ci and se_df is not None else None)
    return result
