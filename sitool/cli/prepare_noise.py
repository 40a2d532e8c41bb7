"""Stage 2: ``sitool prepare-noise <source>``: disjoint noise data dirs from a noise source."""

from __future__ import annotations

from pathlib import Path

import click

from sitool.cli.options import parse_ints, parse_split_numbers
from sitool.errors import SitoolError
from sitool.mixture import CATEGORIES
from sitool.noise.readers import (DEFAULT_SPEAKER_PATTERN, read_audio_dir, read_demand,
                                  read_musan, read_noisex, read_speech_babble, read_synth)
from sitool.noise.sources import DEFAULT_FRACTIONS, parse_fractions, prepare_noise_dirs
from sitool.noise.synth import DEFAULT_BABBLE_COUNTS, DEFAULT_BABBLE_SECONDS

_FRACTIONS = ",".join(f"{f:g}" for f in DEFAULT_FRACTIONS)
_COUNTS = ",".join(str(n) for n in DEFAULT_BABBLE_COUNTS)
_BABBLE_SECONDS = ",".join(f"{s:g}" for s in DEFAULT_BABBLE_SECONDS)


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
    """Noise data dirs <out>/<name>_{train,dev,test} (disjoint) from a noise source.

    \b
    Several sources: give each its own --name, then join the splits with
    sitool combine-data data/noise_train data/<name1>_train data/<name2>_train ...
    """


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


def _type_categories(values, babble_types) -> dict[str, str]:
    """``--category TYPE=CAT`` (repeated) and ``--babble-types A,B`` -> ``type -> category``."""
    out = {t.lower(): "babble" for t in babble_types.split(",") if t}
    for value in values:
        noise_type, sep, category = value.partition("=")
        if not sep or not noise_type or category not in CATEGORIES:
            raise SitoolError(f"--category {value}: expected TYPE=babble or TYPE=non-babble "
                              "(e.g. --category track01=babble)")
        out[noise_type.lower()] = category
    return out


@prepare_noise.command("noisex")
@click.argument("root", type=click.Path(file_okay=False))
@click.option("--category", "categories", multiple=True, metavar="TYPE=CATEGORY",
              help="Category (babble or non-babble) of a type (file name lower-case, or "
                   "ists/icra); repeatable; overrides the built-in labels.")
@click.option("--unknown-category", type=click.Choice(CATEGORIES), default=None,
              help="Label every file that is not NOISEX-92, ISTS or ICRA (default: such a "
                   "file is an error).")
@click.option("--babble-types", default="", help="Types that are babble (the same as "
              "--category TYPE=babble for each).")
@_common
def prepare_noisex(root, categories, unknown_category, babble_types, out, name, fractions, seed,
                   overwrite):
    """NOISEX-92 at ROOT (<type>.wav), with ISTS/ICRA files beside it.

    \b
    The 15 NOISEX-92 names are recognised in any common spelling (Babble.wav,
    f-16.wav, destroyer_engine.wav, babble_22k.wav, noisex_babble.wav): babble is
    category babble, the others non-babble. ISTS*.wav (type ists, speech) and
    ICRA*.wav (type icra, speech-shaped modulated noise) are babble. Any other file
    stops the command unless --unknown-category or --category labels it.
    """
    labels = _type_categories(categories, babble_types)
    _write(lambda: read_noisex(root, labels, unknown_category), out, name, fractions, seed,
           overwrite)


@prepare_noise.command("dir")
@click.argument("root", type=click.Path(file_okay=False))
@click.option("--type", "noise_type", required=True, help="Noise type of every file.")
@click.option("--category", required=True, type=click.Choice(["babble", "non-babble"]))
@_common
def prepare_dir(root, noise_type, category, out, name, fractions, seed, overwrite):
    """Any directory of audio at ROOT, all of one type."""
    _write(lambda: read_audio_dir(root, noise_type, category), out, name, fractions, seed,
           overwrite)


@prepare_noise.command("babble")
@click.argument("speech_dir", type=click.Path(file_okay=False))
@click.option("--babble-counts", default=_COUNTS, show_default=True,
              help="Talkers per babble type (babble<N>).")
@click.option("--babble-seconds", default=_BABBLE_SECONDS, show_default=True,
              help="Length of each babble of a split: train,dev,test.")
@click.option("--audio-dir", default=None, type=click.Path(file_okay=False),
              help="Where the babble audio is written [default: <out>/noise_audio/<name>].")
@click.option("--speaker-pattern", default=DEFAULT_SPEAKER_PATTERN, show_default=True,
              help="A folder of audio files: regex whose group 1 (or group 'spk') of a file "
              "name is its speaker.")
@_common
def prepare_babble(speech_dir, babble_counts, babble_seconds, audio_dir, speaker_pattern, out,
                   name, fractions, seed, overwrite):
    """Babble from clean speech SPEECH_DIR: a folder of audio files named
    <speaker>_<anything>.wav (any rate; see --speaker-pattern), or a data dir (wav.scp,
    utt2spk).

    \b
    Its speakers are divided between train/dev/test by --fractions (whole speakers,
    at least 2 per split: test babble has voices never heard in train babble); each
    split gets one babble<N> of N of its speakers per --babble-counts, pinned to that
    split, with noise2talkers naming them (sitool mix refuses babble whose talkers are
    target speakers).
    """
    counts = parse_ints(babble_counts, "--babble-counts")
    seconds = parse_split_numbers(babble_seconds, "--babble-seconds")
    audio_dir = audio_dir or str(Path(out) / "noise_audio" / name)
    _write(lambda: read_speech_babble(speech_dir, audio_dir, seed, counts, seconds,
                                      parse_fractions(fractions), speaker_pattern),
           out, name, fractions, seed, overwrite)
