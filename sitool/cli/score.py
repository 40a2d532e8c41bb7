"""Stage 6: ``sitool score``: PPMC/RMSE (and PESQ/STOI/SI-SDR) tables of decode dirs, RESULTS.md
and plots, a thin shell over :func:`sitool.scoring.score.score_experiments`."""

from __future__ import annotations

import shlex
import sys

import click

from sitool.cli.options import no_progress_option, num_threads_option
from sitool.parallel import limit_threads
from sitool.scoring.aggregate import Filters, parse_snr


@click.command("score")
@click.option("--exp", "exps", multiple=True, type=click.Path(file_okay=False),
              help="Experiment dir exp/TAG (repeatable). Default: every EXP_ROOT/* with decode dirs.")
@click.option("--baseline", "baselines", multiple=True, type=click.Path(file_okay=False),
              help="Baseline experiment for relative improvement (P - P_base) / P_base in % "
                   "(repeatable; added to --exp if missing).")
@click.option("--set", "sets", multiple=True, help="Only this decoded set (repeatable).")
@click.option("--snr", "snrs", multiple=True,
              help="Only this SNR in dB, or 'clean' (repeatable).")
@click.option("--noise", "noises", multiple=True,
              help="Only this noise category (babble, non-babble, clean) or noise type (repeatable).")
@click.option("--by-type", is_flag=True, help="One row per noise type (default: types pooled per category).")
@click.option("--rmse", "show_rmse", is_flag=True, help="Also print per-target RMSE.")
@click.option("--by-phone", is_flag=True,
              help="Also PPMC/RMSE per phone class (bilabial, alveolar, velar, vowel, nasal, ...) "
                   "from the data dirs' phones.ctm; writes <decode dir>/phone_scores.tsv.")
@click.option("--results", type=click.Path(dir_okay=False), default=None,
              help="Write this RESULTS.md (headline pooled over --set, default the test* sets).")
@click.option("--plots", type=click.Path(file_okay=False), default=None,
              help="Write figures here (default with --results: exp/TAG/plots, or EXP_ROOT/plots "
                   "for several experiments).")
@click.option("--no-plots", is_flag=True, help="No figures.")
@click.option("--plot-utt", default=None, help="Clean utterance id for the trajectory figures.")
@click.option("--exp-root", default="exp", show_default=True, type=click.Path(file_okay=False),
              help="Where to look for experiments when no --exp is given.")
@click.option("--no-se", is_flag=True, help="Skip PESQ/STOI/SI-SDR of enhanced audio.")
@click.option("--nj", default=1, show_default=True, type=int,
              help="Parallel jobs: local worker processes, or shards with --job.")
@click.option("--job", default=None, type=int,
              help="Score only shard JOB of NJ (1-based; no tables). A later run without --job merges.")
@click.option("--overwrite", is_flag=True, help="Re-score even when the cached scores are current.")
@num_threads_option
@no_progress_option
@click.option("--ci/--no-ci", default=True, show_default=True,
              help="Paired comparisons against each --baseline with 95 % bootstrap CIs over test "
                   "utterances (printout and RESULTS.md).")
def score(exps, baselines, sets, snrs, noises, by_type, show_rmse, by_phone, results, plots, no_plots,
          plot_utt, exp_root, no_se, nj, job, overwrite, num_threads, no_progress, ci) -> None:
    """Score decode dirs: mean PPMC and RMSE by set, noise and SNR; RESULTS.md; plots.

    \b
    Examples:
      sitool score --snr -5 --noise babble          # -5 dB babble, every trained model
      sitool score --exp exp/train_joint --baseline exp/train_si_clean --noise white
      sitool score --baseline exp/train_si_clean --results RESULTS.md --plots docs
      sitool score --exp exp/train_joint --by-phone --snr clean   # where inversion fails
    """
    from sitool.scoring.score import score_experiments

    limit_threads(num_threads)
    filters = Filters(sets=tuple(sets), snrs=tuple(parse_snr(s) for s in snrs),
                      noises=tuple(noises))
    make_plots = not no_plots and (plots is not None or results is not None)
    result = score_experiments(
        exps=exps, baselines=baselines, filters=filters, by_type=by_type, show_rmse=show_rmse,
        results=results, plots=plots, make_plots=make_plots, plot_utt=plot_utt,
        exp_root=exp_root, overwrite=overwrite, nj=nj, job=job, se=not no_se, ci=ci,
        command="sitool " + shlex.join(sys.argv[1:]), by_phone=by_phone,
        progress=not no_progress)
    click.echo(result.text, nl=False)
    if result.results is not None:
        click.echo(f"wrote {result.results}", err=True)
    for path in result.plots:
        click.echo(f"wrote {path}", err=True)
