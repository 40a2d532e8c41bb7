"""Options several commands share, and parsing of the comma-separated values they take."""

from __future__ import annotations

import math

import click

from sitool.errors import SitoolError

num_threads_option = click.option(
    "--num-threads", default=0, show_default=True,
    help="CPU threads of this process, torch and numpy's BLAS (0: their defaults). Use 1 when "
         "running --nj local jobs on as many cores.")

no_progress_option = click.option("--no-progress", is_flag=True,
                                  help="No progress bars (e.g. when the output goes to a log).")


def parse_numbers(text: str, what: str) -> list[float]:
    """``"-5,0,5"`` -> [-5.0, 0.0, 5.0]; a clear error for anything else."""
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise SitoolError(f"{what}: expected comma-separated numbers, got {text!r}") from None
    if not values or not all(math.isfinite(v) for v in values):
        raise SitoolError(f"{what}: expected comma-separated finite numbers, got {text!r}")
    return values


def parse_ints(text: str, what: str) -> list[int]:
    """``"2,4"`` -> [2, 4]; a clear error for anything that is not whole numbers."""
    values = parse_numbers(text, what)
    if any(not v.is_integer() for v in values):
        raise SitoolError(f"{what}: expected whole numbers, got {text!r}")
    return [int(v) for v in values]


def parse_split_numbers(text: str, what: str) -> list[float]:
    """``"60,20,20"`` -> one positive number per split (train, dev, test)."""
    values = parse_numbers(text, what)
    if len(values) != 3 or min(values) <= 0:
        raise SitoolError(f"{what}: expected three positive numbers train,dev,test, got {text!r}")
    return values
