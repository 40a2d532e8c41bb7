"""``sitool invert``: run a trained model on new recordings."""

from __future__ import annotations

import click


@click.command("invert")
@click.argument("audio", nargs=-1, required=True, type=click.Path())
@click.option("--model", required=True, type=click.Path(file_okay=False),
              help="Trained experiment dir (exp/TAG), a dir written by sitool export, or the "
                   "Hub id of one (ORG/NAME).")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Output dir.")
@click.option("--plot", is_flag=True, help="Also write <name>.png (spectrogram + tracks).")
@click.option("--format", "formats", multiple=True, metavar="npy|csv|mat",
              help="Target file format(s), repeat or comma-separate; default npy,csv. mat is "
                   "MATLAB (targets, time, names, units, frame_rate).")
@click.option("--align", type=click.Path(exists=True), default=None,
              help="Phone alignment: a Praat TextGrid, a CTM (utt = file name without "
                   "extension) or a dir of them; writes <name>_phones.tsv and shades phones "
                   "in --plot.")
@click.option("--animate", is_flag=True,
              help="Also write <name>.gif: a mid-sagittal schematic (lips, tongue, velum) "
                   "driven by the predicted TVs, over the spectrogram with a time cursor.")
@click.option("--checkpoint", default="best", show_default=True,
              help="best, last, or a checkpoint file.")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, cuda:1, ...")
@click.option("--overwrite", is_flag=True, help="Redo files whose outputs exist.")
@click.option("--chunk-seconds", default=20.0, show_default=True,
              help="Longer files run in overlapping chunks of this length (0: whole files).")
@click.option("--chunk-overlap", default=4.0, show_default=True,
              help="Seconds of audio shared by consecutive chunks (cross-faded in the middle "
                   "half).")
@click.option("--precision", type=click.Choice(["auto", "fp32", "bf16", "fp16"]), default=None,
              help="SSL compute precision [default: the model's config].")
@click.option("--speaker", default=None, metavar="ID",
              help="Models trained with data.normalise: speaker: de-normalise with this "
                   "training speaker's statistics (its sensor origin). Without it, values are "
                   "relative to the training speakers' mean origin (the sidecar says so).")
def invert(audio, model, out, plot, formats, align, animate, checkpoint, device, overwrite,
           chunk_seconds, chunk_overlap, precision, speaker) -> None:
    """Estimate tract variables of AUDIO files (any rate/channels soundfile reads).

    AUDIO may also name dirs (their audio files) and list files (.txt/.list/.lst: one path
    per line). Short files run in batches; long ones in chunks, with a progress bar.

    \b
    Writes per file to --out: <name>.npy [frames, targets] in units, <name>.csv
    (time [s] + 'NAME [unit]' columns), <name>.mat with --format mat, <name>.png with --plot,
    <name>_enhanced.wav (16 kHz, 32-bit float) when the model has an SE head, and
    <name>.json: model id and hash, targets' names/units/frame rate, the input's
    rate/channels and what was done to it, an SNR estimate, how the targets were
    de-normalised, and warnings about the input's level (beyond full scale, clipped,
    silent; also logged). Stereo is averaged to mono and other rates resampled to 16 kHz;
    input beyond full scale is scaled to peak 1.0 for the model.

    A file that cannot be read is named on one line and the others are still inverted; the
    command then exits with status 1 and the count.
    """
    from sitool.invert import InvertFailures, invert_files

    try:
        results = invert_files(audio, model, out, plot=plot, checkpoint=checkpoint,
                               device=device, overwrite=overwrite, formats=formats or None,
                               align=align, animate=animate, chunk_seconds=chunk_seconds,
                               overlap_seconds=chunk_overlap, precision=precision,
                               speaker=speaker)
    except InvertFailures as e:
        _echo(e.results)
        raise
    _echo(results)


def _echo(results) -> None:
    for outputs in results:
        for path in outputs.all():
            click.echo(str(path))
