"""Stage 5: ``sitool decode`` — a thin shell over :func:`sitool.decode.decode`."""

from __future__ import annotations

import click

from sitool.cli.options import no_progress_option, num_threads_option
from sitool.parallel import limit_threads


@click.command("decode")
@click.option("--exp", "exp_dir", required=True, type=click.Path(file_okay=False),
              help="Trained experiment dir (e.g. exp/train_joint), a dir written by sitool "
                   "export, or the Hub id of one (decodes then go to exp/ORG--NAME/decode/).")
@click.argument("data_dirs", nargs=-1, required=True, type=click.Path(file_okay=False))
@click.option("--nj", default=1, show_default=True, help="Number of jobs the utterances are split into.")
@click.option("--job", default=None, type=int,
              help="This job's index (1..nj, e.g. $SLURM_ARRAY_TASK_ID); omitted: all jobs here.")
@click.option("--checkpoint", default="best", show_default=True,
              help="best, last, or a checkpoint file.")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, cuda:1, ...")
@click.option("--batch-seconds", default=60.0, show_default=True,
              help="Padded audio seconds per batch.")
@click.option("--no-cache", is_flag=True,
              help="Run the SSL on the fly even when the set's SSL cache could be read.")
@num_threads_option
@click.option("--overwrite", is_flag=True, help="Redo decode dirs that exist.")
@no_progress_option
@click.option("--chunk-seconds", default=20.0, show_default=True,
              help="Longer utterances run in overlapping chunks of this length (0: whole).")
@click.option("--chunk-overlap", default=4.0, show_default=True,
              help="Seconds of audio shared by consecutive chunks.")
@click.option("--precision", type=click.Choice(["auto", "fp32", "bf16", "fp16"]), default=None,
              help="SSL compute precision [default: the experiment's config].")
def decode_command(exp_dir, data_dirs, nj, job, checkpoint, device, batch_seconds, no_cache,
                   num_threads, overwrite, no_progress, chunk_seconds, chunk_overlap,
                   precision) -> None:
    """Predict targets (and enhanced audio) for DATA_DIRS into EXP/decode/<set>/.

    \b
    Writes tv/<utt>.npy (targets in their units), tv.scp, targets, decode.yaml, and for models
    with an SE stage enhanced/<utt>.wav + enhanced.scp. With --nj N --job J each job decodes
    one slice only; then a call with --nj N and no --job writes the tables.
    """
    from sitool.decode import decode

    limit_threads(num_threads)
    decode(exp_dir, list(data_dirs), nj=nj, job=job, checkpoint=checkpoint,
           overwrite=overwrite, device=device, use_cache=not no_cache,
           batch_seconds=batch_seconds, progress=not no_progress, chunk_seconds=chunk_seconds,
           overlap_seconds=chunk_overlap, precision=precision)
