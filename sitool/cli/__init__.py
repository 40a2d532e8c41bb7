"""The ``sitool`` command line: one subcommand per recipe stage.

The CLI is a thin shell: each subcommand parses options, sets up logging and calls one
library function. A ``SitoolError`` becomes one ``error:`` line and exit status 1.
"""

from __future__ import annotations

import importlib
import sys

import click

from sitool import __version__
from sitool.errors import SitoolError
from sitool.log import setup_logging

# The command registry: every subcommand, in recipe-stage order, and the function that defines
# it as "module:function" under sitool.cli (each module is named for the commands it holds). A
# module is imported only when its command runs (or `sitool --help` lists them all), so a
# command starts without loading the libraries of the other stages.
COMMANDS = {
    "synth-corpus": "synth_corpus:synth_corpus",
    "prepare": "prepare:prepare",
    "validate-data": "validate:validate_data",
    "combine-data": "data_tools:combine_data",
    "subset-data": "data_tools:subset_data",
    "fix-data": "data_tools:fix_data",
    "plot-utt": "plot:plot_utt",
    "synth-noise": "synth_noise:synth_noise_cmd",
    "prepare-noise": "prepare_noise:prepare_noise",
    "mix": "mix:mix",
    "plot-mix": "plot:plot_mix",
    "pretrain-ssl": "ssl:pretrain_ssl_command",
    "cache-ssl": "ssl:cache_ssl_command",
    "probe-ssl": "ssl:probe_ssl_command",
    "train": "train:train_command",
    "grad-shares": "grad_shares:grad_shares",
    "decode": "decode:decode_command",
    "score": "score:score",
    "invert": "invert:invert",
    "export": "export:export_command",
}


class SitoolGroup(click.Group):
    """The top-level group: lazily loaded subcommands (``COMMANDS``), and a ``SitoolError``
    reported as a single line instead of a traceback."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, function = COMMANDS[name].split(":")
        return getattr(importlib.import_module(f"sitool.cli.{module}"), function)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except SitoolError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(1)


@click.group(cls=SitoolGroup, context_settings={"help_option_names": ["-h", "--help"],
                                                "max_content_width": 100})
@click.version_option(__version__, prog_name="sitool")
@click.option("--log-file", type=click.Path(dir_okay=False), default=None,
              help="Also append log lines to this file.")
@click.option("-v", "--verbose", is_flag=True, help="Debug-level logging.")
def main(log_file: str | None, verbose: bool) -> None:
    """sitool: noise-robust speech inversion with a shared SSL encoder.

    \b
    Recipe stages (run.sh chains them; each reads and writes files on disk):
      0  synth-corpus                     make the embedded synthetic corpus
      1  prepare, validate-data           corpus -> data/<set>/ (Kaldi-style)
      2  synth-noise, prepare-noise, mix  noise sources and noisy sets
      3  pretrain-ssl, cache-ssl          SSL model and cached hidden states
      4  train                            SI / SE / joint / cascade models
      5  decode                           predicted tract variables (+ enhanced audio)
      6  score                            PPMC / RMSE tables, RESULTS.md, plots
    Data-dir tools (data and noise dirs): combine-data, subset-data, fix-data.
    Inspection: plot-utt. Inference on new recordings: invert. Sharing a model: export.
    A stage locks its output dir while it runs: a second run writing the same dir (or the same
    --nj/--job shard of it) is refused with one line naming the holder's pid.
    """
    setup_logging(log_file, verbose)
