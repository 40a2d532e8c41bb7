"""Stage 1: ``sitool validate-data``: data dirs checked against the contract."""

from __future__ import annotations

import sys

import click

from sitool.datadir import DataDir
from sitool.validate import speaker_offset_warning, validate_data_dir


@click.command("validate-data")
@click.argument("data_dirs", nargs=-1, required=True, type=click.Path(file_okay=False))
@click.option("--no-audio", is_flag=True, help="Skip opening the audio files (faster).")
def validate_data(data_dirs: tuple[str, ...], no_audio: bool) -> None:
    """Check DATA_DIRS against the data-dir contract; one line per problem.

    A noisy set's mix.tsv rows are recomputed: each noise_offset_s must lie inside its
    noise (also with --no-audio) and, reading the audio, each gain must give its snr_db
    within 0.1 dB; a row that does not is named as mix.tsv:LINE: UTT.

    Also warns (a 'warning:' line, not a problem) when speaker means explain more than half
    of a target's variance, in one set and over all the sets given (one speaker per set is
    common with 3 speakers): speakers whose coordinates have different origins, to be trained
    with data.normalise: speaker.

    Exit status 0 when every directory is valid, 1 otherwise.
    """
    failed = 0
    moments: dict = {}                   # every set's speakers, for the warning over all sets
    names = set()
    for data_dir in data_dirs:
        warnings: list[str] = []
        problems = validate_data_dir(data_dir, check_audio=not no_audio, warnings=warnings,
                                     speaker_moments=moments)
        names.add(tuple(DataDir(data_dir).targets.names) if not problems and
                  DataDir(data_dir).has("targets") else None)
        for problem in problems:
            click.echo(problem)
        for warning in warnings:
            click.echo(f"warning: {warning}", err=True)
        status = "OK" if not problems else f"{len(problems)} problem(s)"
        if warnings:
            status += f", {len(warnings)} warning(s)"
        click.echo(f"validate-data: {data_dir}: {status}", err=True)
        failed += bool(problems)
    if len(data_dirs) > 1 and len(names) == 1 and None not in names:
        # speakers split between sets (one each in train, dev, test): no set alone shows it
        warning = speaker_offset_warning(", ".join(data_dirs), next(iter(names)), moments)
        if warning:
            click.echo(f"warning: {warning}", err=True)
    sys.exit(1 if failed else 0)
