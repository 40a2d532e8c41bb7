"""Inspection figures: ``sitool plot-utt`` (one utterance) and ``sitool plot-mix`` (its mixtures)."""

from __future__ import annotations

import click

from sitool.noise.figure import plot_mixtures
from sitool.plotting import plot_utterance


@click.command("plot-utt")
@click.argument("data_dir", type=click.Path(file_okay=False))
@click.argument("utt")
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="Output image (.png, .pdf, .svg), or .gif with --animate.")
@click.option("--animate", is_flag=True,
              help="Write an animated GIF instead: the reference TVs driving a mid-sagittal "
                   "schematic, with the spectrogram and a time cursor.")
def plot_utt(data_dir: str, utt: str, out: str, animate: bool) -> None:
    """Plot UTT of DATA_DIR: spectrogram, every target track, phone labels when known."""
    if animate:
        from sitool.animation import animate_utterance

        path = animate_utterance(data_dir, utt, out)
    else:
        path = plot_utterance(data_dir, utt, out)
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
