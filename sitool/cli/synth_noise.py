"""Stage 2 of the default recipe: ``sitool synth-noise`` (the embedded noise set)."""

from __future__ import annotations

import click

from sitool.cli.options import parse_ints, parse_split_numbers
from sitool.noise import procedural
from sitool.noise.synth import DEFAULT_BABBLE_COUNTS, DEFAULT_TTS_UTTS, synth_noise

_COUNTS = ",".join(str(n) for n in DEFAULT_BABBLE_COUNTS)


@click.command("synth-noise")
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="Directory for the noise files and manifest.tsv.")
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--babble-talkers", default="data/babble_talkers", show_default=True,
              type=click.Path(file_okay=False), help="Data dir of held-out babble talkers.")
@click.option("--no-babble", is_flag=True, help="Only the procedural (non-babble) types.")
@click.option("--types", default=",".join(procedural.DEFAULT_TYPES), show_default=True,
              help=f"Procedural noise types (any of {', '.join(procedural.GENERATORS)}).")
@click.option("--babble-counts", default=_COUNTS, show_default=True,
              help="Talkers per babble type (babble<N>).")
@click.option("--seconds", default=100.0, show_default=True, type=float,
              help="Length of each procedural noise (split 60/20/20 by prepare-noise).")
@click.option("--babble-seconds", default="60,20,20", show_default=True,
              help="Length of the babble of each split: train,dev,test.")
@click.option("--tts-talkers", default=0, show_default=True, type=click.IntRange(min=0),
              help="Add this many espeak-ng TTS voices to the babble talkers (optional; needs "
                   "espeak-ng installed).")
@click.option("--tts-utts", default=DEFAULT_TTS_UTTS, show_default=True,
              type=click.IntRange(min=1), help="Random sentences per TTS talker.")
@click.option("--overwrite", is_flag=True, help="Redo an existing output.")
def synth_noise_cmd(out, seed, babble_talkers, no_babble, types, babble_counts, seconds,
                    babble_seconds, tts_talkers, tts_utts, overwrite):
    """Make the embedded noise set: procedural types + babble of held-out talkers (16 kHz),
    optionally with espeak-ng TTS talkers among them."""
    path = synth_noise(out, seed, None if no_babble else babble_talkers,
                       types=[t for t in types.split(",") if t],
                       babble_counts=parse_ints(babble_counts, "--babble-counts"),
                       seconds=seconds,
                       babble_seconds=parse_split_numbers(babble_seconds, "--babble-seconds"),
                       tts_talkers=tts_talkers, tts_utts=tts_utts, overwrite=overwrite)
    click.echo(f"wrote {path}")
