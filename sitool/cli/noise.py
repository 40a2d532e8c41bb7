"""Stage 2: ``synth-noise``, ``prepare-noise <source>``, ``mix``, and ``plot-mix``."""

from __future__ import annotations

from pathlib import Path

import click

from sitool.errors import SitoolError
from sitool.noise import procedural
from sitool.noise.figure import plot_mixtures
from sitool.noise.noisy_sets import mix_data_dir, parse_numbers
from sitool.noise.readers import (read_audio_dir, read_demand, read_musan, read_noisex,
                                  read_synth)
from sitool.noise.sources import DEFAULT_FRACTIONS, parse_fractions, prepare_noise_dirs
from sitool.noise.synth import DEFAULT_BABBLE_COUNTS, DEFAULT_TTS_UTTS, synth_noise

_FRACTIONS = ",".join(f"{f:g}" for f in DEFAULT_FRACTIONS)
_COUNTS = ",".join(str(n) for n in DEFAULT_BABBLE_COUNTS)


def _ints(text: str, what: str) -> list[int]:
    values = parse_numbers(text, what)
    if any(not v.is_integer() for v in values):
        raise SitoolError(f"{what}: expected whole numbers, got {text!r}")
    return [int(v) for v in values]


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
                       babble_counts=_ints(babble_counts, "--babble-counts"), seconds=seconds,
                       babble_seconds=_three(babble_seconds, "--babble-seconds"),
                       tts_talkers=tts_talkers, tts_utts=tts_utts, overwrite=overwrite)
    click.echo(f"wrote {path}")


def _three(text: str, what: str) -> list[float]:
    values = parse_numbers(text, what)
    if len(values) != 3 or min(values) <= 0:
        raise SitoolError(f"{what}: expected three positive numbers train,dev,test, got {text!r}")
    return values


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
    counts = [] if no_babble else _ints(babble_counts, "--babble-counts")
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


@click.command("mix")
@click.argument("src_data", type=click.Path(file_okay=False))
@click.argument("noise_data", type=click.Path(file_okay=False))
@click.argument("out_data", type=click.Path(file_okay=False))
@click.option("--snrs", default=None, help="Test grid: every utt x noise type x these SNRs (dB).")
@click.option("--per-utt", default=None, type=int, help="Training: K random draws per utterance.")
@click.option("--snr-range", default="-5,20", show_default=True,
              help="SNR interval (dB) of the random draws.")
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--types", default=None, help="Only these noise types or categories (comma list).")
@click.option("--num-utts", default=None, type=int,
              help="Only this many utterances (round-robin over speakers).")
@click.option("--write-audio", is_flag=True,
              help="Also write the mixtures (float32 WAV) and a wav.scp pointing at them.")
@click.option("--audio-dir", default=None, type=click.Path(file_okay=False),
              help="Where --write-audio writes [default: OUT_DATA_audio].")
@click.option("--overwrite", is_flag=True, help="Redo an existing output.")
def mix(src_data, noise_data, out_data, snrs, per_utt, snr_range, seed, types, num_utts,
        write_audio, audio_dir, overwrite):
    """Mix SRC_DATA with NOISE_DATA at controlled SNRs into OUT_DATA (mix.tsv)."""
    snr_list = parse_numbers(snrs, "--snrs") if snrs is not None else None
    bounds = parse_numbers(snr_range, "--snr-range")
    if len(bounds) != 2:
        raise SitoolError(f"--snr-range: expected LOW,HIGH, got {snr_range!r}")
    path = mix_data_dir(src_data, noise_data, out_data, seed=seed, snrs=snr_list, per_utt=per_utt,
                        snr_range=(bounds[0], bounds[1]),
                        types=[t for t in types.split(",") if t] if types else None,
                        num_utts=num_utts, write_audio_files=write_audio, audio_dir=audio_dir,
                        overwrite=overwrite)
    click.echo(f"wrote {path}")


@click.command("plot-mix")
@click.argument("noisy_data", type=click.Path(file_okay=False))
@click.option("--clean-utt", default=None, help="Clean utterance [default: the first one].")
@click.option("--snr", default=-5.0, show_default=True, type=float)
@click.option("--types", default=None,
              help="Noise types to show [default: the first babble and first non-babble type].")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Image file.")
def plot_mix(noisy_data, clean_utt, snr, types, out):
    """Spectrograms of one utterance: clean on top, then its mixtures at --snr."""
    path = plot_mixtures(noisy_data, out, clean_utt=clean_utt, snr_db=snr,
                         types=[t for t in types.split(",") if t] if types else None)
    click.echo(f"wrote {path}")


COMMANDS = [synth_noise_cmd, prepare_noise, mix, plot_mix]
