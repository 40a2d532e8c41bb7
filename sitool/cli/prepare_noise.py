"""Stage 2: ``sitool prepare-noise <source>``: disjoint noise data dirs from a noise source."""

from __future__ import annotations

from pathlib import Path

import click

from sitool.cli.options import parse_ints
from sitool.noise.readers import (read_audio_dir, read_demand, read_musan, read_noisex,
                                  read_synth)
from sitool.noise.sources import DEFAULT_FRACTIONS, parse_fractions, prepare_noise_dirs
from sitool.noise.synth import DEFAULT_BABBLE_COUNTS

_FRACTIONS = ",".join(f"{f:g}" for f in DEFAULT_FRACTIONS)
_COUNTS = ",".join(str(n) for n in DEFAULT_BABBLE_COUNTS)


def _common(f):
    """Options every prepare-noise source takes."""
    f = click.option("--overwrite", is_flag=True, help="Redo existing noise dirs.")(f)
    f = click.option("--seed", default=1, show_default=True, type=int,
                     help="Seed of the file split and of babble mixing.")(f)
    f = click.option("--fractions", default=_FRACTIONS, show_default=True,
                     help="train,dev,test shares (of files, or of time within a file).")(f)
    f = click.option("--name", default="noise", show_default=True,
                     help="Writes <out>/<name>_{train,dev,test}.")(f)
    f = click.option("--out", default="data", show_default=True, type=click.Path(file_okay=False),
                     help="Parent directory of the noise data dirs.")(f)
    return f


def _write(read_files, out, name, fractions, seed, overwrite):
    paths = prepare_noise_dirs(read_files, out, name, parse_fractions(fractions), seed, overwrite)
    for path in paths.values():
        click.echo(f"wrote {path}")


@click.group("prepare-noise")
def prepare_noise() -> None:
    """Noise data dirs <out>/noise_{train,dev,test} (disjoint) from a noise source."""


@prepare_noise.command("synth")
@click.argument("noise_dir", type=click.Path(file_okay=False))
@_common
def prepare_synth(noise_dir, out, name, fractions, seed, overwrite):
    """NOISE_DIR written by sitool synth-noise."""
    _write(lambda: read_synth(noise_dir), out, name, fractions, seed, overwrite)


@prepare_noise.command("musan")
@click.argument("root", type=click.Path(file_okay=False))
@click.option("--music", is_flag=True, help="Also use music/ (non-babble).")
@click.option("--no-babble", is_flag=True, help="Do not build babble from speech/.")
@click.option("--babble-counts", default=_COUNTS, show_default=True,
              help="Talkers per babble type.")
@click.option("--audio-dir", default=None, type=click.Path(file_okay=False),
              help="Where babble audio is written [default: <out>/noise_audio/musan].")
@_common
def prepare_musan(root, music, no_babble, babble_counts, audio_dir, out, name, fractions, seed,
                  overwrite):
    """MUSAN at ROOT (noise/, speech/, music/)."""
    counts = [] if no_babble else parse_ints(babble_counts, "--babble-counts")
    audio_dir = audio_dir or str(Path(out) / "noise_audio" / "musan")
    _write(lambda: read_musan(root, audio_dir, seed, counts, music, parse_fractions(fractions)),
           out, name, fractions, seed, overwrite)


@prepare_noise.command("demand")
@click.argument("root", type=click.Path(file_okay=False))
@click.option("--channel", default=1, show_default=True, type=int, help="Microphone 1..16.")
@click.option("--babble-types", default="", help="Environments to label babble (e.g. pcafeter).")
@_common
def prepare_demand(root, channel, babble_types, out, name, fractions, seed, overwrite):
    """DEMAND at ROOT (<ENV>/ch01.wav ... ch16.wav)."""
    babble = [t.lower() for t in babble_types.split(",") if t]
    _write(lambda: read_demand(root, channel, babble), out, name, fractions, seed, overwrite)


@prepare_noise.command("noisex")
@click.argument("root", type=click.Path(file_okay=False))
@click.option("--babble-types", default="babble", show_default=True,
              help="File names (types) that are babble.")
@_common
def prepare_noisex(root, babble_types, out, name, fractions, seed, overwrite):
    """NOISEX-92 at ROOT (<type>.wav)."""
    babble = [t.lower() for t in babble_types.split(",") if t]
    _write(lambda: read_noisex(root, babble), out, name, fractions, seed, overwrite)


@prepare_noise.command("dir")
@click.argument("root", type=click.Path(file_okay=False))
@click.option("--type", "noise_type", required=True, help="Noise type of every file.")
@click.option("--category", required=True, type=click.Choice(["babble", "non-babble"]))
@_common
def prepare_dir(root, noise_type, category, out, name, fractions, seed, overwrite):
    """Any directory of audio at ROOT, all of one type."""
    _write(lambda: read_audio_dir(root, noise_type, category), out, name, fractions, seed,
           overwrite)
