"""Stage 1: ``sitool prepare <corpus>`` turns a raw corpus into data dirs (one subcommand per corpus)."""

from __future__ import annotations

import click

from sitool.cli import prepare_real


@click.group("prepare")
def prepare() -> None:
    """Write data/<set>/ dirs (Kaldi style) from a raw corpus; one subcommand per corpus."""


# --- the embedded synthetic corpus (sitool.corpora.synth) -------------------------------------
@prepare.command("synth")
@click.option("--corpus", required=True, type=click.Path(file_okay=False),
              help="Synthetic corpus made by sitool synth-corpus (e.g. corpus/synth).")
@click.option("--out", default="data", show_default=True, type=click.Path(file_okay=False),
              help="Where data/{train,dev,test,babble_talkers} are written.")
@click.option("--overwrite", is_flag=True, help="Rewrite data dirs that exist.")
def prepare_synth(corpus: str, out: str, overwrite: bool) -> None:
    """Data dirs of the synthetic corpus: train, dev, test and babble_talkers."""
    from sitool.corpora.synth.prepare import prepare_synth as run

    for split, path in run(corpus, out, overwrite=overwrite).items():
        click.echo(f"{split}: {path}")


for _command in prepare_real.SUBCOMMANDS:
    prepare.add_command(_command)
