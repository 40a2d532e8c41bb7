"""Stage 4: ``sitool train`` — a thin shell over :func:`sitool.training.trainer.train`."""

from __future__ import annotations

import shlex
import sys

import click

from sitool.cli.options import no_progress_option


@click.command("train")
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False),
              help="Training config, e.g. conf/train_joint.yaml.")
@click.option("--out", default=None, type=click.Path(file_okay=False),
              help="Experiment dir, locked while training (a second train on it is refused). "
                   "[default: exp/<config file name>]")
@click.option("--overwrite", is_flag=True,
              help="Delete the experiment dir and train from scratch (default: resume from "
                   "checkpoints/last.pt, or do nothing when training finished).")
@no_progress_option
@click.option("--precision", type=click.Choice(["auto", "fp32", "bf16", "fp16"]), default=None,
              help="SSL compute precision (same as the override precision=...). "
                   "[default: the config's, auto: bf16 on GPUs that support it, else fp32]")
@click.argument("overrides", nargs=-1)
def train_command(config_path: str, out: str | None, overwrite: bool, no_progress: bool,
                  precision: str | None, overrides: tuple[str, ...]) -> None:
    """Train the model of CONFIG into exp/<tag>/; OVERRIDES are key=value (e.g. optim.epochs=3).

    \b
    Writes cmd, config.yaml, train.log, checkpoints/{last,best}.pt and curves.png.
    Rerunning the same command resumes from checkpoints/last.pt. Multi-process (DDP):
      torchrun --nproc_per_node N -m sitool train --config ...
    """
    from sitool.training.config import default_exp_dir, load_train_config
    from sitool.training.trainer import train

    if precision:
        overrides = overrides + (f"precision={precision}",)
    cfg = load_train_config(config_path, overrides)
    out_dir = out or default_exp_dir(config_path)
    command = " ".join(shlex.quote(a) for a in ["sitool"] + sys.argv[1:])
    train(cfg, out_dir, command=command, overwrite=overwrite, progress=not no_progress)
