"""Stage 1: ``sitool validate-data``: data dirs checked against the contract."""

from __future__ import annotations

import sys

import click

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
