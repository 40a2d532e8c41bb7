"""``sitool invert``: run a trained model on new recordings."""

from __future__ import annotations

import click


@click.command("invert")
@click.argument("audio", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--model", required=True, type=click.Path(file_okay=False),
              help="Trained experiment dir (exp/TAG), a dir written by sitool export, or the "
                   "Hub id of one (ORG/NAME).")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Output dir.")
@click.option("--plot", is_flag=True, help="Also write <name>.png (spectrogram + tracks).")
@click.option("--checkpoint", default="best", show_default=True,
              help="best, last, or a checkpoint file.")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, cuda:1, ...")
@click.option("--overwrite", is_flag=True, help="Redo files whose outputs exist.")
def invert(audio, model, out, plot, checkpoint, device, overwrite) -> None:
    """Estimate tract variables of AUDIO files (any rate/channels soundfile reads).

    \b
    Writes per file to --out: <name>.npy [frames, targets] in units, <name>.csv
    (time [s] + 'NAME [unit]' columns), <name>.png with --plot, and <name>_enhanced.wav
    (16 kHz) when the model has an SE head. Stereo is averaged to mono and other rates
    resampled to 16 kHz (logged).
    """
    from sitool.invert import invert_files

    results = invert_files(audio, model, out, plot=plot, checkpoint=checkpoint, device=device,
                           overwrite=overwrite)
    for outputs in results:
        for path in outputs.all():
            click.echo(str(path))


COMMANDS = [invert]
