"""``sitool grad-shares`` — a thin shell over :mod:`sitool.training.grad_shares`."""

from __future__ import annotations

from pathlib import Path

import click

from sitool.cli.options import num_threads_option
from sitool.parallel import limit_threads


@click.command("grad-shares")
@click.option("--exp", "exp_dir", required=True, type=click.Path(file_okay=False),
              help="Trained joint experiment dir (e.g. exp/train_joint).")
@click.argument("data_dirs", nargs=-1, type=click.Path(file_okay=False))
@click.option("--checkpoint", default="best", show_default=True,
              help="best, last, or a checkpoint file.")
@click.option("--per-category", default=8, show_default=True, type=click.IntRange(min=1),
              help="Utterances measured per condition category (clean, babble, non-babble).")
@click.option("--seed", default=0, show_default=True, help="Seed of the utterance sample.")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, cuda:1, ...")
@click.option("--out", default=None, type=click.Path(dir_okay=False),
              help="Per-utterance TSV. [default: EXP/grad_shares/<checkpoint>.tsv]")
@num_threads_option
def grad_shares(exp_dir, data_dirs, checkpoint, per_category, seed, device, out,
                num_threads) -> None:
    """How hard the SI and SE losses of a joint model pull on its shared encoder.

    \b
    For up to --per-category utterances of each condition of DATA_DIRS (default: the
    model's training sets), the norms of both losses' gradients on the encoder's trainable
    parameters, ratio = lambda*|grad L_SE| / |grad L_SI| and their cosine; prints the
    medians by category and writes one row per utterance.
    """
    from sitool.training.experiment import load_trained_model
    from sitool.training.grad_shares import gradient_shares, summarise, write_shares

    limit_threads(num_threads)
    trained = load_trained_model(exp_dir, checkpoint, device=device)
    rows = gradient_shares(trained, list(data_dirs) or None, per_category=per_category,
                           seed=seed, device=device)
    name = checkpoint if checkpoint in ("best", "last") else Path(checkpoint).stem
    path = write_shares(rows, out or Path(exp_dir) / "grad_shares" / f"{name}.tsv")
    click.echo(f"{exp_dir} ({trained.checkpoint.name}, epoch {trained.epoch}, "
               f"lambda = {trained.config.model.se.weight:g}): encoder gradient medians")
    click.echo(summarise(rows).to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    click.echo(f"per utterance: {path}")
