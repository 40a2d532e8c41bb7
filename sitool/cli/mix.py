"""Stage 2: ``sitool mix``: a clean data dir + a noise data dir -> a noisy data dir."""

from __future__ import annotations

import click

from sitool.cli.options import no_progress_option, parse_numbers
from sitool.errors import SitoolError
from sitool.noise.noisy_sets import mix_data_dir


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
              help="Also write the mixtures (float32 WAV, each with a <utt>.wav.json record "
                   "of its row and samples digest) and a wav.scp pointing at them; existing "
                   "files are reused only when they hold their row's mixture.")
@click.option("--audio-dir", default=None, type=click.Path(file_okay=False),
              help="Where --write-audio writes [default: OUT_DATA_audio].")
@click.option("--overwrite", is_flag=True, help="Redo an existing output.")
@no_progress_option
def mix(src_data, noise_data, out_data, snrs, per_utt, snr_range, seed, types, num_utts,
        write_audio, audio_dir, overwrite, no_progress):
    """Mix SRC_DATA with NOISE_DATA at controlled SNRs into OUT_DATA (mix.tsv)."""
    snr_list = parse_numbers(snrs, "--snrs") if snrs is not None else None
    bounds = parse_numbers(snr_range, "--snr-range")
    if len(bounds) != 2:
        raise SitoolError(f"--snr-range: expected LOW,HIGH, got {snr_range!r}")
    path = mix_data_dir(src_data, noise_data, out_data, seed=seed, snrs=snr_list, per_utt=per_utt,
                        snr_range=(bounds[0], bounds[1]),
                        types=[t for t in types.split(",") if t] if types else None,
                        num_utts=num_utts, write_audio_files=write_audio, audio_dir=audio_dir,
                        overwrite=overwrite, progress=not no_progress)
    click.echo(f"wrote {path}")
