"""Stage 1: ``sitool prepare <corpus>`` turns a raw corpus into data dirs (one subcommand per corpus)."""

from __future__ import annotations

import click


@click.group("prepare")
def prepare() -> None:
    """Write data/<set>/ dirs (Kaldi style) from a raw corpus; one subcommand per corpus."""


COMMANDS = [prepare]
