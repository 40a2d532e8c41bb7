"""Stages 0-1 and inspection: data validation and utterance plots."""

from __future__ import annotations

import sys

import click

from sitool.plotting import plot_utterance
from sitool.validate import validate_data_dir


@click.command("validate-data")
@click.argument("data_dirs", nargs=-1, required=True, type=click.Path(file_okay=False))
@click.option("--no-audio", is_flag=True, help="Skip opening the audio files (faster).")
def validate_data(data_dirs: tuple[str, ...], no_audio: bool) -> None:
    """Check DATA_DIRS against the data-dir contract; one line per problem.

    Exit status 0 when every directory is valid, 1 otherwise.
    """
    failed = 0
    for data_dir in data_dirs:
        problems = validate_data_dir(data_dir, check_audio=not no_audio)
        for problem in problems:
            click.echo(problem)
        status = "OK" if not problems else f"{len(problems)} problem(s)"
        click.echo(f"validate-data: {data_dir}: {status}", err=True)
        failed += bool(problems)
    sys.exit(1 if failed else 0)


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


COMMANDS = [validate_data, plot_utt]
